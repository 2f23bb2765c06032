"""Patient instructions: a real vault file (tests.support.cli_vault) and, for drafting, the
tiny profile's real llama.cpp model."""

from __future__ import annotations

import pytest

from localscribe.domain import Draft, Flag, Section, Statement, Transcript
from tests.support import visit as tiny_visit
from tests.support.cli_vault import PASS, VaultDir, make_vault, vdir  # noqa: F401 (fixture)

VISIT = [
    *tiny_visit.OPENING,
    ("clinician", "Which medicines do you take?"),
    ("patient", "Lisinopril 20 milligrams once a day."),
    ("clinician", "Your lungs sound clear. It is probably a viral infection."),
    ("clinician", "Drink fluids and rest. Keep taking the lisinopril 20 milligrams once a day."),
    ("clinician", "Come back if it is not better in a week."),
]


def make_transcript(turns=VISIT) -> Transcript:
    return tiny_visit.make_transcript(turns)


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
    return tiny_visit.tiny_engine()


@pytest.fixture
def visit() -> Transcript:
    return make_transcript()


__all__ = ["PASS", "VaultDir", "make_vault", "vdir"]
