"""Clipboard connector: the signed note as plain text on the system clipboard, cleared again
after a while (60 s by default), but only if the clipboard still holds our text, so we never
wipe something the user copied since. :func:`copy_with_auto_clear` is the one home of that rule;
the window's Copy button and the connector both use it.

The core never imports Qt. The clipboard itself is a small backend object:
``set_text(str)``, ``get_text() -> str`` and ``schedule(seconds, fn)``. The desktop UI passes
``localscribe.ehr.clipboard_qt.QtClipboardBackend``; headless use (CLI) gets
``CommandClipboardBackend`` over ``wl-copy``/``wl-paste`` (Wayland) or ``xclip`` (X11).

A CLI command exits right after copying, and a timer thread would die with it. So
``CommandClipboardBackend`` clears from a detached process (its own session, no terminal) that
outlives the command; it is given only the SHA-256 of the text, never the text.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from typing import Any
from collections.abc import Callable

from localscribe.domain import PushReceipt, SignedNote
from localscribe.ehr.protocol import BaseConnector, CheckResult, DeliveryError, Setting


class ClipboardUnavailable(DeliveryError):
    def __init__(self, message: str):
        super().__init__(message, retryable=False)


DEFAULT_AUTO_CLEAR_S = 60


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def clear_if_ours(backend: Any, text_digest: str) -> bool:
    """Empty the clipboard if it still holds the text we put there; True if it did."""
    try:
        if digest(backend.get_text()) == text_digest:
            backend.set_text("")
            return True
    except (OSError, subprocess.SubprocessError):
        pass   # the session may be gone; nothing left to protect
    return False


def copy_with_auto_clear(backend: Any, text: str, seconds: int) -> str:
    """Put ``text`` on the clipboard and arrange for it to be cleared after ``seconds`` (0:
    never). Returns a sentence for the user saying what will happen."""
    backend.set_text(text)
    if seconds <= 0:
        return "copied; the clipboard is not cleared automatically"
    mark = digest(text)
    detached = getattr(backend, "schedule_clear", None)
    if callable(detached):
        detached(seconds, mark)
        return f"copied; clears in {seconds} s (a background clearer outlives this command)"
    backend.schedule(seconds, lambda: clear_if_ours(backend, mark))
    return f"copied; clears in {seconds} s"


class CommandClipboardBackend:
    """The system clipboard through wl-clipboard or xclip, whichever fits the session."""

    def __init__(self, env: dict[str, str] | None = None):
        self.env = dict(os.environ if env is None else env)
        self.copy_cmd, self.paste_cmd = self._pick()

    def _pick(self) -> tuple[list[str], list[str]]:
        if self.env.get("WAYLAND_DISPLAY") and shutil.which("wl-copy") and shutil.which("wl-paste"):
            return ["wl-copy", "--type", "text/plain;charset=utf-8"], ["wl-paste", "--no-newline"]
        if self.env.get("DISPLAY") and shutil.which("xclip"):
            return (["xclip", "-selection", "clipboard", "-in"],
                    ["xclip", "-selection", "clipboard", "-out"])
        raise ClipboardUnavailable(
            "no clipboard available: run inside a desktop session with wl-clipboard (Wayland) "
            "or xclip (X11) installed, or use the desktop app")

    def set_text(self, text: str) -> None:
        # xclip/wl-copy fork a process that owns the selection; don't wait on its stdout.
        subprocess.run(self.copy_cmd, input=text.encode("utf-8"), env=self.env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)

    def get_text(self) -> str:
        out = subprocess.run(self.paste_cmd, env=self.env, capture_output=True, timeout=10)
        return out.stdout.decode("utf-8", "replace") if out.returncode == 0 else ""

    def schedule(self, seconds: float, fn: Callable[[], None]) -> None:
        timer = threading.Timer(seconds, fn)
        timer.daemon = True
        timer.start()

    def schedule_clear(self, seconds: float, text_digest: str) -> None:
        """Clear after ``seconds`` from a detached process (see the module docstring)."""
        child = subprocess.Popen(
            [sys.executable, "-c", "from localscribe.ehr.clipboard import _clearer_main; "
             "raise SystemExit(_clearer_main())"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, **self.env}, start_new_session=True, close_fds=True)
        assert child.stdin is not None          # stdin=PIPE
        with child.stdin:
            # An absolute time: the child's start-up (slow on a loaded machine) does not
            # postpone the clearing.
            child.stdin.write(json.dumps({"at": time.time() + seconds, "digest": text_digest,
                                          "env": self.env}).encode("utf-8"))


def _clearer_main() -> int:
    """The detached clearer: wait, then clear if the clipboard still holds our text."""
    job = json.loads(sys.stdin.buffer.read() or b"{}")
    time.sleep(max(0.0, float(job["at"]) - time.time()))
    try:
        backend = CommandClipboardBackend(env=job["env"])
    except ClipboardUnavailable:
        return 1
    return 0 if clear_if_ours(backend, job["digest"]) else 2


class ClipboardConnector(BaseConnector):
    kind = "clipboard"
    title = "Copy the signed note to the clipboard as plain text"
    settings = (
        Setting("auto_clear_seconds", "int", default=DEFAULT_AUTO_CLEAR_S,
                help="clear the clipboard this many seconds after copying, if it still holds "
                     "the note (0: never)"),
    )

    def _backend(self) -> Any:
        if self.context.clipboard is None:
            self.context.clipboard = CommandClipboardBackend()
        return self.context.clipboard

    def check(self) -> CheckResult:
        try:
            backend = self._backend()
        except ClipboardUnavailable as exc:
            return CheckResult(False, str(exc))
        return CheckResult(True, f"clipboard ready ({type(backend).__name__})")

    def push(self, note: SignedNote) -> PushReceipt:
        return self._copy(note)

    def amend(self, note: SignedNote, replaces_remote_id: str) -> PushReceipt:
        return self._copy(note)

    @property
    def auto_clear_seconds(self) -> int:
        return int(self.config.get("auto_clear_seconds", DEFAULT_AUTO_CLEAR_S) or 0)

    def _copy(self, note: SignedNote) -> PushReceipt:
        backend = self._backend()
        try:
            detail = copy_with_auto_clear(backend, note.text, self.auto_clear_seconds)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ClipboardUnavailable(f"copying to the clipboard failed: {type(exc).__name__}") from exc
        return self.receipt(note, detail=detail)
