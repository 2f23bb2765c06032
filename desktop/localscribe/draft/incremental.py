"""Drafting while the visit goes on.

Segments are fed as the transcriber produces them; each feed evaluates only the new lines
into llama.cpp's KV cache, so at Stop the engine decodes the short tail of the prompt and
then generates the note.

Visits longer than the context window are drafted in chunks (map, then merge in code): when
the next line would not fit, the chunk so far gets its own note under the same template and
grammar (during the visit, so this costs nothing at Stop), and a new chunk starts. At Stop the
chunk notes are merged section by section, dropping repeated statements (``merge``). We chose
this over a rolling LLM summary because every statement keeps evidence ids that point at real
segments (a summary of a summary loses them), nothing said early is condensed away, and the
merge is deterministic code the verifier can trust. A sentence the verifier blocks is written
again as its section is written (``recheck``); what the run cost is in ``stats``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from enum import Enum

from localscribe.domain import Draft, Section, Segment, Transcript
from localscribe.draft import prompt as P
from localscribe.draft import recheck as RC
from localscribe.draft import sections as SX
from localscribe.draft.early import EarlyCancelled, EarlyPolicy, EarlySection, EarlyState, HeldSection
from localscribe.draft.decoding import DecodeControls
from localscribe.draft.engine import Generation, LlamaEngine
from localscribe.draft.merge import merge_sections
from localscribe.draft.schema import SectionBudget, build_grammar, parse_note
from localscribe.draft.stats import DraftStats
from localscribe.draft.templates import SectionSpec, Template
from localscribe.style import apply as STYLE
from localscribe.style.profile import StyleProfile
from localscribe.verify.align import align as align_evidence


class DraftMode(str, Enum):
    """How the model writes the note (compared in tests/bench/bench_quality.py)."""

    LINES = "lines"          # "- statement [S1,S2]" lines with ids, all sections in one turn
    PROSE = "prose"          # prose under the headings, all sections in one turn
    SECTIONS = "sections"    # prose, one turn per section, each from the transcript alone
    CHAINED = "chained"      # prose, one turn per section, one conversation


DEFAULT_MODE = DraftMode.SECTIONS
TextSink = Callable[[str], None]


@dataclass
class _Chunk:
    first_index: int
    segments: list[Segment] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)    # head + lines


class IncrementalDrafter:
    """Feed segments as they arrive; ``finish()`` at Stop returns the Draft."""

    def __init__(self, engine: LlamaEngine, template: Template, *,
                 max_tokens: int | None = None, prefill: bool = True,
                 mode: DraftMode | str = DEFAULT_MODE, controls: DecodeControls | None = None,
                 align: Callable[[str, Transcript], list[str]] | None = None,
                 prefix_cache: bool = True, recheck: bool = True, fit: bool = True,
                 blocker: Callable[[Transcript, Callable[[str, Transcript], list[str]]],
                                   Callable[[str], object]] = RC.verifier_blocks,
                 style: StyleProfile | None = None, early: EarlyPolicy | None = None):
        """``recheck``: in the per-section modes, write again a sentence that ``blocker``
        (by default the note verifier) blocks (``draft.recheck``). ``max_tokens``: generated
        tokens per note (default: the template's ``note_tokens``), shared among its sections by
        their statement caps. ``style``: the clinician's learned style (``localscribe.style``),
        applied in the per-section modes. ``early``: draft while the visit goes on
        (``draft_early``; "sections" mode only, see ``draft.early``)."""
        self.engine = engine
        self.style = style if style is not None and not style.empty else None
        self.template = template
        self.mode = DraftMode(mode)
        self.controls = controls if controls is not None else (
            DecodeControls() if self.mode is DraftMode.LINES else SX.DEFAULT_CONTROLS)
        self.align = align or align_evidence
        self.recheck = recheck and self.mode in (DraftMode.SECTIONS, DraftMode.CHAINED)
        self.blocker = blocker
        self.fit = fit            # sentence caps fitted to the visit's length (sections.fit_to_visit)
        max_tokens = max_tokens or template.note_tokens
        self.max_tokens = max_tokens
        # Room for the hard cap over the budget: the gate is checked per line, so the last line
        # of a section may run a little past its share.
        self._section_budget = SectionBudget.for_template(template, max_tokens)
        self._hard_cap = max_tokens + 2 * self._section_budget.statement_tokens
        self.prefill_during_visit = prefill
        self.stats = DraftStats()
        self.early_policy = early if early is not None and self.mode is DraftMode.SECTIONS else None
        self.early = EarlyState()
        self._cancel: Callable[[], bool] | None = None   # set while an early round runs
        self._waiting: Callable[[], bool] | None = None
        if self.mode is DraftMode.LINES:
            self._head = engine.tokenize(P.head_text(template), first=True)
            self._tail = engine.tokenize(P.tail_text(template))
        else:
            self._head = engine.tokenize(SX.head_text(template), first=True)
            self._tail = engine.tokenize(self._prose_request() if self.mode is DraftMode.PROSE
                                         else SX.request_text(template.sections[0], first=True))
        # Chained turns keep every earlier section in the context as well.
        turns = (sum(len(engine.tokenize(SX.request_text(s, first=False))) for s in template.sections)
                 if self.mode is DraftMode.CHAINED else len(self._tail))
        self._budget = engine.n_ctx - self._hard_cap - turns - 8
        if self._budget < len(self._head) + 64:
            raise ValueError(f"a {engine.n_ctx}-token context is too small for this template "
                             f"with {max_tokens} tokens of note")
        self._chunk = _Chunk(first_index=0, tokens=list(self._head))
        self._done: list[list[Section]] = []
        self._count = 0
        if prefix_cache and self.mode is not DraftMode.LINES:
            # The instructions (and example note) are the same for every visit: their KV state
            # comes from disk, so a visit pays only for its own transcript.
            self.stats.prefix = engine.warm_prefix(self._head, engine.model_path.parent / "kv-cache")

    def _line(self, seg: Segment) -> str:
        if self.mode is DraftMode.LINES:
            return P.segment_line(P.label_for(self._count), seg)
        return SX.segment_line(seg)

    def feed(self, segments: list[Segment]) -> None:
        """Add newly transcribed segments (in order, each once)."""
        for seg in segments:
            if not seg.text.strip():
                continue
            toks = self.engine.tokenize(self._line(seg))
            if len(toks) > self._budget - len(self._head):
                # One enormous segment: keep its words, cut where it fits.
                toks = toks[: self._budget - len(self._head)]
            if len(self._chunk.tokens) + len(toks) > self._budget and self._chunk.segments:
                self._close_chunk()
            self._chunk.segments.append(seg)
            self._chunk.tokens.extend(toks)
            self._count += 1
            self.stats.fed_segments += 1
        if self.prefill_during_visit and self._chunk.segments:
            t = time.perf_counter()
            self.stats.prefill_tokens += self.engine.prefill(self._chunk.tokens)
            self.stats.prefill_s += time.perf_counter() - t

    # -- one chunk's note -------------------------------------------------------------------
    def _record(self, gen: Generation, *, whole: bool = True) -> Generation:
        """``whole``: a section's own turn (a one-sentence retry stops early by design and
        says nothing about whether the section fitted its budget)."""
        if self._cancel is not None:      # an early draft: counted apart from the note's own
            self.stats.early_generated += gen.generated
            self.stats.early_gen_s += gen.prompt_s + gen.gen_s
            return gen
        self.stats.generations.append(gen)
        if whole:
            self.stats.finished = self.stats.finished and gen.finished
        return gen

    def _generate(self, chunk: _Chunk, on_text: Callable[[str], None] | None) -> list[Section]:
        self.stats.chunks += 1
        if self.mode is DraftMode.LINES:
            return self._generate_lines(chunk, on_text)
        transcript = Transcript(segments=list(chunk.segments))
        if self.mode is DraftMode.PROSE:
            written = self._generate_prose(chunk, on_text)
        else:
            written = self._generate_sections(chunk, on_text)
        if self.style is not None:
            # The clinician's phrase swaps, by code, before evidence is linked and before the
            # verifier runs: what is verified is what the clinician will read.
            swapped = [STYLE.rewrite(self.style, w.text) for w in written]
            self.stats.style_swaps += sum(n for _, n in swapped)
            written = [SX.SectionText(w.key, t, w.finished) for w, (t, _) in zip(written, swapped)]
        sections = SX.to_sections(self.template, written, transcript, self.align)
        for sec in sections:
            if sec.key in self.stats.style_skipped:
                sec.notice = ""       # not drafted by the clinician's choice: nothing to confirm
        return sections

    def _generate_lines(self, chunk: _Chunk, on_text: TextSink | None) -> list[Section]:
        labels = P.labels_for(chunk.segments, chunk.first_index)
        grammar = build_grammar(self.template, list(labels))
        gen = self._record(self.engine.generate(
            chunk.tokens + self._tail, grammar, max_tokens=self._hard_cap, on_text=on_text,
            line_gate=self._section_budget.allows_statement, controls=self.controls))
        return parse_note(gen.text, self.template, labels).sections

    def _shares(self) -> list[int]:
        limits = self._section_budget.limits
        return [b - a for a, b in zip((0,) + limits[:-1], limits)]

    def _generate_sections(self, chunk: _Chunk, on_text: TextSink | None) -> list[SX.SectionText]:
        written: list[SX.SectionText] = []
        base = self._section_context(chunk)
        context = list(base)
        transcript = Transcript(segments=list(chunk.segments))
        rules = SX.SentenceRules(budget=0, seen=set(), numbers=SX.spoken_numbers(transcript))
        blocks = self.blocker(transcript, self.align) if self.recheck else None
        words = SX.visit_words(transcript)
        last = len(self.template.sections) - 1
        for i, (spec, share) in enumerate(zip(self.template.sections, self._shares())):
            if self.fit and not self._done:       # a chunk of a long visit is not a short visit
                spec = SX.fit_to_visit(spec, words)
            if self.style is not None:
                styled = self._style_spec(i, spec, words)
                if styled is None:
                    if spec.key not in self.stats.style_skipped:
                        self.stats.style_skipped.append(spec.key)
                    written.append(SX.SectionText(spec.key, SX.NONE_WORD, True))
                    if self._cancel is not None:     # nothing to write early either
                        self.early.done[spec.key] = EarlySection(written[-1], spec, len(chunk.segments))
                    continue
                spec = styled
            if not spec.min_statements and SX.discussed(spec, transcript):
                # The visit spoke to this section (its cues): "None." is not an answer here.
                spec = dataclasses.replace(spec, min_statements=1)
            chained = self.mode is DraftMode.CHAINED and i > 0
            if on_text:
                on_text(f"{spec.title}\n")
            rules.budget = share
            rules.must_write = bool(spec.min_statements)
            rules.new_section()
            base_seen = set(rules.seen)
            plan = self.early.decide(spec, chunk.segments, last=i == last) if self.early_policy else None
            if plan is not None and plan.text is not None:
                # Written before Stop and untouched since: the later sections' repeat rules see
                # its sentences as if it had just been written (sections mode: no KV needed).
                kept, done = plan.text, self.early.done[spec.key]
                rules.restart(base_seen, [s for _, s in RC.finished_sentences(kept.text)], set(done.rejected))
                if self._cancel is None:
                    self.stats.reused.append(spec.key)
                if on_text:
                    on_text(kept.text + "\n")
                written.append(kept)
                continue
            prefix: Sequence[int] = ()
            if plan is not None and plan.action == "continue":
                prefix = plan.tokens or self.engine.tokenize(plan.prefix)
            if self._cancel is None and plan is not None:
                if prefix:
                    self.stats.resumed.append(spec.key)
                    if on_text:        # the stream shows the section whole, its early part too
                        on_text(b"".join(map(self.engine.piece, prefix)).decode("utf-8", "replace"))
                self.stats.written_after_stop[spec.key] = plan.why
            if self._waiting is not None and self._waiting():
                raise EarlyCancelled(spec.key)       # lines to feed first; nothing is lost
            as_of = len(chunk.segments)
            request = self.engine.tokenize(self._section_request(spec, first=not chained))
            tokens = (context if chained else base) + request

            def write(prefix: Sequence[int] = (), avoid: Collection[int] = (), spec: SectionSpec = spec,
                      tokens: list[int] = tokens, share: int = share, on_text: TextSink | None = on_text,
                      should_stop: Callable[[], bool] | None = None, words: tuple[str, ...] = (),
                      start: int = 0) -> Generation:
                return self._record(self.engine.generate(
                    tokens, SX.build_grammar(spec), max_tokens=share + SX.SENTENCE_TOKENS + 10,
                    on_text=on_text, gate=RC.avoid_words(rules.gate, start, words), controls=self.controls,
                    answer_prefix=prefix, first_avoid=avoid, should_stop=should_stop),
                    whole=should_stop is None)
            gen = write(prefix=prefix, should_stop=self._cancel)
            if self._cancel is not None and not gen.finished and self._cancel():
                # A new line came: keep what was written so far, to continue from next round.
                self.early.held = HeldSection(spec.key, gen.tokens, spec, as_of) if gen.tokens else None
                raise EarlyCancelled(spec.key)
            if blocks is not None:
                gen, rejected = RC.rewrite_blocked(self.engine, self.stats, gen, write, blocks, rules,
                                                   base_seen)
            else:
                rejected = set()
            # Every sentence the section kept counts as written for the sections after it,
            # the last one too (a final "... of 1." is not seen as ended while it is written:
            # it could still become "1.5").
            rules.restart(base_seen, [s for _, s in RC.finished_sentences(gen.text)], rejected)
            if on_text:
                on_text("\n")
            written.append(SX.SectionText(spec.key, gen.text, gen.finished))
            context = tokens + list(gen.tokens)
            if self._cancel is not None:
                self.early.held = None
                self.early.done[spec.key] = EarlySection(written[-1], spec, as_of, frozenset(rejected))
        return written

    def _style_spec(self, i: int, spec: SectionSpec, words: int) -> SectionSpec | None:
        """The section under the clinician's style (None: not drafted). Its length replaces
        the generic fit, except in the chunks of a long visit, which keep their caps."""
        assert self.style is not None     # only called with a style
        styled = STYLE.section_spec(self.style, self.template.sections[i], words)
        if styled is None or not self._done:
            return styled
        return dataclasses.replace(spec, min_statements=max(spec.min_statements, styled.min_statements))

    def _section_context(self, chunk: _Chunk) -> list[int]:
        """What each section's turn follows: the prompt head and the transcript (a subclass
        may add to it, e.g. the signed note for the patient's summary)."""
        return list(chunk.tokens)

    def _section_request(self, spec: SectionSpec, *, first: bool) -> str:
        """The turn that asks for one section (``sections.request_text``; a subclass may ask
        in its own words)."""
        text = SX.request_text(spec, first=first)
        note = STYLE.request_note(self.style, spec) if self.style is not None else ""
        if note:
            head, end, tail = text.rpartition("<|im_end|>")
            text = head + note + end + tail
        return text

    def _prose_request(self) -> str:
        headings = "\n".join(f"{s.title}: {s.guidance} At most {s.max_statements} sentences."
                             for s in self.template.sections)
        return (f"\nWrite the note under exactly these headings, in this order:\n{headings}\n"
                "<|im_end|>\n<|im_start|>assistant\n")

    def _generate_prose(self, chunk: _Chunk, on_text: TextSink | None) -> list[SX.SectionText]:
        specs = self.template.sections
        grammar = SX.build_note_grammar(self.template)
        limits = self._section_budget.limits
        rules = SX.SentenceRules(budget=limits[0], seen=set(),
                                 numbers=SX.spoken_numbers(Transcript(segments=list(chunk.segments))))
        section = [0]

        def gate(text: str, generated: int) -> Callable[[bytes], bool] | None:
            k = max(0, min(len(specs) - 1, sum(1 for ln in text.split("\n") if ln.strip() in
                                               {s.title for s in specs}) - 1))
            if k != section[0]:
                section[0] = k
                rules.new_section()
            rules.budget = limits[k]
            return rules.gate(text, generated)

        gen = self._record(self.engine.generate(
            chunk.tokens + self._tail, grammar, max_tokens=self._hard_cap, on_text=on_text,
            gate=gate, controls=self.controls))
        written: list[SX.SectionText] = []
        current: str | None = None
        lines: list[str] = []
        titles = {s.title: s.key for s in specs}
        for line in gen.text.split("\n"):
            if line.strip() in titles:
                if current:
                    written.append(SX.SectionText(current, " ".join(lines), True))
                current, lines = titles[line.strip()], []
            elif current:
                lines.append(line)
        if current:
            written.append(SX.SectionText(current, " ".join(lines), gen.finished))
        return written

    def _close_chunk(self) -> None:
        self._done.append(self._generate(self._chunk, None))
        self._chunk = _Chunk(first_index=self._count, tokens=list(self._head))
        self.early.clear()

    def early_due(self) -> bool:
        """Whether an early round has something to write now (``early.EarlyPolicy.due``)."""
        return self.early_policy is not None and self.early_policy.due(
            self.early, self.template.sections, self._chunk.segments)

    def draft_early(self, cancel: Callable[[], bool], waiting: Callable[[], bool] | None = None) -> bool:
        """Write, from the transcript so far, the sections the visit has outgrown (during the
        visit, between fed lines). ``cancel`` is asked between tokens: True ends the round at
        once, holding the section in progress (``early``); ``waiting`` before each section: True
        ends the round there (``early.Yield`` gives both). Nothing here reaches the draft except
        through ``finish``, which re-checks every section. Returns True when the round reached
        the note's end."""
        if self.early_policy is None or not self._chunk.segments:
            return False
        self.stats.early_rounds += 1
        counts = (self.stats.rewritten, self.stats.rewrite_tokens, self.stats.rewrites_empty)
        self._cancel, self._waiting = cancel, waiting
        threads = self.early_policy.threads
        if threads:
            self.engine.set_threads(threads)
        try:
            self._generate_sections(self._chunk, None)
            return True
        except EarlyCancelled:
            self.stats.early_cancelled += 1
            return False
        finally:
            self._cancel = self._waiting = None
            if threads:
                self.engine.set_threads(None)
            # The recheck's counts are the final note's (``finish`` counts its own).
            self.stats.rewritten, self.stats.rewrite_tokens, self.stats.rewrites_empty = counts

    def finish(self, on_text: Callable[[str], None] | None = None) -> Draft:
        """Stop: evaluate what is left of the prompt, generate, merge chunks, return the Draft."""
        if not self._chunk.segments and not self._done:
            raise ValueError("the transcript is empty: there is nothing to draft a note from")
        parts = list(self._done)
        if self._chunk.segments:
            n_before = len(self.stats.generations)
            parts.append(self._generate(self._chunk, on_text))
            for gen in self.stats.generations[n_before:]:
                self.stats.stop_prompt_tokens += gen.prompt_evaluated
                self.stats.stop_generated += gen.generated
                self.stats.stop_decoded += gen.decoded
                self.stats.stop_prompt_s += gen.prompt_s
                self.stats.stop_gen_s += gen.gen_s
        sections, removed = merge_sections(self.template, parts)
        self.stats.repeats_removed = removed
        prompt_hash = (P.prompt_sha256(self.template) if self.mode is DraftMode.LINES
                       else SX.prompt_sha256(self.template, self.mode.value))
        if self.style is not None:
            # A styled draft names its style too (a fingerprint, never the rules' words).
            prompt_hash = hashlib.sha256(f"{prompt_hash}\x00style:{self.style.fingerprint()}"
                                         .encode()).hexdigest()
        return Draft(template=self.template.key, sections=sections,
                     model_sha256=self.engine.model_sha256, prompt_sha256=prompt_hash)


def draft_transcript(engine: LlamaEngine, transcript: Transcript, template: Template, *,
                     max_tokens: int | None = None, mode: DraftMode | str = DEFAULT_MODE,
                     controls: DecodeControls | None = None,
                     align: Callable[[str, Transcript], list[str]] | None = None,
                     on_text: Callable[[str], None] | None = None,
                     recheck: bool = True, fit: bool = True,
                     style: StyleProfile | None = None) -> tuple[Draft, DraftStats]:
    """One-shot drafting of a finished transcript (the CLI and the naive baseline)."""
    drafter = IncrementalDrafter(engine, template, max_tokens=max_tokens, prefill=False, mode=mode,
                                 controls=controls, align=align, recheck=recheck, fit=fit,
                                 style=style)
    drafter.feed(transcript.segments)
    draft = drafter.finish(on_text=on_text)
    return draft, drafter.stats
