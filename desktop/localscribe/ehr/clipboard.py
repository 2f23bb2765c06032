"""Clipboard connector: the signed note as plain text on the system clipboard, optionally
cleared again after a while (only if the clipboard still holds our text, so we never wipe
something the user copied since).

The core never imports Qt. The clipboard itself is a small backend object:
``set_text(str)``, ``get_text() -> str`` and ``schedule(seconds, fn)``. The desktop UI passes
``localscribe.ehr.clipboard_qt.QtClipboardBackend``; headless use (CLI) gets
``CommandClipboardBackend`` over ``wl-copy``/``wl-paste`` (Wayland) or ``xclip`` (X11).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from typing import Callable

from localscribe.domain import PushReceipt, SignedNote
from localscribe.ehr.protocol import BaseConnector, CheckResult, DeliveryError, Setting


class ClipboardUnavailable(DeliveryError):
    def __init__(self, message: str):
        super().__init__(message, retryable=False)


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


class ClipboardConnector(BaseConnector):
    kind = "clipboard"
    title = "Copy the signed note to the clipboard as plain text"
    settings = (
        Setting("auto_clear_seconds", "int", default=0,
                help="clear the clipboard this many seconds after copying (0: never)"),
    )

    def _backend(self):
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

    def _copy(self, note: SignedNote) -> PushReceipt:
        backend = self._backend()
        text = note.text
        try:
            backend.set_text(text)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ClipboardUnavailable(f"copying to the clipboard failed: {type(exc).__name__}")
        seconds = int(self.config.get("auto_clear_seconds", 0) or 0)
        if seconds > 0:
            backend.schedule(seconds, lambda: self._clear_if_ours(backend, text))
        detail = f"copied; clears in {seconds} s" if seconds > 0 else "copied"
        return self.receipt(note, detail=detail)

    @staticmethod
    def _clear_if_ours(backend, text: str) -> None:
        try:
            if backend.get_text() == text:
                backend.set_text("")
        except (OSError, subprocess.SubprocessError):
            pass   # the session may be gone; nothing left to protect
