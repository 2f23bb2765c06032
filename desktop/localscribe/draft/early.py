"""Early drafts: most of the note written while the visit goes on (issue 14 item 1).

At Stop today the transcript is already in llama.cpp's KV cache, but every section of the note is
generated after Stop (~450 tokens, ~50 s on two cores), and decoding is memory-bandwidth bound. So
the gain comes from generating during the visit: whenever the drafter is idle (no new transcript
line waits) the sections the visit has outgrown are written from the transcript so far, and at
Stop only the sections the lines since then *touch* are written again; the others are reused.

The KV cache needs no save/restore: a section's turn is "transcript + request + answer", and the
engine keeps the longest common prefix of the next prompt (``engine.prefill``/``generate``), so
the next fed line cuts the cache back to the transcript's end and continues from there. An early
section that a new line interrupts (``cancel``) is not thrown away: its tokens so far are held and
the next round continues from them (re-reading them is a prefill, 10-20x cheaper than writing).

The "touched" rule (``touched``), chosen per section because visits move through the note's
sections roughly in order (history, examination, impression, plan) and end on the plan:
- a section whose cues (the template's words for it: "exam", "prescribe", ...) a new line says;
- the template's last section (the plan) once the new lines hold a few words: visits end there;
- a section without cues (the history) once the patient has said enough new words to carry a
  fact (``UNCUED_PATIENT_WORDS``; every speaker's words when speakers are unknown);
- a section whose sentence cap grew with the visit's length (``sections.fit_to_visit``) and
  that had used all of its old cap (one that stopped short of it had said what it had).
Everything reused is still only text: its statements get evidence linked by code against the
final transcript and the verifier checks the final note (``incremental.finish``), so nothing
provisional reaches the clinician unverified.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from localscribe.domain import Segment, Transcript
from localscribe.draft import sections as SX
from localscribe.draft.templates import SectionSpec

# A patient's sentence with one new fact in it ("It started three days ago after the flight.")
# runs 8-15 words; "Okay, thank you doctor." and "Yeah." do not touch the history.
UNCUED_PATIENT_WORDS = 25
# The closing pleasantries ("Thank you, bye.") are fewer words than a plan item.
LAST_SECTION_WORDS = 12
# Threads for early drafting: the other core stays with whisper.cpp, so transcription is never
# slowed by a draft nobody waits for (see README, live latency).
EARLY_THREADS = 1
# Whether the live worker drafts before Stop by default. Off: on these two cores the whole
# pipeline (bench_live.py, three visits, --early on then off, same session) drafted no sooner
# with it (median 47.5 s against 45.0 s after Stop) and transcription fell further behind
# (lag at Stop 5.2 s against 3.2 s): whisper.cpp and early drafting share the cores. With the
# language model alone (bench_latency.py) it wins 1.6x, so it stays, switched on per worker.
DEFAULT_ON = False
# How long a fed line may wait for the section being written early to end. Lines waiting are
# fed at the next section boundary anyway; past this the section is held and continued later
# (re-reading it is cheap, but not free: with a line every few seconds it would be all we did).
MAX_LINE_WAIT_S = 20.0


class EarlyCancelled(Exception):
    """A new transcript line (or Stop) came while a section was being written early."""


@dataclass(frozen=True)
class EarlySection:
    """One section written during the visit."""

    text: SX.SectionText
    spec: SectionSpec        # as fitted then: a changed cap or minimum means written again
    as_of: int               # lines of the chunk it was written from
    rejected: frozenset[str] = frozenset()   # sentences the recheck ruled out (normalized)


@dataclass(frozen=True)
class HeldSection:
    """A section interrupted by a new line: its tokens so far, continued by the next round."""

    key: str
    tokens: tuple[int, ...]
    spec: SectionSpec
    as_of: int               # lines of the chunk when its first token was written


def _fits(prev: EarlySection, spec: SectionSpec) -> bool:
    """The early text still answers ``spec``: the same but for a cap the text did not reach."""
    if prev.spec == spec:
        return True
    if dataclasses.replace(prev.spec, max_statements=spec.max_statements) != spec:
        return False
    said = 0 if prev.text.text.strip() == SX.NONE_WORD else len(SX.split_sentences(prev.text.text))
    return said < min(prev.spec.max_statements, spec.max_statements)


def _words(segments: Sequence[Segment]) -> int:
    return sum(len(s.text.split()) for s in segments)


def fresh(spec: SectionSpec, new: Sequence[Segment], *, last: bool) -> str | None:
    """Why the lines ``new`` make the section one to write afresh (its cue, or the visit's end
    for the last section: what it said may be superseded), or None."""
    if not new:
        return None
    cue = SX.discussed(spec, Transcript(segments=list(new)))
    if cue is not None:
        return f"a new line says “{cue}”"
    words = _words(new)
    if last and words >= LAST_SECTION_WORDS:
        return f"last section, {words} new words"
    return None


def touched(spec: SectionSpec, new: Sequence[Segment], *, last: bool) -> str | None:
    """Why the lines ``new`` (said since the section was written) make it stale, or None.
    Beyond ``fresh``: a section without cues (the history) the patient has said more to; that
    one is *continued* from its early text (the history is told in order, so what is new goes
    at its end, and the model continuing it sees the whole transcript)."""
    why = fresh(spec, new, last=last)
    if why is not None or not new:
        return why
    words = _words(new)
    if not spec.cues:
        speakers = {s.speaker for s in new}
        known = "patient" in speakers or "clinician" in speakers
        said = _words([s for s in new if s.speaker == "patient"]) if known else words
        if said >= UNCUED_PATIENT_WORDS:
            return f"{said} new words from the patient" if known else f"{said} new words"
    return None


@dataclass(frozen=True)
class Decision:
    """What ``finish`` (or the next early round) does with a section: ``reuse`` its early text,
    ``continue`` from ``prefix`` (held tokens, or the early text to extend), or ``write`` it."""

    action: str
    why: str = ""
    text: SX.SectionText | None = None
    tokens: tuple[int, ...] = ()        # held tokens to continue from
    prefix: str = ""                    # early text to continue from (tokenized by the drafter)


@dataclass
class EarlyState:
    """What the drafter has written of the current chunk's note before Stop."""

    done: dict[str, EarlySection] = field(default_factory=dict)
    held: HeldSection | None = None

    def clear(self) -> None:
        """A new chunk starts (long visit): nothing written so far belongs to it."""
        self.done.clear()
        self.held = None

    def decide(self, spec: SectionSpec, segments: Sequence[Segment], *, last: bool) -> Decision:
        held = self.held
        if held is not None and held.key == spec.key and held.as_of <= len(segments):
            why = fresh(spec, segments[held.as_of:], last=last)
            if why is None and held.spec == spec:
                return Decision("continue", "begun before Stop", tokens=held.tokens)
            if spec.key not in self.done:
                return Decision("write", why or "its sentence cap grew")
        prev = self.done.get(spec.key)
        if prev is None or prev.as_of > len(segments):
            return Decision("write", "not written before Stop")
        new = segments[prev.as_of:]
        why = fresh(spec, new, last=last)
        if why is not None:
            return Decision("write", why)
        why = touched(spec, new, last=last)
        if why is None and _fits(prev, spec):
            return Decision("reuse", text=prev.text)
        if prev.text.text.strip() == SX.NONE_WORD or not prev.text.finished:
            return Decision("write", why or "its sentence cap grew")
        return Decision("continue", why or "its sentence cap grew and it had used it all",
                        prefix=prev.text.text.rstrip("\n"))

    def stale(self, specs: Sequence[SectionSpec], segments: Sequence[Segment]) -> bool:
        """Whether an early round has anything to write (a section missing or touched). The
        specs are the template's, unfitted: a cap change alone never starts a round."""
        for i, spec in enumerate(specs):
            prev = self.done.get(spec.key)
            if prev is None:
                return True
            if touched(spec, segments[prev.as_of:], last=i == len(specs) - 1) is not None:
                return True
        return False


@dataclass(frozen=True)
class EarlyPolicy:
    """When the live drafter drafts early. ``threads``: llama.cpp threads while it does (None:
    the engine's own); ``min_lines``: lines fed before the first round (a greeting is no visit)."""

    enabled: bool = DEFAULT_ON
    threads: int | None = EARLY_THREADS
    min_lines: int = 6

    def due(self, state: EarlyState, specs: Sequence[SectionSpec], segments: Sequence[Segment]) -> bool:
        return self.enabled and len(segments) >= self.min_lines and state.stale(specs, segments)


class Yield:
    """When an early draft gives way, asked between tokens (``__call__``: stop now, holding the
    section) and between sections (``lines_waiting``: stop before starting the next one).

    - ``urgent`` (Stop, or the worker closing): stop at once;
    - ``busy`` (the transcriber has a window in work): pause, keeping the KV cache as it is,
      so transcription gets the cores and never falls behind for a draft nobody waits for;
    - ``waiting`` (a new line is there to be fed): stop once it has waited ``max_wait`` s."""

    def __init__(self, waiting: Callable[[], bool], urgent: Callable[[], bool],
                 busy: Callable[[], bool] | None = None, *, max_wait: float = MAX_LINE_WAIT_S,
                 clock: Callable[[], float] = time.monotonic, nap: float = 0.02) -> None:
        self.waiting, self.urgent, self.busy = waiting, urgent, busy
        self.max_wait, self.clock, self.nap = max_wait, clock, nap
        self._since: float | None = None
        self.paused_s = 0.0

    def lines_waiting(self) -> bool:
        return self.urgent() or self.waiting()

    def __call__(self) -> bool:
        if self.busy is not None and self.busy() and not self.urgent():
            t = self.clock()
            while self.busy() and not self.urgent():
                time.sleep(self.nap)
            self.paused_s += self.clock() - t
        if self.urgent():
            return True
        if not self.waiting():
            self._since = None
            return False
        now = self.clock()
        if self._since is None:
            self._since = now
        return now - self._since >= self.max_wait
