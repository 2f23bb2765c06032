"""Voice activity and window cutting on real speech, silence and synthetic noise."""

from __future__ import annotations

import numpy as np
import pytest

from localscribe.capture.decode import decode_file
from localscribe.capture.vad import FRAME, SAMPLE_RATE, speech_flags
from localscribe.capture.windows import CutConfig, WindowCutter
from tests.support.speech import librivox_clips

RNG = np.random.default_rng(7)


def _pink(n: int) -> np.ndarray:
    spec = np.fft.rfft(RNG.standard_normal(n))
    f = np.arange(len(spec), dtype=float)
    f[0] = 1.0
    x = np.fft.irfft(spec / np.sqrt(f), n)
    return (0.2 * x / np.max(np.abs(x))).astype(np.float32)


def _brown(n: int) -> np.ndarray:
    x = np.cumsum(RNG.standard_normal(n))
    x -= np.convolve(x, np.ones(801) / 801, "same")
    return (0.2 * x / np.max(np.abs(x))).astype(np.float32)


@pytest.fixture(scope="module")
def clips():
    return [decode_file(p) for p, _ in librivox_clips()]


def test_speech_is_found_in_every_clip(clips):
    for x in clips:
        flags = speech_flags(x)
        assert 0.3 < flags.mean() <= 1.0


@pytest.mark.parametrize("make", [
    lambda n: np.zeros(n, np.float32),
    lambda n: (0.05 * RNG.standard_normal(n)).astype(np.float32),
    _pink, _brown,
    lambda n: (0.3 * np.sin(2 * np.pi * 50 * np.arange(n) / SAMPLE_RATE)).astype(np.float32),
], ids=["silence", "white", "pink", "brown", "mains-hum"])
def test_no_speech_in_silence_or_steady_noise(make):
    assert speech_flags(make(20 * SAMPLE_RATE)).sum() == 0
    # The same noise starting suddenly after silence: at most a moment is taken for speech.
    sudden = np.concatenate([np.zeros(2 * SAMPLE_RATE, np.float32), make(20 * SAMPLE_RATE)])
    assert speech_flags(sudden).sum() * FRAME / SAMPLE_RATE <= 0.5


@pytest.mark.parametrize("block", [7777, 10**9], ids=["odd-blocks", "one-block"])
def test_windows_fall_on_the_speech_and_never_exceed_30s(clips, block):
    """Speech at known places in a long quiet stretch, pushed in odd-sized blocks or at once."""
    noise = lambda s: (0.002 * RNG.standard_normal(int(s * SAMPLE_RATE))).astype(np.float32)  # noqa: E731
    placed, parts, t = [], [], 0.0
    for gap, clip in zip([3.0, 40.0, 12.0, 1.0, 0.6], clips):
        parts.append(noise(gap))
        t += gap
        placed.append((t, t + len(clip) / SAMPLE_RATE))
        parts.append(clip)
        t += len(clip) / SAMPLE_RATE
    parts.append(noise(5.0))
    audio = np.concatenate(parts)
    cutter = WindowCutter(CutConfig())
    windows = []
    for i in range(0, len(audio), block):
        windows += cutter.push(audio[i:i + block])
    windows += cutter.flush()
    assert windows
    assert all(w.duration <= 30.0 for w in windows)
    assert all(len(w.speech) == len(w.samples) // FRAME for w in windows)
    kept = sum(w.duration for w in windows)
    assert kept < len(audio) / SAMPLE_RATE - 50          # the long quiet stretch was not kept
    for a, b in placed:                                  # every clip lies inside some window
        covered = sum(max(0.0, min(b, w.start + w.duration) - max(a, w.start)) for w in windows)
        assert covered >= 0.9 * (b - a), (a, b)
    for w in windows:                                    # windows hold what was there
        i = int(round(w.start * SAMPLE_RATE))
        assert np.array_equal(audio[i:i + len(w.samples)], w.samples)


@pytest.mark.parametrize("block", [16000, 10**9], ids=["1s-blocks", "one-block"])
def test_continuous_speech_is_force_cut_below_30s(clips, block):
    audio = np.concatenate(clips * 3)                    # ~70 s with only short pauses
    cutter = WindowCutter(CutConfig(pause_s=5.0, long_pause_s=5.0))   # no pause long enough
    windows = []
    for i in range(0, len(audio), block):
        windows += cutter.push(audio[i:i + block])
    windows += cutter.flush()
    assert len(windows) >= 3
    assert all(w.duration <= 28.0 + 1e-6 for w in windows)
    total = sum(len(w.samples) for w in windows)
    assert total >= 0.95 * len(audio)
