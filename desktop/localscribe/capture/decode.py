"""Read any WAV/FLAC/OGG file as 16 kHz mono float32, whole or block by block.

Block-wise decoding keeps memory bounded for hour-long recordings: soundfile reads a
block, soxr's streaming resampler carries its filter state across block edges.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Iterator

import numpy as np
import soundfile as sf
import soxr

TARGET_RATE = 16_000
# A visit longer than this is not a visit; it would take hours of CPU and memory to process.
MAX_AUDIO_SECONDS = 4 * 3600


class AudioDecodeError(ValueError):
    """The file cannot be used as audio; the message says why in plain words."""


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    samplerate: int
    channels: int
    frames: int
    format: str
    warning: str | None = None     # e.g. a truncated WAV: usable, but the user must know

    @property
    def duration(self) -> float:
        return self.frames / self.samplerate if self.samplerate else 0.0


def audio_info(path: str | Path) -> AudioInfo:
    p = Path(path)
    if not p.exists():
        raise AudioDecodeError(f"{p}: no such file")
    if p.is_dir():
        raise AudioDecodeError(f"{p}: is a directory, not an audio file")
    if p.stat().st_size == 0:
        raise AudioDecodeError(f"{p}: the file is empty (0 bytes)")
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioDecodeError(
            f"{p}: not a readable audio file (WAV, FLAC or OGG expected): {exc}") from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioDecodeError(f"{p}: the file holds no audio samples")
    seconds = info.frames / info.samplerate
    if seconds > MAX_AUDIO_SECONDS:
        raise AudioDecodeError(f"{p}: the recording is {seconds / 3600:.1f} hours long; "
                               f"LocalScribe takes up to {MAX_AUDIO_SECONDS // 3600} hours "
                               "(split the file)")
    warning = _wav_truncation(p, info) if info.format == "WAV" else None
    return AudioInfo(p, int(info.samplerate), int(info.channels), int(info.frames), info.format,
                     warning)


def _wav_truncation(p: Path, info: Any) -> str | None:
    """libsndfile quietly reads what is there when a WAV's data chunk promises more bytes than
    the file holds (a copy or a recorder cut short); say how much is missing."""
    try:
        with open(p, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            size = p.stat().st_size
            pos = 12
            while pos + 8 <= size:
                f.seek(pos)
                cid, clen = struct.unpack("<4sI", f.read(8))
                if cid == b"data":
                    if clen in (0, 0xFFFFFFFF):     # streaming writers: length unknown
                        return None
                    missing = clen - (size - pos - 8)
                    if missing <= 0:
                        return None
                    bytes_per_frame = max(1, (size - pos - 8) // max(1, info.frames))
                    promised = clen / bytes_per_frame / info.samplerate
                    held = info.frames / info.samplerate
                    return (f"{p.name} is cut short: its header promises {promised:.1f} s of "
                            f"audio but the file holds {held:.1f} s; only that part is used")
                pos += 8 + clen + (clen & 1)
    except (OSError, struct.error):
        return None
    return None


def to_mono(block: np.ndarray) -> np.ndarray:
    """Average channels; (n,) stays (n,), (n, c) becomes (n,)."""
    if block.ndim == 1:
        return block.astype(np.float32, copy=False)
    return np.asarray(block.mean(axis=1, dtype=np.float32))


def resample(block: np.ndarray, rate: int, target: int = TARGET_RATE) -> np.ndarray:
    if rate == target:
        return np.ascontiguousarray(block, dtype=np.float32)
    return np.asarray(soxr.resample(block.astype(np.float32, copy=False), rate, target,
                                    quality="HQ"))


def iter_blocks(path: str | Path, block_seconds: float = 1.0, *,
                keep_channels: bool = False) -> Iterator[np.ndarray]:
    """Yield consecutive 16 kHz float32 blocks: mono (n,), or (n, c) when keep_channels."""
    info = audio_info(path)
    frames_per_block = max(1, int(info.samplerate * block_seconds))
    stream = None
    if info.samplerate != TARGET_RATE:
        n_ch = info.channels if keep_channels else 1
        stream = soxr.ResampleStream(info.samplerate, TARGET_RATE, n_ch, dtype="float32",
                                     quality="HQ")
    try:
        with sf.SoundFile(str(info.path)) as f:
            while True:
                try:
                    raw = f.read(frames_per_block, dtype="float32", always_2d=True)
                except (sf.LibsndfileError, RuntimeError) as exc:
                    raise AudioDecodeError(f"{info.path}: the audio data is damaged: {exc}") from None
                last = len(raw) < frames_per_block
                block = raw if keep_channels else to_mono(raw)
                if stream is not None:
                    block = stream.resample_chunk(np.ascontiguousarray(block), last=last)
                if len(block):
                    yield np.ascontiguousarray(block, dtype=np.float32)
                if last:
                    return
    except sf.LibsndfileError as exc:
        raise AudioDecodeError(f"{info.path}: cannot open audio: {exc}") from None


def decode_file(path: str | Path, *, keep_channels: bool = False) -> np.ndarray:
    """The whole file at 16 kHz as float32 (mono unless keep_channels)."""
    blocks = list(iter_blocks(path, block_seconds=30.0, keep_channels=keep_channels))
    if not blocks:
        raise AudioDecodeError(f"{path}: the file holds no audio samples")
    return np.concatenate(blocks, axis=0)
