"""Finding visits whose process died: nothing may stay "recording" forever.

A process working on an encounter (recording, transcribing, drafting) holds a *visit lease*:
an exclusive ``flock`` on ``<data dir>/visits/<encounter id>.lock``. The kernel drops the lock
when the process ends however it ends (kill -9 included), so at the next unlock an encounter in
an active status whose lease nobody holds was interrupted. It is marked ``interrupted`` (audio
and transcript kept, audited) and can be finished with ``localscribe scribe --resume``.

An encounter that was created but never recorded (status "recording", no audio on disk) is not
interrupted: the window creates encounters before the clinician presses Record.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from localscribe.vault import audio_spool
from localscribe.vault.encounters import ACTIVE_STATUSES, EncounterStatus

if TYPE_CHECKING:   # the session imports this module
    from localscribe.vault.session import Session

if sys.platform != "win32":   # Windows has no flock; recovery then relies on the status alone
    import fcntl


class VisitBusy(RuntimeError):
    """Another LocalScribe process is working on this encounter."""


def lease_path(data_dir: Path, eid: str) -> Path:
    audio_spool.encounter_dir(Path("."), eid)      # validates the id: no path tricks
    return Path(data_dir) / "visits" / f"{eid}.lock"


class VisitLease:
    """Held for as long as a process works on one encounter; released on close or death."""

    def __init__(self, data_dir: Path, eid: str):
        self.path = lease_path(data_dir, eid)
        self.eid = eid
        self._fd: int | None = None

    def acquire(self) -> VisitLease:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if sys.platform != "win32":
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise VisitBusy(f"encounter {self.eid} is being worked on by another LocalScribe "
                                "process; wait for it to finish") from None
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)         # closing drops the flock
            self._fd = None
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> VisitLease:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def lease_held(data_dir: Path, eid: str) -> bool:
    path = lease_path(data_dir, eid)
    if sys.platform == "win32" or not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def has_spooled_audio(audio_dir: Path, eid: str) -> bool:
    return bool(audio_spool.scan_chunks(audio_spool.encounter_dir(audio_dir, eid)))


def spooled_samples(audio_dir: Path, eid: str) -> int:
    """Samples on disk for ``eid``: after a kill -9 the stored total is stale, the spool not."""
    chunks = audio_spool.scan_chunks(audio_spool.encounter_dir(audio_dir, eid))
    if not chunks:
        return 0
    _, start, path = chunks[-1]
    return start + audio_spool.AudioSpool._chunk_samples(path)


def mark_interrupted(session: Session) -> list[str]:
    """Called at unlock: mark every orphaned active encounter ``interrupted``; returns their ids.

    A system action (no role check: an auditor's unlock finds them too), audited per encounter.
    Only ids, statuses and audio sizes are read; no PHI is opened.
    """
    store, paths = session._encounters, session.vault.paths
    rows = store.db.execute("SELECT id, status FROM encounters WHERE status IN "
                            f"({','.join('?' * len(ACTIVE_STATUSES))})", ACTIVE_STATUSES).fetchall()
    marked = []
    for eid, status in rows:
        if lease_held(paths.data_dir, eid):
            continue
        if status == EncounterStatus.RECORDING and not has_spooled_audio(paths.audio_dir, eid):
            continue                          # created, never recorded: waiting for Record
        store.set_status(eid, EncounterStatus.INTERRUPTED)
        session.audit("encounter.interrupted", eid, was=status)
        marked.append(eid)
    return marked
