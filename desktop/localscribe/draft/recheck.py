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

import dataclasses
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias

from localscribe.domain import Flag, Statement, Transcript
from localscribe.draft.engine import Generation, LlamaEngine
from localscribe.draft.sections import _SPLIT, NONE_WORD, SentenceRules, norm_sentence
from localscribe.draft.stats import DraftStats

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


class Writer(Protocol):
    """One section's turn, written again from a token position (``rewrite_blocked``)."""

    def __call__(self, prefix: Sequence[int] = ..., avoid: Collection[int] = ..., *,
                 on_text: Callable[[str], None] | None = ..., should_stop: Callable[[], bool] | None = ...,
                 words: tuple[str, ...] = ..., start: int = ...) -> Generation: ...


def rewrite_blocked(engine: LlamaEngine, stats: DraftStats, gen: Generation, write: Writer,
                    blocks: Callable[[str], object], rules: SentenceRules,
                    base_seen: set[str]) -> tuple[Generation, set[str]]:
    """Write again each sentence of the section that the verifier blocks (this module's rule):
    the model restarts at the sentence's first token and writes one sentence; the
    section's later sentences are kept as they were. The first try rules out the words the
    verifier blocked (the denied symptom, the unsaid drug), so the sentence can keep what
    was right; a later try, or one with no such words, rules out the opening too. Returns
    the section and the rejected sentences (normalized)."""
    tries: dict[int, int] = {}             # token position -> tries made there
    openings: dict[int, set[int]] = {}     # token position -> openings ruled out there
    words: dict[int, set[str]] = {}        # token position -> words ruled out there
    rejected: set[str] = set()
    after, spent = -1, 0
    while spent < MAX_TRIES_PER_SECTION:
        bad = first_blocked(gen.text, blocks, after=after)
        if bad is None:
            break
        pieces = [engine.piece(t) for t in gen.tokens]
        k = token_boundary(pieces, gen.text, bad.start)
        if tries.get(k, 0) >= MAX_TRIES_PER_SENTENCE or k >= len(gen.tokens):
            after = bad.index             # it stays, flagged; look further on
            continue
        tries[k] = tries.get(k, 0) + 1
        banned = words.setdefault(k, set())
        ruled_out = openings.setdefault(k, set())
        if banned.issuperset(bad.avoid):
            ruled_out.add(gen.tokens[k])  # nothing new to rule out by word: a new opening
        banned.update(bad.avoid)
        rejected.add(norm_sentence(bad.sentence))
        kept = [s for _, s in finished_sentences(gen.text)[:bad.index]]
        rules.restart(base_seen, kept, rejected)
        new_text: list[str] = []

        def one_sentence(new_text: list[str] = new_text) -> bool:
            # A full stop followed by a space or the line's end closes the sentence.
            return re.search(r"\.\s|\n", "".join(new_text)) is not None
        head = len(b"".join(pieces[:k]).decode("utf-8", "replace"))
        retry = write(prefix=gen.tokens[:k], avoid=frozenset(ruled_out), on_text=new_text.append,
                      should_stop=one_sentence, words=tuple(sorted(banned)), start=head)
        spent += 1
        stats.rewritten += 1
        stats.rewrite_tokens += retry.generated
        gen = _splice(engine, stats, gen, retry, bad, k)
    return gen, rejected


def _splice(engine: LlamaEngine, stats: DraftStats, gen: Generation, retry: Generation, bad: Blocked,
            k: int) -> Generation:
    """The section with its blocked sentence replaced by the retry's first sentence, its
    later text unchanged. A retry that ends the section instead (or answers "None.") leaves
    the blocked sentence where it was: dropping it could empty a section the visit filled."""
    head = b"".join(map(engine.piece, gen.tokens[:k])).decode("utf-8", "replace")
    written = retry.text[len(head):] if retry.text.startswith(head) else ""
    m = re.search(r"\.(?=\s|$)", written)
    sentence = written[:m.end()] if m and written[:m.end()].strip() else ""
    if not sentence.strip() or sentence.strip() == NONE_WORD:
        stats.rewrites_empty += 1
        return gen
    tail = gen.text[bad.start + len(bad.sentence):]
    tokens = list(gen.tokens[:k]) + engine.tokenize(sentence) + engine.tokenize(tail)
    return dataclasses.replace(gen, text=head + sentence + tail, tokens=tuple(tokens))
