"""What one drafting run did, for the benchmarks, the audit trail and the status line:
tokens and seconds during the visit and after Stop, rewrites, early drafts, style."""

from __future__ import annotations

from dataclasses import dataclass, field

from localscribe.draft.engine import Generation


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
    finished: bool = True            # every section/chunk completed within its token budget
    repeats_removed: int = 0         # statements dropped by the merge as already said
    rewritten: int = 0               # sentences the verifier blocked, written again
    rewrite_tokens: int = 0          # tokens generated for those second tries
    rewrites_empty: int = 0          # retries that wrote no sentence (the blocked one stayed)
    prefix: str = ""                 # how the fixed prompt prefix reached the cache
    style_swaps: int = 0             # clinician's phrase swaps made (style.apply.rewrite)
    style_skipped: list[str] = field(default_factory=list)   # sections the style does not draft
    reused: list[str] = field(default_factory=list)      # sections written before Stop, kept as they were
    resumed: list[str] = field(default_factory=list)     # sections continued after Stop from early text
    written_after_stop: dict[str, str] = field(default_factory=dict)   # section -> why (early.decide)
    early_rounds: int = 0            # early drafts begun during the visit (early.py)
    early_cancelled: int = 0         # of them, interrupted by a new line
    early_generated: int = 0         # tokens generated during the visit for early drafts
    early_gen_s: float = 0.0
    generations: list[Generation] = field(default_factory=list)

    @property
    def time_to_draft_s(self) -> float:
        return self.stop_prompt_s + self.stop_gen_s
