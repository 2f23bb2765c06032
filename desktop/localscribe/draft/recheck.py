"""A sentence the verifier would block is written again before anyone sees the note.

Why: every blocking flag is a check the clinician must make at signing, and most of them
are the model's own slips that a second try avoids (a blanket "denies any pain" in a visit
about pain, a drug nobody named). The verifier that flags the finished note is the judge
here too, so this adds no rule of its own: as a section is written, its first finished
sentence that the verifier blocks is taken back to the token where it began, and the model
writes that sentence again with the opening it chose before ruled out (and the rejected
sentence itself, word for word, ruled out by ``SentenceRules.seen``). After a bounded number
of tries the sentence stays, with its flag: a fact the model insists on is the clinician's
call, never silently dropped.

What it cannot do: catch an error the verifier misses. The blocking-flag figures of the
quality benchmark therefore count what the verifier still sees after this step; the
verifier's own recall (tests/bench/bench_verify.py) bounds what that figure is worth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from localscribe.domain import Statement, Transcript
from localscribe.draft.sections import _SPLIT, NONE_WORD

MAX_TRIES_PER_SENTENCE = 2      # new openings tried for one sentence before it stays as is
MAX_TRIES_PER_SECTION = 3       # bounds the extra tokens a section can cost (~40 per try)


@dataclass(frozen=True)
class Blocked:
    index: int        # which finished sentence of the section text
    start: int        # its first character in the text
    sentence: str


def finished_sentences(text: str) -> list[tuple[int, str]]:
    """(start offset, sentence) of each sentence the grammar closed, in the raw section text
    (a torn last sentence of a section cut at its token cap is not one)."""
    body = text.rstrip("\n")
    if not body or body.strip() == NONE_WORD:
        return []
    starts = [0] + [m.end() for m in _SPLIT.finditer(body)]
    out = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(body)
        sentence = body[start:end].strip()
        if sentence.endswith(".") and sentence != NONE_WORD:
            out.append((start, sentence))
    return out


def first_blocked(text: str, blocks: Callable[[str], bool], *, after: int = -1) -> Blocked | None:
    for i, (start, sentence) in enumerate(finished_sentences(text)):
        if i > after and blocks(sentence):
            return Blocked(i, start, sentence)
    return None


def token_boundary(pieces: list[bytes], text: str, start: int) -> int:
    """How many of the generated tokens lie wholly before character ``start`` of ``text``
    (the sentence's opening token, usually " She", is the next one)."""
    limit = len(text[:start].rstrip(" ").encode("utf-8"))
    used = k = 0
    for piece in pieces:
        if used + len(piece) > limit:
            break
        used += len(piece)
        k += 1
    return k


def verifier_blocks(transcript: Transcript,
                    align: Callable[[str, Transcript], list[str]]) -> Callable[[str], bool]:
    """The note verifier's verdict on one sentence, with its evidence aligned as the
    finished note's will be."""
    from localscribe.verify.grounding import Verifier

    verifier = Verifier(transcript)

    def blocks(sentence: str) -> bool:
        st = Statement(id="recheck", text=sentence, evidence=align(sentence, transcript))
        return any(f.blocking for f in verifier.check(st))
    return blocks
