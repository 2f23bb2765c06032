"""FileSource: a recording handed out as timed blocks, optionally at real-time pace."""

from __future__ import annotations

import time

import numpy as np
import soundfile as sf

from localscribe.capture.sources import FileSource


def test_blocks_are_consecutive_and_timed(tmp_path):
    x = np.sin(np.arange(44100 * 3) / 10).astype(np.float32) * 0.3
    path = tmp_path / "tone.flac"
    sf.write(path, np.stack([x, -x], axis=1), 44100)
    blocks = list(FileSource(path, block_seconds=0.25, keep_channels=True))
    t = 0.0
    for b in blocks:
        assert abs(b.start - t) < 1e-9
        assert b.channels is not None and b.channels.shape == (len(b.samples), 2)
        t += b.duration
    assert abs(t - 3.0) < 0.01
    mono = list(FileSource(path, block_seconds=0.25))
    assert all(b.channels is None for b in mono)


def test_realtime_pacing(tmp_path):
    path = tmp_path / "two_seconds.wav"
    sf.write(path, np.zeros(32000, np.float32), 16000)
    began = time.monotonic()
    blocks = list(FileSource(path, block_seconds=0.5, realtime=True))
    elapsed = time.monotonic() - began
    assert len(blocks) == 4
    assert 1.4 <= elapsed < 3.0        # the last block starts at 1.5 s
