"""Encrypted audio chunk files: what makes a crash mid-visit lose at most about a second.

``AudioSpool.write`` buffers at most ``max_buffer_s`` of audio (by sample count and by wall
clock); each chunk is sealed (AES-GCM, with the encounter id, chunk index and first sample's
offset in the associated data), written to a temporary name, fsynced, renamed into place and the
directory fsynced. A chunk is therefore either whole on disk or absent, never torn; a renamed or
reordered chunk fails to open, and a missing one shows up as a gap in the offsets.

Samples are stored as 16-bit PCM (what a microphone delivers; half the size of float32) and come
back as float32 in [-1, 1]. Callers (the capture loop) write every few hundred milliseconds; the
spool needs no thread of its own.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from collections.abc import Callable

import numpy as np

from localscribe.fsutil import fsync_dir as _fsync_dir
from localscribe.vault.crypto import Cipher, TamperError

SAMPLE_RATE = 16_000
_CHUNK_NAME = re.compile(r"^(\d{8})-(\d{12})\.lsa$")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def encounter_dir(audio_root: Path, encounter_id: str) -> Path:
    if not _ID.match(encounter_id):
        raise ValueError(f"invalid encounter id {encounter_id!r}")
    return audio_root / encounter_id


def _aad_field(index: int, offset: int) -> str:
    return f"chunk:{index}:{offset}"


def scan_chunks(directory: Path) -> list[tuple[int, int, Path]]:
    """(index, sample offset, path) of every complete chunk, by index."""
    if not directory.is_dir():
        return []
    found = []
    for p in directory.iterdir():
        m = _CHUNK_NAME.match(p.name)
        if m:
            found.append((int(m.group(1)), int(m.group(2)), p))
    return sorted(found)


class AudioSpool:
    """Append-only encrypted recording for one encounter; resumes after the last chunk on disk."""

    def __init__(self, audio_root: Path, cipher: Cipher, encounter_id: str,
                 max_buffer_s: float = 1.0, on_close: Callable[[AudioSpool], None] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.encounter_id = encounter_id
        self.directory = encounter_dir(audio_root, encounter_id)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        for leftover in self.directory.glob(".*.tmp"):   # a chunk torn by a crash: never renamed
            leftover.unlink(missing_ok=True)
        self._cipher = cipher
        self._max_samples = max(1, int(round(max_buffer_s * SAMPLE_RATE)))
        self._max_age = max_buffer_s
        self._clock = clock
        self._on_close = on_close
        self._buffer: list[np.ndarray] = []
        self._buffered = 0
        self._first_at = 0.0
        self.closed = False
        chunks = scan_chunks(self.directory)
        self._index = chunks[-1][0] + 1 if chunks else 0
        self._offset = (chunks[-1][1] + self._chunk_samples(chunks[-1][2])) if chunks else 0
        self.started_at_sample = self._offset

    @staticmethod
    def _chunk_samples(path: Path) -> int:
        # blob = 1 format byte + 12 nonce + 2 bytes per sample + 16 tag
        return (path.stat().st_size - 29) // 2

    @property
    def samples_written(self) -> int:
        """Samples durably on disk (this and earlier sessions of the same encounter)."""
        return self._offset

    @property
    def chunks_written(self) -> int:
        return self._index

    def write(self, samples: np.ndarray) -> None:
        if self.closed:
            raise ValueError("audio spool is closed")
        data = np.asarray(samples)
        if data.ndim == 2 and 1 in data.shape:
            data = data.reshape(-1)
        if data.ndim != 1:
            raise ValueError(f"expected mono audio (1-D samples), got shape {data.shape}")
        if data.size == 0:
            return
        if not self._buffer:
            self._first_at = self._clock()
        self._buffer.append(np.nan_to_num(data.astype(np.float32, copy=False)))
        self._buffered += data.size
        self._drain(force=False)

    def flush(self) -> None:
        self._drain(force=True)

    def close(self) -> int:
        """Flush and close; returns the total samples on disk for this encounter."""
        if self.closed:
            return self._offset
        self.flush()
        self.closed = True
        if self._on_close:
            self._on_close(self)
        return self._offset

    def __enter__(self) -> AudioSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _drain(self, force: bool) -> None:
        if not self._buffered:
            return
        pending = np.concatenate(self._buffer)
        start = 0
        while pending.size - start >= self._max_samples:
            self._write_chunk(pending[start:start + self._max_samples])
            start += self._max_samples
        rest = pending[start:]
        if rest.size and (force or self._clock() - self._first_at >= self._max_age):
            self._write_chunk(rest)
            rest = rest[:0]
        self._buffer = [rest] if rest.size else []
        self._buffered = int(rest.size)
        if rest.size and start:
            self._first_at = self._clock()

    def _write_chunk(self, samples: np.ndarray) -> None:
        pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()
        blob = self._cipher.seal("audio", self.encounter_id,
                                 _aad_field(self._index, self._offset), pcm)
        name = f"{self._index:08d}-{self._offset:012d}.lsa"
        tmp = self.directory / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, blob)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.directory / name)
        _fsync_dir(self.directory)
        self._index += 1
        self._offset += samples.size


def read_audio(audio_root: Path, cipher: Cipher, encounter_id: str,
               expected_samples: int | None = None) -> np.ndarray:
    """Reassemble an encounter's audio as float32; raises TamperError on a gap or a bad chunk."""
    chunks = scan_chunks(encounter_dir(audio_root, encounter_id))
    parts, offset = [], 0
    for expected_index, (index, start, path) in enumerate(chunks):
        if index != expected_index or start != offset:
            raise TamperError(f"audio for encounter {encounter_id}: chunk {expected_index} "
                              f"(sample {offset}) is missing or out of place")
        pcm = cipher.open("audio", encounter_id, _aad_field(index, start), path.read_bytes())
        parts.append(np.frombuffer(pcm, dtype="<i2"))
        offset += parts[-1].size
    if expected_samples is not None and offset < expected_samples:
        raise TamperError(f"audio for encounter {encounter_id}: {expected_samples - offset} "
                          "samples are missing from the end")
    if not parts:
        return np.zeros(0, dtype=np.float32)
    return (np.concatenate(parts).astype(np.float32) / 32767.0)


def purge_audio(audio_root: Path, encounter_id: str) -> int:
    """Delete an encounter's chunk files; returns how many were removed."""
    directory = encounter_dir(audio_root, encounter_id)
    if not directory.is_dir():
        return 0
    removed = 0
    for p in directory.iterdir():
        p.unlink()
        removed += 1
    directory.rmdir()
    _fsync_dir(audio_root)
    return removed
