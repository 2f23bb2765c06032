"""Work-arounds for PySide6 6.12.0 reference-count bugs, found while testing this window.

- `Signal.emit()` returns True without taking a reference, so every emit from Python drops
  one reference to True; after some thousands of emits the interpreter aborts
  ("bool_dealloc"). `emit()` below gives the reference back when (and only when) the
  installed PySide6 has the bug, measured once at import.
- `QCoreApplication.processEvents()` drops a reference to None the same way: never call it
  from this package (use an event loop with a timer instead).
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal


class _Probe(QObject):
    fired = Signal()


def _emit_steals_true() -> bool:
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.fired.emit()
    return sys.getrefcount(True) < before


_COMPENSATE = _emit_steals_true()
_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


def emit(signal: Any, *args: Any) -> None:
    """signal.emit(*args), minus the reference leak of PySide6 6.12.0."""
    result = signal.emit(*args)
    if _COMPENSATE and result is True:
        _incref(True)
