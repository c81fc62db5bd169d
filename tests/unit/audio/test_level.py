"""Level meters' dBFS against signals of known level."""

from __future__ import annotations

import numpy as np
import pytest

from jcall.audio.level import FLOOR_DBFS, dbfs


def test_full_scale_square_wave_is_0_dbfs() -> None:
    square = np.array([32767, -32768] * 80, dtype=np.int16)
    assert dbfs(square) == pytest.approx(0.0, abs=0.01)


def test_a_full_scale_sine_is_minus_3_dbfs_and_half_is_minus_9() -> None:
    t = np.arange(8000) / 8000
    sine = np.round(32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    assert dbfs(sine) == pytest.approx(-3.01, abs=0.02)
    assert dbfs((sine // 2).astype(np.int16)) == pytest.approx(-9.03, abs=0.02)


def test_stereo_counts_both_channels() -> None:
    left = np.full(160, 16384, dtype=np.int16)
    frame = np.stack([left, np.zeros(160, dtype=np.int16)], axis=1)
    assert dbfs(frame) == pytest.approx(-9.03, abs=0.02)  # half power: -6 - 3 dB


@pytest.mark.parametrize("pcm", [None, np.zeros(0, dtype=np.int16),
                                 np.zeros(160, dtype=np.int16),
                                 np.ones(160, dtype=np.int16)])
def test_silence_and_nothing_sit_on_the_floor(pcm: np.ndarray | None) -> None:
    assert dbfs(pcm) == FLOOR_DBFS
