"""Waiting in Qt tests without QTest.qWait (tests/ui and the scorecard screen's test).

pytest-qt's qtbot.wait and qtbot.waitUntil call QTest.qWait, and in PySide6 6.12 each
processEvents() there drops a reference to None, which crashes a long test run; these run the
event loop with a QEventLoop instead."""

from __future__ import annotations


def pump(ms: int) -> None:
    """Run the Qt event loop for `ms` milliseconds.

    Used instead of qtbot.wait/waitUntil: those call QTest.qWait, and in PySide6 6.12 each
    processEvents() there drops a reference to None, which crashes a long test run."""
    from PySide6.QtCore import QEventLoop, QTimer
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_until(predicate, timeout: int = 5000, step: int = 20) -> None:
    """Like qtbot.waitUntil (raises on timeout), without QTest.qWait (see pump)."""
    import time
    deadline = time.monotonic() + timeout / 1000
    while True:
        try:
            if predicate() not in (False, None):
                return
        except AssertionError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} ms")
        pump(step)
