"""The tiny model profile a test module needs: missing models fail the module with the command
that installs them, never skip it."""

from __future__ import annotations

import pytest

from localscribe.models import ModelError, resolve_model


@pytest.fixture(scope="module")
def tiny_models() -> None:
    try:
        resolve_model("asr", "tiny")
        resolve_model("llm", "tiny")
    except ModelError as exc:
        pytest.fail(f"needs the tiny models (installer/install.sh --profile tiny): {exc}")
