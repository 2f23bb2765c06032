"""Voice-activity detection from energy and spectral shape, frame by frame, streaming.

Whisper invents text on silence and steady noise, and every call to it costs a full
30-second encoder pass, so we only hand it stretches that look like speech. A frame is
speech when it stands clearly above a tracked noise floor, lies in the speech band, and
is not spectrally flat (white-ish noise is flat, voiced speech is peaky). Onset needs a
few speech frames in a row; a hangover keeps short gaps between words inside speech.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16_000
FRAME = 480            # 30 ms
_NFFT = 512
_FREQS = np.fft.rfftfreq(_NFFT, 1.0 / SAMPLE_RATE)
_BAND = (_FREQS >= 250) & (_FREQS <= 4000)
_WINDOW = np.hanning(FRAME).astype(np.float32)


@dataclass(frozen=True)
class VadConfig:
    margin_db: float = 10.0        # above the noise floor
    min_level_db: float = -55.0    # absolute floor (dBFS): quieter than this is never speech
    max_flatness: float = 0.40     # white noise periodograms sit near 0.56
    min_band_ratio: float = 0.10   # share of energy in 250-4000 Hz (rejects hum and rumble)
    floor_rise_db_per_s: float = 2.0
    onset_frames: int = 3          # 90 ms
    steady_frames: int = 50        # 1.5 s: how long a level must hold to count as background
    steady_std_db: float = 3.0     # speech swings far more than this from syllable to syllable
    hangover_frames: int = 10      # 300 ms


def frame_features(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(energy dB, spectral flatness in band, band energy ratio) for frames shaped (k, FRAME)."""
    energy_db = 10.0 * np.log10(np.mean(np.square(frames, dtype=np.float64), axis=1) + 1e-12)
    spec = np.abs(np.fft.rfft(frames * _WINDOW, n=_NFFT, axis=1)) ** 2 + 1e-12
    band = spec[:, _BAND]
    flatness = np.exp(np.mean(np.log(band), axis=1)) / np.mean(band, axis=1)
    ratio = band.sum(axis=1) / spec.sum(axis=1)
    return energy_db, flatness, ratio


class VoiceActivityDetector:
    """Feed 16 kHz mono samples in any block size; get one bool per completed 30 ms frame."""

    def __init__(self, config: VadConfig | None = None):
        self.config = config or VadConfig()
        self._rest = np.zeros(0, dtype=np.float32)
        self._floor: float | None = None
        self._run = 0          # consecutive raw-speech frames
        self._hang = 0         # frames of hangover left
        self._recent: deque[float] = deque(maxlen=self.config.steady_frames)
        self.frames_done = 0

    def process(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Returns (speech flags, energy dB) for the frames completed by this block."""
        data = np.concatenate([self._rest, samples.astype(np.float32, copy=False)])
        n = len(data) // FRAME
        self._rest = data[n * FRAME:].copy()
        if n == 0:
            return np.zeros(0, dtype=bool), np.zeros(0)
        frames = data[: n * FRAME].reshape(n, FRAME)
        energy, flatness, ratio = frame_features(frames)
        flags = np.zeros(n, dtype=bool)
        cfg = self.config
        rise = cfg.floor_rise_db_per_s * FRAME / SAMPLE_RATE
        for i in range(n):
            e = float(energy[i])
            if self._floor is None or e < self._floor:
                self._floor = e
            else:
                self._floor += rise
            # A level that holds steady (a fan, traffic, a noise that just started) is
            # background however loud: lift the floor to it at once.
            self._recent.append(e)
            if len(self._recent) == self._recent.maxlen:
                lo = min(self._recent)
                if lo > self._floor and np.std(self._recent) < cfg.steady_std_db:
                    self._floor = lo
            raw = (e > self._floor + cfg.margin_db and e > cfg.min_level_db
                   and flatness[i] < cfg.max_flatness and ratio[i] > cfg.min_band_ratio)
            self._run = self._run + 1 if raw else 0
            if self._run >= cfg.onset_frames:
                self._hang = cfg.hangover_frames
                flags[i] = True
                if self._run == cfg.onset_frames:      # onset confirmed: mark the frames before it
                    flags[max(0, i - cfg.onset_frames + 1): i] = True
            elif self._hang > 0:
                self._hang -= 1
                flags[i] = True
        self.frames_done += n
        return flags, energy


def speech_flags(samples: np.ndarray, config: VadConfig | None = None) -> np.ndarray:
    """Whole-signal convenience: one flag per 30 ms frame."""
    flags, _ = VoiceActivityDetector(config).process(samples)
    return flags


def speech_seconds(samples: np.ndarray, config: VadConfig | None = None) -> float:
    return float(speech_flags(samples, config).sum()) * FRAME / SAMPLE_RATE
