"""Fixtures for the desktop UI tests: offscreen Qt, a real vault in a temporary folder, and
helpers that read what a user could see on screen."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LOCALSCRIBE_PROFILE", "tiny")

import pytest

from localscribe.config import Paths, resolve_paths

from ui_helpers import PASSPHRASE, require_core


@pytest.fixture
def paths(tmp_path) -> Paths:
    models = os.environ.get("LOCALSCRIBE_MODELS_DIR")
    return resolve_paths(tmp_path / "data", models)


@pytest.fixture
def vault(paths):
    """A real vault with an admin, a clinician and an assistant."""
    require_core("localscribe.vault:Vault")
    from localscribe.vault import TEST_PARAMS, Vault
    v = Vault.create(paths, "admin", PASSPHRASE, kdf_params=TEST_PARAMS)
    admin = v.unlock("admin", PASSPHRASE)
    admin.add_user("drjones", "clinician", PASSPHRASE)
    admin.add_user("sam", "assistant", PASSPHRASE)
    admin.add_user("audrey", "auditor", PASSPHRASE)
    admin.lock()
    yield v
    close = getattr(v, "close", None)
    if close:
        close()


@pytest.fixture
def window(qtbot, paths):
    from localscribe.ui import style
    from localscribe.ui.main_window import MainWindow
    from localscribe.ui.prefs import UiPrefs
    from PySide6.QtWidgets import QApplication
    style.apply(QApplication.instance())
    w = MainWindow(paths, "tiny", UiPrefs(idle_lock_s=300))
    qtbot.addWidget(w)
    w.show()
    yield w
    w.runner.cancel_all()
    w.runner.wait(10000)

