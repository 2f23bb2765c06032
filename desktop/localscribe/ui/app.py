"""`localscribe` with no command: the desktop window."""

from __future__ import annotations

import argparse
import sys

from localscribe.config import default_profile, resolve_paths


def run_app(args: argparse.Namespace | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from localscribe.ui import style
    from localscribe.ui.main_window import MainWindow
    from localscribe.ui.prefs import UiPrefs

    paths = resolve_paths(getattr(args, "data_dir", None), getattr(args, "models_dir", None))
    prefs_path = paths.data_dir / "ui-preferences.json"
    prefs = UiPrefs.load(prefs_path)
    try:
        profile = getattr(args, "profile", None) or prefs.profile or default_profile()
    except ValueError as exc:
        print(f"localscribe: error: {exc}", file=sys.stderr)
        return 2
    existing = QApplication.instance()     # typed as the QCoreApplication base
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("LocalScribe")
    app.setApplicationDisplayName("LocalScribe")
    style.apply(app)
    window = MainWindow(paths, profile, prefs, prefs_path)
    window.show()
    return int(app.exec())
