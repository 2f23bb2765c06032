"""An in-memory stand-in for the vault's AudioSpool (same write/close contract), for tests
that check what capture kept without opening a vault."""

from __future__ import annotations

import numpy as np


class ListSpool:
    def __init__(self):
        self.parts: list[np.ndarray] = []
        self.closed = False

    def write(self, samples: np.ndarray) -> None:
        assert samples.dtype == np.float32 and samples.ndim == 1
        self.parts.append(samples.copy())

    def close(self) -> None:
        self.closed = True

    @property
    def audio(self) -> np.ndarray:
        return np.concatenate(self.parts) if self.parts else np.zeros(0, np.float32)
