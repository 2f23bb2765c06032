"""Recording: one large Record / Pause / Resume control, Stop, elapsed time, the microphone
picker with its level meter, and the transcript as it grows.

The panel only shows state and reports clicks; the encounter view drives the pipeline.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QMessageBox, QProgressBar, QPushButton, QVBoxLayout, QWidget)

from localscribe.domain import Segment
from localscribe.ui.core import InputDevice
from localscribe.ui.style import mmss, shortcut
from localscribe.ui.qtcompat import emit

RECORD_KEY = "Ctrl+R"
STOP_KEY = "Ctrl+E"
SPEAKER_LABELS = {"clinician": "Clinician", "patient": "Patient", "other": "Other"}


def speaker_label(speaker: str) -> str:
    return SPEAKER_LABELS.get(speaker, "Speaker")


def segment_line(seg: Segment) -> str:
    return f"[{mmss(seg.t0)}] {speaker_label(seg.speaker)}: {seg.text.strip()}"


class LevelMeter(QProgressBar):
    """Input level in dBFS, with the number written on the bar (not colour alone)."""

    FLOOR_DB = -60

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(self.FLOOR_DB, 0)
        self.setAccessibleName("Microphone level")
        self.setTextVisible(True)
        self.set_level(None)

    def set_level(self, dbfs: float | None) -> None:
        if dbfs is None:
            self.setValue(self.FLOOR_DB)
            self.setFormat("Level: no input")
            return
        value = int(max(self.FLOOR_DB, min(0, dbfs)))
        self.setValue(value)
        word = "too loud" if dbfs > -3 else "quiet" if dbfs < -45 else "good"
        self.setFormat(f"Level: {dbfs:.0f} dB ({word})")


def ask_consent(parent: QWidget, patient_name: str) -> bool:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Patient consent")
    box.setText(f"Has {patient_name or 'the patient'} agreed to this visit being recorded?")
    box.setInformativeText("The audio and transcript stay encrypted on this computer and are used "
                           "only to draft the note. Your answer is recorded in the audit trail.")
    yes = box.addButton("Patient &agreed, record", QMessageBox.ButtonRole.YesRole)
    box.addButton("&Not agreed", QMessageBox.ButtonRole.NoRole)
    box.setDefaultButton(yes)
    box.exec()
    return box.clickedButton() is yes


class RecordPanel(QWidget):
    record_clicked = Signal()          # start, or resume after pause
    pause_clicked = Signal()
    stop_clicked = Signal()
    refresh_devices = Signal()
    device_changed = Signal(object)    # InputDevice or None
    test_requested = Signal(object)    # InputDevice: preview its level without recording

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = "idle"            # idle | recording | paused | finishing | done
        self._elapsed_before = 0.0
        self._since: float | None = None
        self.record_button = QPushButton()
        self.record_button.setObjectName("RecordButton")
        self.record_button.clicked.connect(self._main_clicked)
        self.stop_button = QPushButton(f"■ Stop ({STOP_KEY})")
        self.stop_button.setObjectName("StopButton")
        self.stop_button.setAccessibleName("Stop recording and draft the note")
        self.stop_button.clicked.connect(self._stop)
        self.elapsed = QLabel("00:00")
        self.elapsed.setObjectName("Elapsed")
        self.elapsed.setAccessibleName("Elapsed recording time")
        self.state_label = QLabel("")
        self.state_label.setObjectName("Subtitle")
        self.mic = QComboBox()
        self.mic.setObjectName("MicPicker")
        self.mic.setAccessibleName("Microphone")
        self.mic.setMinimumContentsLength(24)
        self.mic.currentIndexChanged.connect(lambda _i: emit(self.device_changed, self.device()))
        self.test_mic = QPushButton("&Test microphone")
        self.test_mic.setToolTip("Listen for a few seconds and show the level; nothing is recorded")
        self.test_mic.clicked.connect(lambda: emit(self.test_requested, self.device()))
        self.refresh = QPushButton("Re&fresh")
        self.refresh.setToolTip("Look for microphones again")
        self.refresh.clicked.connect(self.refresh_devices)
        self.meter = LevelMeter()
        self.no_mic = QLabel("")
        self.no_mic.setObjectName("ErrorBanner")
        self.no_mic.setWordWrap(True)
        self.no_mic.hide()
        self.transcript = QListWidget()
        self.transcript.setObjectName("LiveTranscript")
        self.transcript.setAccessibleName("Live transcript")
        self.transcript.setWordWrap(True)
        self.transcript_hint = QLabel("The transcript appears here while you talk.")
        self.transcript_hint.setObjectName("Muted")

        controls = QHBoxLayout()
        controls.addWidget(self.record_button)
        controls.addWidget(self.stop_button)
        controls.addSpacing(16)
        clock = QVBoxLayout()
        clock.addWidget(self.elapsed)
        clock.addWidget(self.state_label)
        controls.addLayout(clock)
        controls.addStretch(1)
        mic_row = QHBoxLayout()
        mic_label = QLabel("&Microphone:")
        mic_label.setBuddy(self.mic)
        mic_row.addWidget(mic_label)
        mic_row.addWidget(self.mic, 2)
        mic_row.addWidget(self.test_mic)
        mic_row.addWidget(self.refresh)
        mic_row.addWidget(self.meter, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addLayout(mic_row)
        layout.addWidget(self.no_mic)
        layout.addWidget(self.transcript_hint)
        layout.addWidget(self.transcript, 1)
        self.setTabOrder(self.record_button, self.stop_button)
        self.setTabOrder(self.stop_button, self.mic)
        self.setTabOrder(self.mic, self.test_mic)
        self.setTabOrder(self.test_mic, self.refresh)
        self.setTabOrder(self.refresh, self.transcript)

        self._shortcuts = [shortcut(self, RECORD_KEY, self._main_clicked, local=True),
                           shortcut(self, STOP_KEY, self._stop, local=True)]
        self._tick = QTimer(self)
        self._tick.setInterval(250)
        self._tick.timeout.connect(self._update_elapsed)
        self._devices: list[InputDevice] = []
        self._testing = False
        self.set_state("idle")

    # --- what the encounter view tells the panel ---------------------------------------------
    def set_devices(self, devices: list[InputDevice], problem: str = "") -> None:
        self._devices = list(devices)
        self.mic.blockSignals(True)
        self.mic.clear()
        for d in devices:
            self.mic.addItem(d.name + (" (default)" if d.is_default else ""), d)
        default = next((i for i, d in enumerate(devices) if d.is_default), 0)
        self.mic.setCurrentIndex(default if devices else -1)
        self.mic.blockSignals(False)
        if not devices:
            self.no_mic.setText(problem or "No microphone is usable. Connect one (or allow access to it), "
                                "then press Refresh.")
            self.no_mic.show()
            self.meter.set_level(None)
        else:
            self.no_mic.hide()
        self._sync_buttons()

    def device(self) -> InputDevice | None:
        data = self.mic.currentData()
        return data if isinstance(data, InputDevice) else None

    def set_state(self, state: str) -> None:
        """idle | recording | paused | finishing | done"""
        if state == "recording" and self._since is None:
            self._since = time.monotonic()
        elif state != "recording" and self._since is not None:
            self._elapsed_before += time.monotonic() - self._since
            self._since = None
        self.state = state
        if state == "recording":
            self._tick.start()
        else:
            self._tick.stop()
        self._update_elapsed()
        text = {"idle": "Ready to record", "recording": "● Recording", "paused": "❚❚ Paused",
                "finishing": "Finishing the transcript and drafting…", "done": "Recording finished"}
        self.state_label.setText(text.get(state, state))
        if state != "recording":
            self.meter.set_level(None)
        self._sync_buttons()

    def show_problem(self, message: str) -> None:
        self.no_mic.setText(message)
        self.no_mic.show()

    def set_level(self, dbfs: float) -> None:
        if self.state == "recording" or self._testing:
            self.meter.set_level(dbfs)

    def set_testing(self, testing: bool) -> None:
        self._testing = testing
        self.test_mic.setText("Testing…" if testing else "&Test microphone")
        if not testing:
            self.meter.set_level(None)
        self._sync_buttons()

    def add_segment(self, seg: Segment) -> None:
        self.transcript_hint.hide()
        bar = self.transcript.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        item = QListWidgetItem(segment_line(seg))
        item.setData(Qt.ItemDataRole.UserRole, seg.id)
        self.transcript.addItem(item)
        if at_end:
            self.transcript.scrollToBottom()

    def reset(self) -> None:
        self.transcript.clear()
        self.transcript_hint.show()
        self._elapsed_before, self._since = 0.0, None
        self.set_state("idle")

    def elapsed_s(self) -> float:
        running = time.monotonic() - self._since if self._since is not None else 0.0
        return self._elapsed_before + running

    # --- internals -----------------------------------------------------------------------------
    def _sync_buttons(self) -> None:
        has_mic = bool(self._devices)
        labels = {"idle": f"● Record ({RECORD_KEY})", "recording": f"❚❚ Pause ({RECORD_KEY})",
                  "paused": f"● Resume ({RECORD_KEY})"}
        self.record_button.setText(labels.get(self.state, f"● Record ({RECORD_KEY})"))
        self.record_button.setAccessibleName(labels.get(self.state, "Record").split(" (")[0][2:])
        self.record_button.setEnabled(self.state in ("recording", "paused")
                                      or (self.state == "idle" and has_mic))
        self.stop_button.setEnabled(self.state in ("recording", "paused"))
        self.mic.setEnabled(self.state == "idle")
        self.refresh.setEnabled(self.state == "idle")
        self.test_mic.setEnabled(self.state == "idle" and has_mic and not self._testing)

    def _main_clicked(self) -> None:
        if not self.record_button.isEnabled():
            return
        if self.state == "recording":
            emit(self.pause_clicked)
        else:
            emit(self.record_clicked)

    def _stop(self) -> None:
        if self.stop_button.isEnabled():
            emit(self.stop_clicked)

    def _update_elapsed(self) -> None:
        self.elapsed.setText(mmss(self.elapsed_s()))
