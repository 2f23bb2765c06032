"""Lock the window after a stretch without keyboard or mouse input.

An application-wide event filter sees every input event, so no view can forget to report
activity. The filter only measures idleness; what locking means is the main window's job.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from localscribe.ui.qtcompat import emit

ACTIVITY_EVERY_S = 15
ACTIVITY = {QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
            QEvent.Type.Wheel, QEvent.Type.TouchBegin, QEvent.Type.ShortcutOverride}


class IdleWatcher(QObject):
    idle = Signal()
    activity = Signal()          # at most once per ACTIVITY_EVERY_S while the user is active

    def __init__(self, timeout_s: float, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.idle)
        self._last_activity = 0.0
        self.set_timeout(timeout_s)

    def set_timeout(self, timeout_s: float) -> None:
        self._timer.setInterval(max(1, int(timeout_s * 1000)))

    @property
    def timeout_s(self) -> float:
        return self._timer.interval() / 1000

    def arm(self) -> None:
        self._timer.start()

    def disarm(self) -> None:
        self._timer.stop()

    @property
    def armed(self) -> bool:
        return self._timer.isActive()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() in ACTIVITY and self._timer.isActive():
            self._timer.start()
            now = time.monotonic()
            if now - self._last_activity >= ACTIVITY_EVERY_S:
                self._last_activity = now
                emit(self.activity)
        return False
