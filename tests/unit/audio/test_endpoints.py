import numpy as np

from jcall.audio.endpoints import BatchedSink


class ListSink:
    def __init__(self) -> None:
        self.writes: list[np.ndarray] = []
        self.closed = False

    def write(self, pcm: np.ndarray) -> None:
        self.writes.append(pcm.copy())

    def close(self) -> None:
        self.closed = True


def frames(n: int) -> list[np.ndarray]:
    return [np.full((4, 1), i, dtype=np.int16) for i in range(n)]


def test_batched_sink_writes_what_it_held_in_order_at_flush() -> None:
    inner = ListSink()
    sink = BatchedSink(inner)
    for f in frames(3):
        sink.write(f)
    assert inner.writes == []
    sink.flush()
    sink.flush()  # nothing held: nothing written
    assert len(inner.writes) == 1
    assert inner.writes[0][:, 0].tolist() == [0] * 4 + [1] * 4 + [2] * 4


def test_batched_sink_close_flushes_then_closes() -> None:
    inner = ListSink()
    sink = BatchedSink(inner)
    sink.write(frames(1)[0])
    sink.close()
    assert len(inner.writes) == 1 and inner.closed
