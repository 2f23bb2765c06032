"""The prompt the model reads: instructions, then the transcript as numbered lines, then the turn.

The prompt is built from pieces whose tokens never change once written (instructions, one
line per segment), so a prompt that grows during the visit keeps the same token prefix and
llama.cpp can reuse its KV cache: at Stop only the new lines and the short tail are evaluated.
The models we ship (SmolLM2, Qwen2.5) use the ChatML turn format.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from localscribe.domain import Segment
from localscribe.draft.templates import Template

# Speaker words the model reads; "clinician" is written as the word clinicians and
# the training data of small models use.
_SPEAKER_WORDS = {"clinician": "doctor", "patient": "patient", "other": "other", "unknown": "speaker"}


def speaker_word(speaker: str) -> str:
    return _SPEAKER_WORDS.get(speaker, speaker or "speaker")


def label_for(index: int) -> str:
    """Prompt label of the index-th segment (0-based): S1, S2, ... Short labels cost few tokens."""
    return f"S{index + 1}"


def segment_line(label: str, seg: Segment) -> str:
    text = " ".join(seg.text.split())
    return f"{label} [{speaker_word(seg.speaker)}] {text}\n"


def instructions(template: Template) -> str:
    headings = "\n".join(
        f"## {s.title}\n(at most {s.max_statements} lines: {s.guidance})" for s in template.sections)
    return (
        "You are a careful medical scribe. Write the clinician's note for the visit transcript "
        "the user gives you. Each transcript line starts with its id (S1, S2, ...) and the speaker.\n"
        f"Write the note under exactly these headings, in this order:\n{headings}\n"
        "Under each heading write short factual statements in the third person, one per line: "
        "one sentence of at most 20 words each. Each line starts with '- ' and ends with the ids "
        "of the transcript lines that support it, in brackets, like this:\n"
        "- <one statement> [S4,S6]\n"
        "Rules: use only what was said in the transcript. Copy numbers, units, doses, drug names "
        "and left/right exactly as said. Keep negatives negative (write 'Denies chest pain.' when "
        "the patient said no chest pain). Do not repeat a statement. Leave a heading empty when "
        "nothing was said about it."
    )


@dataclass(frozen=True)
class PromptPieces:
    """The prompt as text pieces, in order: head, one line per segment, tail."""

    head: str
    lines: tuple[str, ...]
    tail: str

    @property
    def text(self) -> str:
        return self.head + "".join(self.lines) + self.tail


def head_text(template: Template) -> str:
    return (f"<|im_start|>system\n{instructions(template)}<|im_end|>\n"
            "<|im_start|>user\nTranscript:\n")


def tail_text(template: Template) -> str:
    return ("<|im_end|>\n<|im_start|>assistant\n")


def build_pieces(template: Template, segments: list[Segment], first_index: int = 0) -> PromptPieces:
    lines = tuple(segment_line(label_for(first_index + i), s) for i, s in enumerate(segments))
    return PromptPieces(head=head_text(template), lines=lines, tail=tail_text(template))


def labels_for(segments: list[Segment], first_index: int = 0) -> dict[str, str]:
    """Prompt label -> the segment's own id (labels stay short whatever the ids look like)."""
    return {label_for(first_index + i): s.id for i, s in enumerate(segments)}


def prompt_sha256(template: Template) -> str:
    """Hash of the prompt recipe (instructions and turn markers, no transcript), for the audit
    trail: it identifies which prompt produced a draft without recording any PHI."""
    h = hashlib.sha256()
    h.update(head_text(template).encode())
    h.update(b"\x00<transcript>\x00")
    h.update(tail_text(template).encode())
    return h.hexdigest()

