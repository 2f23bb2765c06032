"""Which summary languages LocalScribe offers, and what the clinician is told about each.

English is written from the visit and every sentence verified like the note's. Spanish is the
verified English summary translated sentence by sentence, each translation checked against its
English source (``translate``): the verifier reads English only, so a summary written in
Spanish straight from the visit could not be checked (measured against this design with
tests/bench/bench_instructions.py --langs en,es,es-direct; see README, "Patient instructions").
"""

from __future__ import annotations

from localscribe.instructions.prompts import Language

_CAVEATS: dict[Language, str] = {
    Language.ES: ("Translated from the verified English summary, one sentence at a time; the "
                  "translation check covers numbers, medicine names, left and right, and 'no' "
                  "only: have a Spanish reader look at the rest"),
}


def caveat(lang: Language | str) -> str:
    """What the clinician must know before signing a summary in ``lang`` ("" for English)."""
    return _CAVEATS.get(Language(lang), "")
