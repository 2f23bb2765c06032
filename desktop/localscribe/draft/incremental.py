"""Drafting while the visit goes on.

Segments are fed as the transcriber produces them; each feed evaluates only the new lines
into llama.cpp's KV cache, so at Stop the engine decodes the short tail of the prompt and
then generates the note.

Visits longer than the context window are drafted in chunks (map, then merge in code): when
the next line would not fit, the chunk so far gets its own note under the same template and
grammar (during the visit, so this costs nothing at Stop), and a new chunk starts. At Stop the
chunk notes are merged section by section, dropping repeated statements. We chose this over a
rolling LLM summary because every statement keeps evidence ids that point at real segments
(a summary of a summary loses them), nothing said early is condensed away, and the merge is
deterministic code the verifier can trust.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from localscribe.domain import Draft, Section, Segment, Transcript
from localscribe.draft import prompt as P
from localscribe.draft.engine import Generation, LlamaEngine
from localscribe.draft.schema import SectionBudget, build_grammar, parse_note
from localscribe.draft.templates import Template


@dataclass
class DraftStats:
    chunks: int = 0
    fed_segments: int = 0
    prefill_tokens: int = 0          # decoded during the visit by feed()
    prefill_s: float = 0.0
    stop_prompt_tokens: int = 0      # decoded after Stop before the first note token
    stop_generated: int = 0
    stop_decoded: int = 0            # everything decoded after Stop (prompt, note, drafts)
    stop_prompt_s: float = 0.0
    stop_gen_s: float = 0.0
    finished: bool = True            # every chunk's note completed within its token budget
    generations: list[Generation] = field(default_factory=list)

    @property
    def time_to_draft_s(self) -> float:
        return self.stop_prompt_s + self.stop_gen_s


@dataclass
class _Chunk:
    first_index: int
    segments: list[Segment] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)    # head + lines


class IncrementalDrafter:
    """Feed segments as they arrive; ``finish()`` at Stop returns the Draft."""

    def __init__(self, engine: LlamaEngine, template: Template, *,
                 max_tokens: int | None = None, prefill: bool = True):
        """``max_tokens``: generated tokens per note (default: the template's ``note_tokens``),
        shared among its sections by ``SectionBudget``."""
        self.engine = engine
        self.template = template
        max_tokens = max_tokens or template.note_tokens
        self.max_tokens = max_tokens
        # Room for the hard cap over the budget: the gate is checked per line, so the last line
        # of a section may run a little past its share.
        self._section_budget = SectionBudget.for_template(template, max_tokens)
        self._hard_cap = max_tokens + 2 * self._section_budget.statement_tokens
        self.prefill_during_visit = prefill
        self.stats = DraftStats()
        self._head = engine.tokenize(P.head_text(template), first=True)
        self._tail = engine.tokenize(P.tail_text(template))
        self._budget = engine.n_ctx - self._hard_cap - len(self._tail) - 8
        if self._budget < len(self._head) + 64:
            raise ValueError(f"a {engine.n_ctx}-token context is too small for this template "
                             f"with {max_tokens} tokens of note")
        self._chunk = _Chunk(first_index=0, tokens=list(self._head))
        self._done: list[list[Section]] = []
        self._count = 0

    def feed(self, segments: list[Segment]) -> None:
        """Add newly transcribed segments (in order, each once)."""
        for seg in segments:
            if not seg.text.strip():
                continue
            line = P.segment_line(P.label_for(self._count), seg)
            toks = self.engine.tokenize(line)
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

    def _generate(self, chunk: _Chunk, on_text: Callable[[str], None] | None) -> list[Section]:
        labels = P.labels_for(chunk.segments, chunk.first_index)
        grammar = build_grammar(self.template, list(labels))
        gen = self.engine.generate(chunk.tokens + self._tail, grammar, max_tokens=self._hard_cap,
                                   on_text=on_text, line_gate=self._section_budget.allows_statement)
        self.stats.generations.append(gen)
        self.stats.finished = self.stats.finished and gen.finished
        self.stats.chunks += 1
        return parse_note(gen.text, self.template, labels).sections

    def _close_chunk(self) -> None:
        self._done.append(self._generate(self._chunk, None))
        self._chunk = _Chunk(first_index=self._count, tokens=list(self._head))

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
        return Draft(template=self.template.key, sections=merge_sections(self.template, parts),
                     model_sha256=self.engine.model_sha256,
                     prompt_sha256=P.prompt_sha256(self.template))


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def merge_sections(template: Template, parts: list[list[Section]]) -> list[Section]:
    """Concatenate each section across chunks, dropping statements already said."""
    merged = [Section(key=s.key, title=s.title) for s in template.sections]
    index = {s.key: s for s in merged}
    seen: set[str] = set()
    n = 0
    for sections in parts:
        for sec in sections:
            for st in sec.statements:
                key = _norm(st.text)
                if not key or key in seen:
                    continue
                seen.add(key)
                n += 1
                st.id = f"st{n}"
                index[sec.key].statements.append(st)
    return merged


def draft_transcript(engine: LlamaEngine, transcript: Transcript, template: Template, *,
                     max_tokens: int | None = None,
                     on_text: Callable[[str], None] | None = None) -> tuple[Draft, DraftStats]:
    """One-shot drafting of a finished transcript (the CLI and the naive baseline)."""
    drafter = IncrementalDrafter(engine, template, max_tokens=max_tokens, prefill=False)
    drafter.feed(transcript.segments)
    draft = drafter.finish(on_text=on_text)
    return draft, drafter.stats
