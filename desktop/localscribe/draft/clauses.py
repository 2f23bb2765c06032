"""One fact per statement: a sentence the model joined from two clauses, cut in two.

The model is asked for one fact per sentence, and about one sentence in nine still joins two
main clauses ("He has not had a fever or chills, and he has not experienced any shortness of
breath"). A flag or an evidence link on such a sentence points at two things, so the
clinician must work out which one is meant. Code cuts it where a clause with its own subject
and verb begins after ", and", ", but" or ";", and starts the second sentence with that
subject. Lists ("fever, chills, and cough"), a subordinate clause ("..., which ...") and
any cut that would leave a fragment stay as written: a cut never drops a word of a fact,
only the joining "and"/"but".

Only the model's prose is cut (``sections.to_sections(clauses=True)``): what a clinician
typed is kept as they wrote it.
"""

from __future__ import annotations

import re

# A main clause: a subject (a pronoun, "the patient", or a possessive/determiner and one or two
# words) and a finite verb right after it.
_SUBJECT = r"(?:he|she|they|it|there|this|the patient|(?:his|her|their|the) [a-z'-]+(?: [a-z'-]+)?)"
_VERB = (r"(?:is|was|are|were|has|had|have|does|did|will|would|can|could|should|may|might|"
         r"reports?|reported|denies|denied|states?|stated|notes?|noted|feels?|felt|describes?|"
         r"described|continues?|continued|takes?|took|underwent|shows?|showed|reveals?|revealed|"
         r"appears?|appeared|sounds?|sounded|remains?|remained|started|stopped|tried|uses?|used|"
         r"endorses?|endorsed|admits?|admitted|works?|worked|lives?|lived|wants?|wanted|needs?|"
         r"needed|plans?|planned|agrees?|agreed|hurts?|hurt|helps?|helped|improved|worsened)")
_CUT = re.compile(r"(?:,\s+(?:and|but)|;)\s+(?=" + _SUBJECT + r"\s+(?:not\s+|also\s+|still\s+|never\s+)?"
                  + _VERB + r"\b)", re.IGNORECASE)
MIN_WORDS = 3


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def one_fact_sentences(sentence: str) -> list[str]:
    """``sentence`` as the sentences of its main clauses (itself when it has one)."""
    parts: list[str] = []
    rest = sentence.strip()
    while True:
        cut = next((m for m in _CUT.finditer(rest)
                    if len(rest[:m.start()].split()) >= MIN_WORDS
                    and len(rest[m.end():].rstrip(".").split()) >= MIN_WORDS), None)
        if cut is None:
            break
        parts.append(rest[:cut.start()].rstrip(" ,;") + ".")
        rest = _capital(rest[cut.end():])
    parts.append(rest)
    return parts
