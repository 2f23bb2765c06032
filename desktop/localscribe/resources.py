"""Locate files shipped with the app (model manifest, templates, sample visit).

A wheel carries them under ``localscribe/_data``; an editable install or a source
checkout reads them from the repository's top-level ``models/`` and ``assets/``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DATA = Path(__file__).resolve().parent / "_data"
_REPO_ROOT = Path(__file__).resolve().parents[2]


def _root() -> Path:
    if (_PACKAGE_DATA / "assets").is_dir():
        return _PACKAGE_DATA
    return _REPO_ROOT


def manifest_path() -> Path:
    return _root() / "models" / "manifest.toml"


def assets_dir() -> Path:
    return _root() / "assets"


def asset(*parts: str) -> Path:
    return assets_dir().joinpath(*parts)
