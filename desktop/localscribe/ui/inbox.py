"""Hand work from any Python thread to the UI thread without emitting Qt signals there.

Why not a queued signal: in PySide6 6.12, `Signal.emit()` drops a reference to its bool result
every time (see qtcompat.py), and after a few thousand emits (a few
minutes of level-meter events) the interpreter aborts. A plain queue drained by a timer on
the UI thread has no such problem and costs at most one timer tick of latency.
"""

from __future__ import annotations

import queue
from typing import Any
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

DRAIN_EVERY_MS = 30


class UiInbox(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]]] = queue.SimpleQueue()
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_EVERY_MS)
        self._timer.timeout.connect(self.drain)
        self._timer.start()

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Thread-safe: `fn(*args)` runs on the UI thread at the next tick."""
        self._queue.put((fn, args))

    def drain(self) -> None:
        while True:
            try:
                fn, args = self._queue.get_nowait()
            except queue.Empty:
                return
            fn(*args)
