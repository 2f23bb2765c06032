"""Which summary languages LocalScribe offers, and why one is refused.

Spanish is written by the standard model when asked (prompts.Language.ES), but is refused
for now: the summary's promise is that every sentence is checked by the note's verifier, and
that verifier reads English only. Its evidence alignment, negation and finding checks work on
English words, so a Spanish sentence about an English visit finds no support whatever it says
(the number, drug and dose checks still work). A summary the verifier cannot vouch for is not
one LocalScribe hands to a patient. Measured with tests/bench/bench_instructions.py
--langs en,es on ACI-Bench train (see README, "Patient instructions").
"""

from __future__ import annotations

from localscribe.instructions.prompts import Language

_REFUSED: dict[Language, str] = {
    Language.ES: ("Spanish patient instructions are not offered: the note's verifier reads English "
                  "only, so their sentences cannot be checked like the note's"),
}


def refusal(lang: Language | str) -> str | None:
    """The one-line reason a language is not offered, or None."""
    return _REFUSED.get(Language(lang))
