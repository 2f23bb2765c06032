"""Shared fixtures: one real install of the tiny profile from the registry per test session."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from localscribe.config import Paths, resolve_paths
from localscribe.models.install import install_profile
from localscribe.models.progress import Progress

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def tiny_paths(tmp_path_factory) -> Paths:
    """A models dir holding the tiny profile, fetched with pip and built by our converter."""
    root = tmp_path_factory.mktemp("tiny-install")
    paths = resolve_paths(data_dir=root / "data", models_dir=root / "models")
    install_profile("tiny", paths, Progress(quiet=True))
    return paths


@pytest.fixture
def tiny_copy(tiny_paths, tmp_path) -> Paths:
    """A private copy of the installed tiny models, safe to damage."""
    models = tmp_path / "models"
    models.mkdir()
    for f in tiny_paths.models_dir.iterdir():
        if f.is_file() and not f.name.startswith("."):
            shutil.copy2(f, models / f.name)
    return resolve_paths(data_dir=tmp_path / "data", models_dir=models)


@pytest.fixture
def unreachable_registry(monkeypatch):
    """Point pip at a closed loopback port, with no config files, no retries."""
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
