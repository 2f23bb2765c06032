"""Real llama.cpp on the tiny profile's SmolLM2-135M (installed by `installer/install.sh --profile tiny`)."""

from __future__ import annotations

import pytest
from localscribe.domain import Transcript
from tests.support import visit as tiny_visit
from tests.support.visit import THREADS

VISIT = [
    *tiny_visit.OPENING,
    ("clinician", "Any fever?"),
    ("patient", "A little fever last night."),
    ("clinician", "Which medicines do you take?"),
    ("patient", "Lisinopril 20 milligrams once a day."),
    ("clinician", "Your lungs sound clear. It is probably a viral infection."),
    ("clinician", "Drink fluids, rest, and come back if it is not better in a week."),
]


def make_transcript(turns=VISIT, prefix="seg") -> Transcript:
    return tiny_visit.make_transcript(turns, prefix)


@pytest.fixture(scope="session")
def tiny_llm():
    from localscribe.models import resolve_model

    return resolve_model("llm", "tiny")


@pytest.fixture(scope="session")
def engine():
    return tiny_visit.tiny_engine()


@pytest.fixture(scope="session")
def transcript_of():
    return make_transcript


@pytest.fixture(scope="session")
def threads() -> int:
    return THREADS


@pytest.fixture()
def visit() -> Transcript:
    return make_transcript()
