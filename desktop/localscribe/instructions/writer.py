"""Writing the patient's summary with the note's engine, grammar, sentence rules and recheck.

``SummaryDrafter`` is the note's ``IncrementalDrafter`` (chunking of long visits, per-section
token shares, the verifier-driven rewrite of blocked sentences, the merge) with its own
prompt: the fixed head and the per-part requests of ``prompts``, and the clinician's note,
when there is one, after the transcript (the ``_section_context`` and ``_section_request``
hooks); the writing loop itself is the note's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from localscribe.domain import Draft, Transcript
from localscribe.draft.engine import LlamaEngine
from localscribe.draft.templates import SectionSpec
from localscribe.draft.incremental import DraftMode, IncrementalDrafter, _Chunk
from localscribe.draft.stats import DraftStats
from localscribe.instructions import prompts as PR
from localscribe.instructions.prompts import Language
from localscribe.instructions.translate import translate_summary
from localscribe.verify import verify_draft


class SummaryDrafter(IncrementalDrafter):
    def __init__(self, engine: LlamaEngine, lang: Language = Language.EN, *, note_text: str = "",
                 max_tokens: int | None = None, prefix_cache: bool = True, recheck: bool = True):
        self.lang = Language(lang)
        self.note_text = note_text
        template = PR.summary_template(self.lang)
        super().__init__(engine, template, max_tokens=max_tokens, prefill=False,
                         mode=DraftMode.SECTIONS, prefix_cache=False, recheck=recheck)
        note = engine.tokenize(PR.note_block(self.lang, note_text)) if note_text.strip() else []
        self._note = note
        self._head = engine.tokenize(PR.head_text(self.lang, bool(note)), first=True)
        request = max(len(engine.tokenize(PR.request_text(s, self.lang))) for s in template.sections)
        # Same rule as the note's: room for the longest request, the note and the summary.
        self._budget = engine.n_ctx - self._hard_cap - request - len(note) - 8
        if self._budget < len(self._head) + 64:
            raise ValueError(f"a {engine.n_ctx}-token context is too small for the summary"
                             + (" with this note" if note else ""))
        self._chunk = _Chunk(first_index=0, tokens=list(self._head))
        if prefix_cache:
            self.stats.prefix = engine.warm_prefix(self._head, engine.model_path.parent / "kv-cache")

    def _section_context(self, chunk: _Chunk) -> list[int]:
        # The note sits after the transcript: every part's turn shares its KV state.
        return list(chunk.tokens) + self._note

    def _section_request(self, spec: SectionSpec, *, first: bool) -> str:
        return PR.request_text(spec, self.lang)


@dataclass(frozen=True)
class SummaryRun:
    draft: Draft                # the summary as statements, verified (flags set)
    stats: DraftStats           # the (English) summary's writing
    seconds: float
    translated_tokens: int = 0  # generated for the translation (translate.py), if any
    translation_flagged: int = 0


def draft_summary(engine: LlamaEngine, transcript: Transcript, lang: Language = Language.EN, *,
                  note_text: str = "", max_tokens: int | None = None, prefix_cache: bool = True,
                  on_text: Callable[[str], None] | None = None,
                  blocker: Callable[[Transcript, Callable[[str, Transcript], list[str]]],
                                    Callable[[str], bool]] | None = None,
                  direct: bool = False) -> SummaryRun:
    """The visit's summary for the patient, every sentence checked by the note's verifier
    (the flags are kept on the statements, exactly as on a note's). In another language than
    English, the verified English summary is translated sentence by sentence and each
    translation checked against its source (``translate``); ``direct=True`` writes it in that
    language from the visit instead, unverifiable, for the benchmark's comparison only."""
    t = time.perf_counter()
    lang = Language(lang)
    drafter = SummaryDrafter(engine, lang if direct else Language.EN, note_text=note_text,
                             max_tokens=max_tokens, prefix_cache=prefix_cache)
    if blocker is not None:
        drafter.blocker = blocker
    drafter.feed(transcript.segments)
    draft = drafter.finish(on_text=on_text)
    for n, st in enumerate(draft.statements, 1):
        st.id = f"{PR.ID_PREFIX}{n}"
    draft.prompt_sha256 = PR.prompt_sha256(drafter.template, drafter.lang, bool(note_text.strip()))
    verify_draft(draft, transcript)
    if lang is Language.EN or direct:
        return SummaryRun(draft, drafter.stats, time.perf_counter() - t)
    tr = translate_summary(engine, draft, lang)
    return SummaryRun(tr.draft, drafter.stats, time.perf_counter() - t, tr.generated, tr.flagged)
