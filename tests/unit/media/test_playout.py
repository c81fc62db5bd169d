"""Playout (jcall/media/playout.py): whole frames out of the jitter buffer at the times
passed in, silence until received audio starts, and one notice when it does."""

from __future__ import annotations

import numpy as np

from jcall.media.playout import Playout
from jcall.rtp.jitterbuffer import JitterBuffer

RATE, FRAME = 8000, 80


def filled(frames: int, arrival: float) -> JitterBuffer:
    jitter = JitterBuffer(RATE, 1, FRAME)
    for k in range(frames):
        pcm = np.full((FRAME, 1), k + 1, dtype=np.int16)
        jitter.push(k * FRAME, pcm, arrival + 0.010 * k)
    return jitter


def test_silence_until_audio_starts_then_one_notice_of_when() -> None:
    jitter = filled(8, 1.0)
    firsts: list[float] = []
    playout = Playout(jitter, FRAME, firsts.append)
    dues = [1.0 + 0.010 * i for i in range(8)]  # a paced sink's grid
    frames = [playout.pull(FRAME, due) for due in dues]
    assert all(f.shape == (FRAME, 1) for f in frames)
    values = [int(f[0, 0]) for f in frames]
    first = next(i for i, v in enumerate(values) if v)
    assert first > 0 and not any(values[:first])  # (silence while the buffer fills)
    assert values[first:] == list(range(1, len(values) - first + 1))
    assert firsts == [dues[first]]
    assert playout.started and playout.last is frames[-1]


def test_a_device_request_is_whole_frames_decided_at_once() -> None:
    jitter = filled(10, 1.0)
    playout = Playout(jitter, FRAME)
    start = 1.0 + jitter.start_delay_s + 0.020
    got = playout.pull(2 * FRAME + 10, start)  # (a device period of 170 samples)
    assert len(got) == 3 * FRAME
    assert [int(v) for v in got[::FRAME, 0]] == [1, 2, 3] and playout.started
