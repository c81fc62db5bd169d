"""Signal level for the level meters: RMS in dB relative to full scale (a full-scale
square wave is 0 dBFS, a full-scale sine -3 dBFS)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FLOOR_DBFS = -60.0  # quieter than this shows as silence
FULL_SCALE = 32768.0


def dbfs(pcm: npt.NDArray[np.int16] | None) -> float:
    """The level of ``pcm`` (any shape; all channels together); FLOOR_DBFS for silence
    or nothing."""
    if pcm is None or pcm.size == 0:
        return FLOOR_DBFS
    rms = math.sqrt(float(np.mean(np.square(pcm, dtype=np.float64))))
    if rms <= 0:
        return FLOOR_DBFS
    return max(FLOOR_DBFS, 20 * math.log10(rms / FULL_SCALE))
