"""Cold start of the desktop window to ready-to-record, median of N runs.

Each run is a fresh Python process (imports, Qt start, vault unlock with the real key
derivation, today's list, a new encounter opened with Record enabled). Two variants run in
the same session so they can be compared:

  background  models load on a worker thread after unlock (what the app does)
  blocking    the same, but ready-to-record waits until the models are loaded

    .venv/bin/python tests/bench/bench_cold_start.py [--runs 5] [--profile tiny]

Prints per-run figures and the medians (seconds from process spawn). Uses a throwaway vault.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PASSPHRASE = "bench passphrase, not secret"


def child(data_dir: str, profile: str, variant: str, spawned_at: float) -> None:
    marks: dict[str, float] = {}

    def mark(name: str) -> None:
        marks.setdefault(name, time.time() - spawned_at)

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from localscribe.security.egress import install_guard
    install_guard()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from localscribe.config import resolve_paths
    from localscribe.domain import Patient
    from localscribe.ui import style
    from localscribe.ui.main_window import MainWindow
    from localscribe.ui.prefs import UiPrefs
    mark("imports")
    app = QApplication(sys.argv[:1])
    style.apply(app)
    paths = resolve_paths(data_dir, os.environ.get("LOCALSCRIBE_MODELS_DIR"))
    window = MainWindow(paths, profile, UiPrefs())
    window.show()
    app.processEvents()
    mark("window_shown")
    state = {"ready": False, "models": False}

    def finish_if_done() -> None:
        if state["ready"] and (state["models"] or variant == "background"):
            mark("ready_to_record")
            if state["models"] or window.models_label.text().startswith("⚠"):
                QTimer.singleShot(0, app.quit)

    def on_models(text: str) -> None:
        if text.startswith(("Models ready", "⚠")):
            mark("models_loaded" if text.startswith("Models ready") else "models_failed")
            state["models"] = True
            finish_if_done()

    poll = QTimer()
    poll.timeout.connect(lambda: on_models(window.models_label.text()))
    poll.start(20)

    def on_ready() -> None:
        state["ready"] = True
        finish_if_done()

    window.ready_to_record.connect(on_ready)

    def drive() -> None:
        window.unlock("dr", PASSPHRASE)
        mark("unlocked")
        eid = window.session.create_encounter(Patient(name="Bench Patient", mrn="B-1"), "soap")
        window.open_encounter(eid)
        if not window.encounter.panel.record_button.isEnabled():
            mark("ready_to_record_no_microphone")
            on_ready()

    QTimer.singleShot(0, drive)
    QTimer.singleShot(300_000, app.quit)
    app.exec()
    print(json.dumps(marks))


def make_vault(data_dir: Path) -> None:
    from localscribe.config import resolve_paths
    from localscribe.vault import Vault
    paths = resolve_paths(data_dir, os.environ.get("LOCALSCRIBE_MODELS_DIR"))
    vault = Vault.create(paths, "admin", PASSPHRASE)        # default (real) key derivation cost
    admin = vault.unlock("admin", PASSPHRASE)
    admin.add_user("dr", "clinician", PASSPHRASE)
    admin.lock()
    vault.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--profile", default=os.environ.get("LOCALSCRIBE_PROFILE", "tiny"))
    ap.add_argument("--child", nargs=3, metavar=("DATA_DIR", "VARIANT", "SPAWNED_AT"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.profile, args.child[1], float(args.child[2]))
        return 0
    results: dict[str, list[dict]] = {"background": [], "blocking": []}
    with tempfile.TemporaryDirectory(prefix="localscribe-bench-") as tmp:
        data = Path(tmp) / "data"
        make_vault(data)
        env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
        for i in range(args.runs):
            for variant in results:          # interleaved, so drift hits both alike
                spawned = time.time()
                out = subprocess.run([sys.executable, __file__, "--profile", args.profile,
                                      "--child", str(data), variant, repr(spawned)],
                                     env=env, capture_output=True, text=True, timeout=600)
                line = next((ln for ln in reversed(out.stdout.splitlines()) if ln.startswith("{")), "")
                if out.returncode != 0 or not line:
                    print(out.stderr[-2000:], file=sys.stderr)
                    raise SystemExit(f"run {i} ({variant}) failed with status {out.returncode}")
                marks = json.loads(line)
                results[variant].append(marks)
                print(f"run {i + 1} {variant:<10} " + "  ".join(f"{k}={v:.2f}s" for k, v in marks.items()))
    print(f"\ncold start, profile {args.profile}, {args.runs} runs each, median seconds from spawn:")
    keys = ["imports", "window_shown", "unlocked", "ready_to_record", "models_loaded"]
    for variant, runs in results.items():
        cells = []
        for k in keys:
            vals = [r[k] for r in runs if k in r]
            cells.append(f"{k}={statistics.median(vals):.2f}" if vals else f"{k}=n/a")
        print(f"  {variant:<10} " + "  ".join(cells))
    bg = [r["ready_to_record"] for r in results["background"] if "ready_to_record" in r]
    bl = [r["ready_to_record"] for r in results["blocking"] if "ready_to_record" in r]
    if bg and bl:
        print(f"  ready-to-record, blocking / background: {statistics.median(bl) / statistics.median(bg):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
