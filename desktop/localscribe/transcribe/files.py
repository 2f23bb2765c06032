"""Transcribe a recording on disk: streamed from the file in blocks, so memory stays flat
however long it is, through the same windowing and filtering as a live visit."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable, Mapping

from localscribe.capture.decode import audio_info, iter_blocks
from localscribe.domain import Segment, Transcript
from localscribe.transcribe.streaming import StreamingTranscriber, StreamStats


class NoSpeechError(ValueError):
    """The recording holds no speech (silence or noise only), so there is nothing to transcribe."""


@dataclass
class FileTranscription:
    transcript: Transcript
    audio_seconds: float
    elapsed_seconds: float
    stats: StreamStats = field(default_factory=StreamStats)

    @property
    def rtf(self) -> float:
        return self.elapsed_seconds / self.audio_seconds if self.audio_seconds else 0.0


def transcribe_file(path: str | Path, model_file: Any, *, n_threads: int | None = None,
                    channel_map: Mapping[int, str] | None = None, block_seconds: float = 5.0,
                    on_segment: Callable[[Segment], None] | None = None,
                    require_speech: bool = True) -> FileTranscription:
    """Raises capture.decode.AudioDecodeError for unusable files and NoSpeechError when
    nothing was said (unless require_speech is False)."""
    info = audio_info(path)          # fail on a bad file before starting the engine
    started = time.perf_counter()
    keep_channels = bool(channel_map) and info.channels > 1
    with StreamingTranscriber(model_file, channel_map=channel_map if keep_channels else None,
                              n_threads=n_threads) as st:
        for seg in st.transcribe_blocks(iter_blocks(path, block_seconds,
                                                    keep_channels=keep_channels)):
            if on_segment:
                on_segment(seg)
        segments, stats = list(st.segments), st.stats
    elapsed = time.perf_counter() - started
    if require_speech and not segments:
        if stats.speech_seconds == 0:
            raise NoSpeechError(f"{info.path}: no speech found "
                                f"({info.duration:.1f} s of silence or background noise)")
        raise NoSpeechError(f"{info.path}: no words could be recognised in "
                            f"{stats.speech_seconds:.1f} s of speech-like sound")
    return FileTranscription(Transcript(segments=segments), stats.audio_seconds, elapsed, stats)
