"""Where a live visit keeps its audio, transcript and draft."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from localscribe.domain import Draft, Transcript

if TYPE_CHECKING:   # the vault is imported where it is used; the type is all this module needs
    from localscribe.vault.audio_spool import AudioSpool
    from localscribe.vault.session import Session
    from localscribe.vault.visit_lease import VisitLease


class VaultVisitStore:
    """The app's store: the encrypted vault, through an unlocked session's permission checks.

    While a visit runs it holds the encounter's visit lease (``vault.recovery``), so that if
    this process dies the next unlock finds the encounter interrupted rather than "recording".
    ``record_audio=False``: the audio is in the spool already (``scribe --resume``).
    """

    def __init__(self, session: Session, encounter_id: str, *, record_audio: bool = True):
        self.session = session
        self.eid = encounter_id
        self.record_audio = record_audio
        self._spool: AudioSpool | None = None
        self._lease: VisitLease | None = None

    def begin(self) -> None:
        from localscribe.vault.visit_lease import VisitLease
        self._lease = VisitLease(self.session.vault.paths.data_dir, self.eid).acquire()

    def finished(self) -> None:
        if self._lease is not None:
            self._lease.release()
            self._lease = None

    def write_audio(self, mono: np.ndarray) -> None:
        if not self.record_audio:
            return
        if self._spool is None:
            self._spool = self.session.open_audio_spool(self.eid)   # audits recording.start
        self._spool.write(mono)

    def close_audio(self) -> None:
        if self._spool is not None:
            self._spool.close()                                     # audits recording.stop
            self._spool = None

    def save_transcript(self, transcript: Transcript) -> None:
        self.session.save_transcript(self.eid, transcript)

    def save_draft(self, draft: Draft) -> None:
        self.session.record_generation(self.eid, draft.model_sha256, draft.template,
                                       draft.prompt_sha256)
        self.session.save_draft(self.eid, draft)

    def set_status(self, status: str) -> None:
        self.session.set_status(self.eid, status)


@dataclass
class MemoryVisitStore:
    """For the demo and benchmarks: nothing is written anywhere (no PHI on disk at all)."""

    audio_blocks: list[np.ndarray] = field(default_factory=list)
    transcript: Transcript | None = None
    draft: Draft | None = None
    statuses: list[str] = field(default_factory=list)
    keep_audio: bool = False

    def write_audio(self, mono: np.ndarray) -> None:
        if self.keep_audio:
            self.audio_blocks.append(mono.copy())

    def close_audio(self) -> None:
        pass

    def save_transcript(self, transcript: Transcript) -> None:
        self.transcript = transcript

    def save_draft(self, draft: Draft) -> None:
        self.draft = draft

    def set_status(self, status: str) -> None:
        self.statuses.append(status)
