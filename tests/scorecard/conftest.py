"""Fixtures for the scorecard tests: a real vault filled by scripted visits (see helpers)."""

from __future__ import annotations

import pytest

from localscribe.config import Paths


@pytest.fixture
def paths(tmp_path) -> Paths:
    return Paths(data_dir=tmp_path / "data", models_dir=tmp_path / "models")


@pytest.fixture(scope="module")
def practice(tmp_path_factory):
    """Nine scripted visits over two weeks (see scorecard_helpers.script_practice)."""
    from scorecard_helpers import script_practice
    p = tmp_path_factory.mktemp("practice")
    vault, eids = script_practice(Paths(data_dir=p / "data", models_dir=p / "models"))
    yield vault, eids
    vault.close()
