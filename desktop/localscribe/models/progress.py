"""Progress lines on stderr: a step per line, and a byte counter updated in place on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self._tty = getattr(self.stream, "isatty", lambda: False)()

    def step(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.stream, flush=True)

    def bytes(self, label: str, total: int) -> ByteCounter:
        return ByteCounter(self, label, total)


class ByteCounter:
    """Callable taking a chunk length; prints at most every 10% (or 0.5 s on a terminal)."""

    def __init__(self, progress: Progress, label: str, total: int):
        self.p, self.label, self.total = progress, label, max(total, 1)
        self.done = 0
        self._last_pct = -10
        self._last_t = 0.0

    def __call__(self, n: int) -> None:
        self.done += n
        if self.p.quiet:
            return
        pct = min(100, self.done * 100 // self.total)
        now = time.monotonic()
        if self.p._tty:
            if now - self._last_t > 0.5 or pct == 100:
                self._last_t = now
                end = "\n" if pct == 100 else ""
                print(f"\r  {self.label}: {pct:3d}% of {self.total / 1e6:.0f} MB", end=end,
                      file=self.p.stream, flush=True)
        elif pct >= self._last_pct + 10:
            self._last_pct = pct - pct % 10
            print(f"  {self.label}: {pct}% of {self.total / 1e6:.0f} MB", file=self.p.stream, flush=True)
