"""One way to run an engine (whisper.cpp, llama.cpp) in its own process.

Both engine workers use it: a ``spawn`` child (no fork: native threads and Qt do not survive
it) with a request queue and an event queue, a start-up handshake, liveness checks that turn a
dead child into ``WorkerCrashed`` instead of a hang, and a clean stop.

A worker must also die with its parent: a SIGKILLed app must not leave 450 MB of models
running. In the child, on Linux, ``PR_SET_PDEATHSIG`` asks the kernel for SIGKILL when the
parent goes; it is only armed when the parent spawned from its main thread (the signal follows
the spawning *thread*). A watcher thread covers the rest and other systems: it blocks on the
parent's pipe (``multiprocessing.parent_process().sentinel``, readable once the parent is gone)
and also checks ``getppid()``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.queues import Queue
from typing import Any, cast

_POLL_S = 0.1
_WATCH_S = 0.5
_PR_SET_PDEATHSIG = 1
_READY, _FAILED = "__ready__", "__failed__"
NO_MESSAGE = object()     # stop() without a close message (a worker's may well be None)
# One message from the child: its kind first, then what that kind carries.
Event = tuple[Any, ...]


class EngineProcessError(RuntimeError):
    """The engine process could not start, or did not answer in time."""


class WorkerCrashed(EngineProcessError):
    """The engine process ended while it was working (killed, out of memory, native crash)."""


def describe_exit(code: int | None) -> str:
    if code is None:
        return "is not responding"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed ({name})"
    return f"exited with status {code}"


# ---------------------------------------------------------------- child side

def _child_main(target: Callable[..., None], parent_pid: int, pdeathsig: bool, *args: Any) -> None:
    """Runs first in the child: egress guard, parent-death watch, then the engine's loop."""
    from localscribe.security.egress import install_guard

    install_guard()     # the spawn command line has installed it already; this states the rule
    watch_parent(parent_pid, pdeathsig)
    target(*args)


def watch_parent(parent_pid: int, pdeathsig: bool = True) -> None:
    """End this process when ``parent_pid`` ends (SIGKILL from the kernel, else a watcher)."""
    if pdeathsig and sys.platform.startswith("linux"):
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass            # the watcher below still covers it
    if os.getppid() != parent_pid:      # the parent died before the signal was armed
        os._exit(70)
    parent = mp.parent_process()
    sentinel = parent.sentinel if parent is not None else None

    def watch() -> None:
        from multiprocessing.connection import wait
        while True:
            if sentinel is not None:
                gone = bool(wait([sentinel], timeout=_WATCH_S))
            else:
                time.sleep(_WATCH_S)
                gone = False
            if gone or os.getppid() != parent_pid:
                os._exit(70)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def child_ready(events: Queue[Event], payload: Any = None) -> None:
    """Tell the parent the engine loaded (the handshake's good end)."""
    events.put((_READY, payload))


def child_failed(events: Queue[Event], message: str) -> None:
    """Tell the parent the engine could not start, with a message for the user."""
    events.put((_FAILED, message))


# ---------------------------------------------------------------- parent side

class EngineProcess:
    """Parent-side handle on one engine child. ``what`` names it in messages ("the speech
    engine"); ``crash_hint`` says what is safe after a crash."""

    def __init__(self, target: Callable[..., None], args: tuple[Any, ...], *, name: str, what: str,
                 crash_hint: str):
        self._ctx = mp.get_context("spawn")
        self.requests = self._ctx.Queue()
        self.events = self._ctx.Queue()
        main = threading.current_thread() is threading.main_thread()
        self._proc = self._ctx.Process(
            target=_child_main, name=name, daemon=True,
            args=(target, os.getpid(), main, *args, self.requests, self.events))
        self.what = what
        self.crash_hint = crash_hint

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    @property
    def exitcode(self) -> int | None:
        return self._proc.exitcode

    def is_alive(self) -> bool:
        return self._proc.is_alive()

    def start(self, timeout_s: float) -> Any:
        """Spawn the child and wait for its handshake; returns the ready payload."""
        self._proc.start()
        try:
            msg = self.next(timeout_s, "starting")
        except TimeoutError:
            self.stop()
            raise EngineProcessError(
                f"{self.what} did not start within {timeout_s:.0f} s") from None
        except WorkerCrashed:
            self.stop()
            raise
        if msg[0] == _READY:
            return msg[1]
        self.stop()
        raise EngineProcessError(f"{self.what} could not start: {msg[1]}")

    def put(self, msg: Any) -> None:
        if not self._proc.is_alive():
            raise WorkerCrashed(self.crash_message("waiting for work"))
        self.requests.put(msg)

    def check(self, doing: str = "working") -> None:
        """Raise WorkerCrashed now if the child has died, even with no job in flight."""
        if not self._proc.is_alive():
            raise WorkerCrashed(self.crash_message(doing))

    def next(self, timeout: float | None, doing: str) -> Event:
        """The child's next event. TimeoutError when none came in ``timeout`` (None: wait),
        WorkerCrashed when the child died without one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = _POLL_S if deadline is None else min(_POLL_S, deadline - time.monotonic())
            try:
                if wait <= 0:
                    return cast(Event, self.events.get_nowait())
                return cast(Event, self.events.get(timeout=wait))
            except queue.Empty:
                pass
            if not self._proc.is_alive():
                try:     # an answer may have landed just before the exit
                    return cast(Event, self.events.get(timeout=0.5))
                except queue.Empty:
                    raise WorkerCrashed(self.crash_message(doing)) from None
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError

    def crash_message(self, doing: str) -> str:
        what = self.what[:1].upper() + self.what[1:]
        return (f"{what} stopped unexpectedly while {doing} (its process "
                f"{describe_exit(self._proc.exitcode)}). {self.crash_hint}")

    def stop(self, close_msg: Any = NO_MESSAGE, timeout_s: float = 5.0) -> None:
        """Ask the child to end (``close_msg`` on its queue), then terminate, then kill."""
        if self._proc.is_alive() and close_msg is not NO_MESSAGE:
            try:
                self.requests.put(close_msg)
            except (ValueError, OSError):
                pass
            self._proc.join(timeout_s)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(timeout_s)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(timeout_s)
        for q in (self.requests, self.events):
            q.cancel_join_thread()
            q.close()
