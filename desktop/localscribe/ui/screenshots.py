"""Render every main screen to PNG files for the README, from a throwaway vault.

    python -m localscribe.ui.screenshots [--out docs/screenshots] [--profile tiny] [--scale 1.0]
    xvfb-run -a env QT_QPA_PLATFORM=xcb python -m localscribe.ui.screenshots
    python -m localscribe.ui.screenshots --only scorecard     # no models needed

The vault lives in a temporary folder and holds only the bundled, fictional sample visit
(assets/sample_visit), run once through the real pipeline (whisper.cpp + llama.cpp with the
chosen profile's models). The live-recording screen is shown by replaying that visit's
transcript into the record panel, since no one speaks into a microphone here.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication, QWidget

    from localscribe.config import Paths

Log = Callable[[str], Any]

PASSPHRASE = "screenshot-only passphrase"
SAMPLE_PATIENTS = [("Jordan Sample", "", "1980-02-29", "soap"),
                   ("Robin Example", "DEMO-0002", "", "soap"),
                   ("Casey Placeholder", "DEMO-0003", "", "history_and_physical")]


def _fill_vault(paths: Paths, profile: str, log: Log) -> tuple[str, list[str]]:
    from localscribe.domain import Patient
    from localscribe.models import resolve_model
    from localscribe.pipeline import scribe_file
    from localscribe.pipeline.stores import VaultVisitStore
    from localscribe.resources import asset
    from localscribe.vault import TEST_PARAMS, Vault, consent

    vault = Vault.create(paths, "admin", PASSPHRASE, kdf_params=TEST_PARAMS)
    admin = vault.unlock("admin", PASSPHRASE)
    admin.add_user("dr.patel", "clinician", PASSPHRASE)
    admin.add_user("auditor", "auditor", PASSPHRASE)
    # Drafting with the standard model on a busy machine can outlast the 5-minute idle lock
    # of the session the pipeline writes through.
    admin.set_setting("session.idle_timeout_s", 86400)
    admin.lock()
    for name in ("dr.patel", "auditor"):     # each chose their own passphrase since (else the
        own = vault.unlock(name, PASSPHRASE)  # window opens on the forced change)
        own.set_passphrase(name, PASSPHRASE)
        own.lock()
    s = vault.unlock("dr.patel", PASSPHRASE)
    ids = []
    for name, mrn, dob, template in SAMPLE_PATIENTS:
        ids.append(s.create_encounter(Patient(name=name, mrn=mrn, birth_date=dob), template))
    log(f"running the sample visit through the {profile} pipeline (real models)…")
    asr, llm = resolve_model("asr", profile, paths), resolve_model("llm", profile, paths)
    result = scribe_file(asset("sample_visit", "visit.ogg"), VaultVisitStore(s, ids[0]),
                         asr_model=asr, llm_model=llm, template="soap", data_dir=paths.data_dir)
    if getattr(result, "error", None):
        raise SystemExit(f"the sample visit failed in the pipeline: {result.error}")
    # A second copy of that visit, signed, so the day shows more than one state (its draft
    # copied rather than drafted again: the standard pipeline is minutes on two cores).
    transcript, first = s.load_transcript(ids[0]), s.load_draft(ids[0])
    assert transcript is not None and first is not None
    s.save_transcript(ids[1], transcript)
    s.save_draft(ids[1], first)
    s.set_status(ids[1], "review")
    from localscribe.ui import core
    # The second visit's patient consented; the first's answer is not on record yet, so its
    # sign dialog shows the consent checkbox the practice's rule asks for.
    consent.record(s, ids[1], True, after_start=True)
    draft = s.load_draft(ids[1])
    assert draft is not None
    s.save_note_version(ids[1], core.render_note(draft, paths.data_dir))
    s.sign(ids[1], acknowledged_flag_ids=draft.unacknowledged(set()))   # flags and notices
    s.lock()
    vault.close()
    return ids[0], ids


def _app() -> QApplication:
    from PySide6.QtWidgets import QApplication

    return cast(QApplication, QApplication.instance() or QApplication(sys.argv[:1]))


def render(out: Path, profile: str, log: Log = print) -> list[Path]:
    from PySide6.QtCore import QEventLoop, QTimer

    from localscribe.config import resolve_paths
    from localscribe.pipeline import events as ev
    from localscribe.ui import style
    from localscribe.ui.day_view import NewEncounterDialog
    from localscribe.ui.main_window import MainWindow
    from localscribe.ui.prefs import UiPrefs
    from localscribe.ui.sign_dialog import SignDialog
    from localscribe.ui import core

    style.apply(_app())
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def settle(ms: int = 150) -> None:
        # An event loop, not app.processEvents(): that leaks None references in PySide6 6.12.
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def shot(widget: QWidget, name: str) -> None:
        settle()
        path = out / f"{name}.png"
        if not widget.grab().save(str(path)):
            raise SystemExit(f"could not write {path}")
        written.append(path)
        log(f"wrote {path}")

    with tempfile.TemporaryDirectory(prefix="localscribe-shots-") as tmp:
        paths = resolve_paths(Path(tmp) / "data", os.environ.get("LOCALSCRIBE_MODELS_DIR"))
        first = MainWindow(paths, profile, UiPrefs())
        first.show()
        shot(first, "01-first-run")
        first.close()
        review_id, ids = _fill_vault(paths, profile, log)

        w = MainWindow(paths, profile, UiPrefs())
        w.resize(1280, 820)
        w.show()
        w.unlock_view.user.setText("dr.patel")
        shot(w, "02-unlock")
        w.unlock("dr.patel", PASSPHRASE)
        w.runner.wait(60000)
        shot(w, "03-today")

        dialog = NewEncounterDialog(core.templates(paths.data_dir), w)
        dialog.name.setText("Alex Newpatient")
        dialog.birth_date.setText("1975-06-01")
        dialog.show()
        shot(dialog, "04-new-encounter")
        dialog.close()

        w.open_encounter(ids[2])
        enc = w.encounter
        enc.panel.set_devices([core.InputDevice(0, "USB conference microphone (example)", True)])
        assert w.session is not None
        transcript = w.session.load_transcript(review_id)
        for seg in (transcript.segments if transcript else [])[:9]:
            enc.bridge.post(ev.SegmentAdded(seg))
        enc.panel.set_state("recording")
        enc.bridge.post(ev.LevelChanged(-21.0))
        settle(400)
        shot(w, "05-recording")
        enc.panel.set_state("idle")
        enc.panel.reset()

        w.open_encounter(review_id)
        draft = enc.review.draft
        target = next((st for st in draft.statements if st.evidence), None) if draft else None
        if target is not None:
            enc.review.tree.select_statement(target.id)
        shot(w, "06-review-evidence")
        flagged = draft.flagged[0] if draft and draft.flagged else None
        if flagged is not None:
            enc.review.tree.select_statement(flagged.id)
            shot(w, "07-review-flag")
        sign = SignDialog(draft, "dr.patel", w,
                          instructions=core.instructions_summary(w.session, review_id),
                          consent_needed=core.consent_problem(w.session, review_id) is not None)
        sign.show()
        shot(sign, "08-sign")
        sign.close()

        w.open_encounter(ids[1])
        shot(w, "09-signed")
        w.show_settings()
        w.runner.wait(120000)
        shot(w, "10-settings-models")
        w.lock("Locked after 5 minute(s) without activity.")
        shot(w, "11-locked")

        w.unlock("auditor", PASSPHRASE)
        w.runner.wait(60000)
        shot(w, "12-audit")
        w.audit.tabs.setCurrentIndex(1)
        shot(w, "13-security-report")
        w.close()
        w.runner.wait(10000)
    written.append(render_scorecard(out, log))
    return written


def render_scorecard(out: Path, log: Log = print) -> Path:
    """The Scorecard screen over eight scripted weeks of a fictional practice (no models)."""
    from PySide6.QtCore import QEventLoop, QTimer

    from localscribe.config import resolve_paths
    from localscribe.scorecard import demo
    from localscribe.ui import style
    from localscribe.ui.main_window import MainWindow
    from localscribe.ui.prefs import UiPrefs

    style.apply(_app())
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="localscribe-scorecard-") as tmp:
        paths = resolve_paths(Path(tmp) / "data", os.environ.get("LOCALSCRIBE_MODELS_DIR"))
        log("scripting eight weeks of a fictional practice…")
        demo.script(paths, PASSPHRASE).close()
        w = MainWindow(paths, "tiny", UiPrefs())
        w.resize(1280, 820)
        w.show()
        w.unlock("auditor", PASSPHRASE)
        w.runner.wait(60000)           # the audit page's security report, built on unlock
        w.show_scorecard()    # type: ignore[attr-defined]  # added by scorecard_view.install
        loop = QEventLoop()
        QTimer.singleShot(300, loop.quit)
        loop.exec()
        path = out / "scorecard.png"
        if not w.grab().save(str(path)):
            raise SystemExit(f"could not write {path}")
        log(f"wrote {path}")
        w.close()
        w.runner.wait(10000)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots", type=Path)
    parser.add_argument("--profile", default=os.environ.get("LOCALSCRIBE_PROFILE", "tiny"))
    parser.add_argument("--scale", type=float, default=1.0,
                        help="device pixel ratio to render at (1.5 checks 150%% scaling)")
    parser.add_argument("--only", choices=("scorecard",),
                        help="render only this screen (the scorecard needs no models)")
    args = parser.parse_args(argv)
    if args.scale != 1.0:
        os.environ["QT_SCALE_FACTOR"] = str(args.scale)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from localscribe.security.egress import install_guard
    install_guard()
    if args.only == "scorecard":
        render_scorecard(args.out)
    else:
        render(args.out, args.profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
