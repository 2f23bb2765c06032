"""Which summary languages LocalScribe offers, and what the clinician is told about each.

English is written from the visit and every sentence verified like the note's. Spanish is
built as the verified English summary translated sentence by sentence, each translation
checked against its English source (``translate``), because the verifier reads English only.
It is **refused** for now, on measurement (tests/bench/bench_instructions.py --langs
en,es,es-direct on ACI-Bench train; README, "Patient instructions"): the standard model's
translations changed findings in 5 of 36 sentences ("kidney stones" became "kidney cancer",
"knee" became "leg"), which the check (numbers, medicines, sides, "no") cannot see, and the
clinician signing may read no Spanish. Writing Spanish straight from the visit was worse (the
requests echoed, English left in, nothing the verifier could check).
"""

from __future__ import annotations

from localscribe.instructions.prompts import Language

_REFUSED: dict[Language, str] = {
    Language.ES: ("Spanish patient instructions are not offered: measured on training visits, the "
                  "local model's translations changed findings (\"kidney stones\" became \"kidney "
                  "cancer\") in ways no automatic check catches"),
}
_CAVEATS: dict[Language, str] = {
    Language.ES: ("Translated from the verified English summary, one sentence at a time; the "
                  "translation check covers numbers, medicine names, left and right, and 'no' "
                  "only: have a Spanish reader look at the rest"),
}


def refusal(lang: Language | str) -> str | None:
    """The one-line reason a language is not offered, or None."""
    return _REFUSED.get(Language(lang))


def caveat(lang: Language | str) -> str:
    """What the clinician must know before signing a summary in ``lang`` ("" for English)."""
    return _CAVEATS.get(Language(lang), "")
