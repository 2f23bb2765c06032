"""A sentence the verifier would block is written again before anyone sees the note.

Why: every blocking flag is a check the clinician must make at signing, and most of them
are the model's own slips that a second try avoids (a blanket "denies any pain" in a visit
about pain, a drug nobody named). The verifier that flags the finished note is the judge
here too, so this adds no rule of its own: as a section is written, its first finished
sentence that the verifier blocks is taken back to the token where it began, and the model
writes that sentence again with the words the verifier blocked ruled out (a headache the
patient denied, a drug nobody named; never the words of a fact the note wrongly denies, which
belongs in the note), then on a second try with the opening it chose before ruled out too
(and the rejected sentence itself, word for word, ruled out by ``SentenceRules.seen``). After a bounded number
of tries the sentence stays, with its flag: a fact the model insists on is the clinician's
call, never silently dropped.

What it cannot do: catch an error the verifier misses. The blocking-flag figures of the
quality benchmark therefore count what the verifier still sees after this step; the
verifier's own recall (tests/bench/bench_verify.py) bounds what that figure is worth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeAlias

from localscribe.domain import Flag, Statement, Transcript
from localscribe.draft.sections import _SPLIT, NONE_WORD

# SentenceRules.gate's shape: (text so far, tokens generated) -> a piece test, or None.
Gate: TypeAlias = "Callable[[str, int], Callable[[bytes], bool] | None]"

MAX_TRIES_PER_SENTENCE = 2      # new openings tried for one sentence before it stays as is
MAX_TRIES_PER_SECTION = 3       # bounds the extra tokens a section can cost (~40 per try)


@dataclass(frozen=True)
class Blocked:
    index: int        # which finished sentence of the section text
    start: int        # its first character in the text
    sentence: str
    avoid: tuple[str, ...] = ()    # words the retry may not write (what the verifier blocked)


@dataclass(frozen=True)
class Verdict:
    """The verifier's word on one sentence: blocked or not, and the words that made it so
    when writing them again would repeat the error (an unsaid drug, a denied symptom)."""

    blocked: bool
    avoid: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.blocked


def _denies(flag: Flag) -> bool:
    """A negation flag on a note that *denies* something the visit reports ("denies chest
    pain" after "it hurts in my chest"): the fact belongs in the note, only its polarity is
    wrong, so its words must not be ruled out of the retry."""
    return flag.kind == "negation" and flag.reason.startswith(
        ("The note says no ", "The note says there is no ", "The note says the patient does not take "))


def retry_avoid(flags: Iterable[Flag]) -> tuple[str, ...]:
    """The blocked words a retry should not write again."""
    return tuple(dict.fromkeys(f.span.lower() for f in flags
                               if f.blocking and f.span.strip() and not _denies(f)))


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


def first_blocked(text: str, blocks: Callable[[str], object], *, after: int = -1) -> Blocked | None:
    """The first finished sentence after index ``after`` that ``blocks`` rejects (a bool, or
    a ``Verdict`` that also names the words to avoid)."""
    for i, (start, sentence) in enumerate(finished_sentences(text)):
        if i > after:
            verdict = blocks(sentence)
            if verdict:
                return Blocked(i, start, sentence, getattr(verdict, "avoid", ()))
    return None


def avoid_words(gate: Gate, start: int, words: tuple[str, ...]) -> Gate:
    """``gate`` (``SentenceRules.gate``) that also rules out any token that would write one of
    ``words`` (lower-cased) into the sentence beginning at character ``start``."""
    if not words:
        return gate

    def combined(text: str, generated: int) -> Callable[[bytes], bool]:
        base = gate(text, generated)
        tail = text[start:].lower()

        def test(piece: bytes) -> bool:
            if base is not None and base(piece):
                return True
            grown = tail + piece.decode("utf-8", "ignore").lower()
            return any(w in grown and w not in tail for w in words)
        return test
    return combined


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
                    align: Callable[[str, Transcript], list[str]]) -> Callable[[str], Verdict]:
    """The note verifier's verdict on one sentence, with its evidence aligned as the
    finished note's will be."""
    from localscribe.verify.grounding import Verifier

    verifier = Verifier(transcript)

    def blocks(sentence: str) -> Verdict:
        st = Statement(id="recheck", text=sentence, evidence=align(sentence, transcript))
        flags = verifier.check(st)
        return Verdict(any(f.blocking for f in flags), retry_avoid(flags))
    return blocks
