"""Fixtures for the transcription tests: the installed tiny-profile speech model."""

from __future__ import annotations

import pytest

from localscribe.config import resolve_paths
from localscribe.models import ModelError, resolve_model


@pytest.fixture(scope="session")
def asr_model():
    """The verified Whisper file of the 'tiny' profile (installed by installer/install.sh)."""
    try:
        return resolve_model("asr", "tiny", resolve_paths())
    except ModelError as exc:
        pytest.fail(f"the tiny speech model is not installed: {exc}")
