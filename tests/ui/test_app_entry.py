"""`localscribe --data-dir DIR` with no command opens the desktop app on DIR (issue 12; it was
"invalid choice"), and the option still reaches a subcommand when given before it."""

from __future__ import annotations

import subprocess
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from ui_helpers import PASSPHRASE, require_core


def test_data_dir_without_a_command_opens_the_app_on_that_folder(qtbot, tmp_path):
    require_core("localscribe.vault:Vault")
    from localscribe.cli import main
    from localscribe.config import resolve_paths
    from localscribe.ui.main_window import MainWindow
    from localscribe.vault import TEST_PARAMS, Vault
    data = tmp_path / "clinic"
    Vault.create(resolve_paths(data), "admin", PASSPHRASE, kdf_params=TEST_PARAMS).close()
    seen: dict = {}

    def inspect_and_close() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if not windows:
            QTimer.singleShot(50, inspect_and_close)
            return
        w = windows[0]
        seen.update(data_dir=w.paths.data_dir, profile=w.profile, title=w.unlock_view.title.text())
        w.close()
    QTimer.singleShot(0, inspect_and_close)
    assert main(["--data-dir", str(data), "--profile", "tiny"]) == 0
    assert seen["data_dir"] == data and seen["profile"] == "tiny"
    assert seen["title"] == "LocalScribe is locked"        # it found the vault there


def test_data_dir_before_a_command_reaches_the_command(tmp_path):
    data = tmp_path / "elsewhere"
    out = subprocess.run([sys.executable, "-m", "localscribe", "--data-dir", str(data), "users", "list"],
                         capture_output=True, text=True, timeout=120)
    assert "invalid choice" not in out.stderr and "Traceback" not in out.stderr
    assert str(data) in out.stderr + out.stdout, out.stderr       # the error names that folder
