"""Input level for a meter: RMS and peak in dBFS, smoothed so the bar does not flicker."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FLOOR_DB = -90.0


def rms_dbfs(samples: np.ndarray) -> float:
    if samples.size == 0:
        return FLOOR_DB
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return max(FLOOR_DB, 20.0 * np.log10(rms)) if rms > 0 else FLOOR_DB


def peak_dbfs(samples: np.ndarray) -> float:
    if samples.size == 0:
        return FLOOR_DB
    peak = float(np.max(np.abs(samples)))
    return max(FLOOR_DB, 20.0 * np.log10(peak)) if peak > 0 else FLOOR_DB


@dataclass(frozen=True)
class Level:
    rms_db: float
    peak_db: float
    clipping: bool

    @property
    def fraction(self) -> float:
        """0..1 for a meter bar: -60 dBFS and below reads empty, 0 dBFS full."""
        return float(min(1.0, max(0.0, (self.rms_db + 60.0) / 60.0)))


class LevelMeter:
    """Fast attack, slow release, like a VU meter."""

    def __init__(self, release_db_per_s: float = 20.0):
        self._release = release_db_per_s
        self._shown = FLOOR_DB

    def update(self, samples: np.ndarray, samplerate: int = 16_000) -> Level:
        rms = rms_dbfs(samples)
        dt = samples.shape[0] / samplerate if samplerate else 0.0
        self._shown = rms if rms >= self._shown else max(rms, self._shown - self._release * dt)
        peak = peak_dbfs(samples)
        return Level(rms_db=self._shown, peak_db=peak, clipping=peak >= -0.1)
