"""The sample FIFO: order kept across pushes and pops of any size, and growth."""

from __future__ import annotations

import numpy as np

from jcall.audio.fifo import SampleFifo


def test_samples_come_out_in_order_whatever_the_sizes() -> None:
    fifo = SampleFifo(2, 8)
    rng = np.random.default_rng(1)
    pushed = popped = 0
    out: list[np.ndarray] = []
    for _ in range(200):
        n = int(rng.integers(0, 13))
        fifo.push(np.stack([np.arange(pushed, pushed + n)] * 2, axis=1).astype(np.int16))
        pushed += n
        got = min(int(rng.integers(0, 13)), fifo.size)
        out.append(fifo.pop(got))
        popped += got
        assert fifo.size == pushed - popped
    out.append(fifo.pop(fifo.size))
    flat = np.concatenate(out)
    assert flat[:, 0].tolist() == list(range(pushed)) and (flat[:, 0] == flat[:, 1]).all()

