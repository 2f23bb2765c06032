"""Patient instructions: a real vault file (tests.support.cli_vault) and, for drafting, the
tiny profile's real llama.cpp model."""

from __future__ import annotations

import pytest

from localscribe.domain import Draft, Flag, Section, Segment, Statement, Transcript
from tests.support.cli_vault import PASS, VaultDir, make_vault, vdir  # noqa: F401 (fixture)

# Threads for the tiny model: the machine is shared.
THREADS = 1

VISIT = [
    ("clinician", "Hello, what brings you in today?"),
    ("patient", "I have had a cough for three days."),
    ("clinician", "Any chest pain?"),
    ("patient", "No chest pain."),
    ("clinician", "Which medicines do you take?"),
    ("patient", "Lisinopril 20 milligrams once a day."),
    ("clinician", "Your lungs sound clear. It is probably a viral infection."),
    ("clinician", "Drink fluids and rest. Keep taking the lisinopril 20 milligrams once a day."),
    ("clinician", "Come back if it is not better in a week."),
]


def make_transcript(turns=VISIT) -> Transcript:
    return Transcript([Segment(f"seg{i + 1}", 3.0 * i, 3.0 * i + 3.0, text, spk)
                       for i, (spk, text) in enumerate(turns)])


# A sentence no model writes and no visit holds: the canary for "is the plaintext on disk".
CANARY = "Zyxwvut quokka marmalade lantern."


def handmade_summary(flagged: bool = True) -> Draft:
    """A summary as the writer stores it: pi ids, pi_ sections, one blocking flag."""
    flags = [Flag("drug", "metformin is not mentioned in the visit", "metformin")] if flagged else []
    return Draft(template="patient-instructions-en", sections=[
        Section("pi_found", "WHAT WE FOUND", [Statement("pi1", CANARY, ["seg7"])]),
        Section("pi_meds", "YOUR MEDICINES", [
            Statement("pi2", "Keep taking lisinopril 20 milligrams once a day.", ["seg8"]),
            Statement("pi3", "Take metformin 500 mg twice a day.", [], flags)]),
    ], model_sha256="m" * 64, prompt_sha256="p" * 64)


@pytest.fixture(scope="session")
def engine():
    from localscribe.draft.engine import LlamaEngine
    from localscribe.models import resolve_model

    return LlamaEngine(resolve_model("llm", "tiny"), n_ctx=2048, n_threads=THREADS)


@pytest.fixture
def visit() -> Transcript:
    return make_transcript()


__all__ = ["PASS", "VaultDir", "make_vault", "vdir"]
