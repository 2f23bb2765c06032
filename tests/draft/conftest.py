"""Real llama.cpp on the tiny profile's SmolLM2-135M (installed by `installer/install.sh --profile tiny`)."""

from __future__ import annotations

import pytest
from localscribe.domain import Segment, Transcript

# One thread: the 135M model gains little from two, and test machines are shared.
THREADS = 1

VISIT = [
    ("clinician", "Hello, what brings you in today?"),
    ("patient", "I have had a cough for three days."),
    ("clinician", "Any chest pain?"),
    ("patient", "No chest pain."),
    ("clinician", "Any fever?"),
    ("patient", "A little fever last night."),
    ("clinician", "Which medicines do you take?"),
    ("patient", "Lisinopril 20 milligrams once a day."),
    ("clinician", "Your lungs sound clear. It is probably a viral infection."),
    ("clinician", "Drink fluids, rest, and come back if it is not better in a week."),
]


def make_transcript(turns=VISIT, prefix="seg") -> Transcript:
    segs, t = [], 0.0
    for i, (spk, text) in enumerate(turns):
        segs.append(Segment(f"{prefix}{i + 1}", t, t + 3.0, text, spk))
        t += 3.0
    return Transcript(segs)


@pytest.fixture(scope="session")
def tiny_llm():
    from localscribe.models import resolve_model

    return resolve_model("llm", "tiny")


@pytest.fixture(scope="session")
def engine(tiny_llm):
    from localscribe.draft.engine import LlamaEngine

    return LlamaEngine(tiny_llm, n_ctx=2048, n_threads=THREADS)


@pytest.fixture(scope="session")
def transcript_of():
    return make_transcript


@pytest.fixture(scope="session")
def threads() -> int:
    return THREADS


@pytest.fixture()
def visit() -> Transcript:
    return make_transcript()
