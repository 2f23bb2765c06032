"""How the egress guard reaches ``multiprocessing`` spawn children and sees native calls.

Kept apart from ``egress`` so the hook module stays small; both run at start-up, so stdlib only.
"""

from __future__ import annotations

from pathlib import Path
from collections.abc import Callable, Iterable
from typing import Any


def guard_spawn_children(current: Callable[[], tuple[list[str], str | None]]) -> None:
    """Make ``multiprocessing``'s spawn command line install the guard before ``spawn_main``,
    i.e. before the child unpickles or imports anything of the parent's. ``current()`` gives
    the allowlist and block log to hand over at the moment a child starts."""
    import multiprocessing.spawn as spawn

    original = spawn.get_command_line
    if original.__module__ == __name__:   # already wrapped (a second start-up in one process)
        return
    root = str(Path(__file__).resolve().parents[2])

    def get_command_line(**kwds: Any) -> list[str]:
        cmd = list(original(**kwds))
        if "-c" in cmd:
            i = cmd.index("-c") + 1
            allowlist, log = current()
            # The child fails (exit 1) rather than run unguarded if the import fails.
            cmd[i] = (f"import sys as _s; _s.path.insert(0, {root!r}); "
                      "import localscribe.security.egress as _g; "
                      f"_s.path.remove({root!r}); _g._boot_child({allowlist!r}, {log!r}); "
                      "del _s, _g; " + cmd[i])
        return cmd

    spawn.get_command_line = get_command_line


def native_addresses(names: Iterable[str]) -> frozenset[int]:
    """Where libc's network entry points live, to recognise a ctypes call to one of them."""
    try:
        import ctypes
        libc = ctypes.CDLL(None)
    except (ImportError, OSError):
        return frozenset()
    found = set()
    for name in names:
        try:
            found.add(ctypes.cast(getattr(libc, name), ctypes.c_void_p).value)
        except AttributeError:
            continue
    return frozenset(a for a in found if a)
