"""A first-in first-out queue of samples in one preallocated array: a device's
resampled capture is gathered here into whole packets, in its callback, without
allocating per period."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Pcm = npt.NDArray[np.int16]


class SampleFifo:
    def __init__(self, nchannels: int, capacity: int) -> None:
        self._buf = np.zeros((capacity, nchannels), dtype=np.int16)
        self.size = 0

    def push(self, pcm: Pcm) -> None:
        n = len(pcm)
        if self.size + n > len(self._buf):  # (grows rarely: a burst of resampler output)
            grown = np.zeros((2 * (self.size + n), self._buf.shape[1]), dtype=np.int16)
            grown[:self.size] = self._buf[:self.size]
            self._buf = grown
        self._buf[self.size:self.size + n] = pcm
        self.size += n

    def pop(self, n: int) -> Pcm:
        """The first ``n`` samples (a copy); ``n`` must not exceed ``size``."""
        out = self._buf[:n].copy()
        self._drop(n)
        return out

    def _drop(self, n: int) -> None:
        rest = self.size - n
        if rest:
            self._buf[:rest] = self._buf[n:self.size]
        self.size = rest
