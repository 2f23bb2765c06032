"""The short cough visit that the drafting and patient-instruction tests write from, and the
tiny profile's llama.cpp model they write with (installed by `installer/install.sh --profile tiny`)."""

from __future__ import annotations

from localscribe.domain import Segment, Transcript

# One thread: the 135M model gains little from two, and test machines are shared.
THREADS = 1

# How every version of the visit begins (each test package adds the rest it needs).
OPENING = [
    ("clinician", "Hello, what brings you in today?"),
    ("patient", "I have had a cough for three days."),
    ("clinician", "Any chest pain?"),
    ("patient", "No chest pain."),
]


def make_transcript(turns: list[tuple[str, str]], prefix: str = "seg") -> Transcript:
    """One 3-second segment a turn, ids ``{prefix}1``, ``{prefix}2``, ..."""
    return Transcript([Segment(f"{prefix}{i + 1}", 3.0 * i, 3.0 * i + 3.0, text, spk)
                       for i, (spk, text) in enumerate(turns)])


def tiny_engine():
    """The real llama.cpp engine on the tiny model, with the tests' context and threads."""
    from localscribe.draft.engine import LlamaEngine
    from localscribe.models import resolve_model

    return LlamaEngine(resolve_model("llm", "tiny"), n_ctx=2048, n_threads=THREADS)
