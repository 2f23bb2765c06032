"""Run slow work (model loading, drafting, sending, hashing) off the UI thread.

A `Task` wraps a plain function; its result or error comes back as Qt signals on the UI
thread. A task that can be cancelled receives a `CancelToken` as keyword `cancel`.
`TaskRunner` keeps tasks alive while they run and tells a progress widget what is going on.
"""

from __future__ import annotations

import inspect
import threading
import traceback
from typing import Any
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from localscribe.ui.inbox import UiInbox
from localscribe.ui.qtcompat import emit


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class TaskSignals(QObject):
    finished = Signal(object)      # the function's return value
    failed = Signal(str)           # one readable sentence
    done = Signal()                # after finished or failed


class Task(QRunnable):
    def __init__(self, label: str, fn: Callable[..., Any], *args: Any, inbox: UiInbox,
                 **kwargs: Any) -> None:
        super().__init__()
        self._inbox = inbox
        self.setAutoDelete(False)   # the runner drops its reference when done
        self.label = label
        # Work that writes to the vault through the user's session (drafting): a lock keeps
        # that session open until the task ends, so the result is stored, not lost.
        self.keeps_session = False
        self.signals = TaskSignals()
        self.token = CancelToken()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        try:
            self.cancellable = "cancel" in inspect.signature(fn).parameters
        except (TypeError, ValueError):
            self.cancellable = False

    def run(self) -> None:
        kwargs = dict(self._kwargs)
        if self.cancellable:
            kwargs["cancel"] = self.token
        try:
            result = self._fn(*self._args, **kwargs)
        except Exception as exc:  # shown to the user; never kills the window
            traceback.print_exc()
            self._inbox.post(emit, self.signals.failed, describe_error(exc))
        else:
            self._inbox.post(emit, self.signals.finished, result)
        self._inbox.post(emit, self.signals.done)


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if text.endswith(".") else text + "."


class TaskRunner(QObject):
    """Starts tasks on a thread pool and reports which are running (for the progress bar)."""

    busy_changed = Signal(str, bool)   # label of the newest running task, whether any runs

    def __init__(self, parent: QObject | None = None, max_threads: int = 4) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._running: list[Task] = []
        self.inbox = UiInbox(self)

    def start(self, label: str, fn: Callable[..., Any], *args: Any,
              on_done: Callable[[Any], None] | None = None,
              on_error: Callable[[str], None] | None = None, keeps_session: bool = False,
              **kwargs: Any) -> Task:
        task = Task(label, fn, *args, inbox=self.inbox, **kwargs)
        task.keeps_session = keeps_session
        if on_done:
            task.signals.finished.connect(on_done)
        if on_error:
            task.signals.failed.connect(on_error)
        task.signals.done.connect(lambda t=task: self._forget(t))
        self._running.append(task)
        emit(self.busy_changed, label, True)
        self.pool.start(task)
        return task

    def running(self) -> list[Task]:
        return list(self._running)

    def session_work(self) -> bool:
        """Whether a running task still writes through the user's session (see Task)."""
        return any(t.keeps_session for t in self._running)

    def cancel_all(self) -> None:
        for task in self._running:
            task.token.cancel()

    def wait(self, msecs: int = 30000) -> bool:
        done = self.pool.waitForDone(msecs)
        self.inbox.drain()       # deliver the results of what just finished
        return done

    def _forget(self, task: Task) -> None:
        if task in self._running:
            self._running.remove(task)
        label = self._running[-1].label if self._running else ""
        emit(self.busy_changed, label, bool(self._running))
