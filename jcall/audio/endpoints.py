"""Where call audio comes from and goes to: one interface for files, tones, silence
and sound devices. Everything speaks the codec's rate and channel count.

A *paced* source or sink is driven by jcall's clock with absolute deadlines (files,
tones, silence, null); a device brings its own clock (its PortAudio callbacks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from .files import WavWriter, load_for_codec, tone

Pcm = npt.NDArray[np.int16]


class PacedSource(Protocol):
    def read(self, n: int) -> Pcm: ...

    def close(self) -> None: ...


class PacedSink(Protocol):
    def write(self, pcm: Pcm) -> None: ...

    def close(self) -> None: ...


class FileSource:
    """A WAV file, converted to the codec's format; silence after its end."""

    def __init__(self, path: Path, rate: int, nchannels: int) -> None:
        self._pcm = load_for_codec(path, rate, nchannels)
        self._pos = 0
        self.nchannels = nchannels

    def read(self, n: int) -> Pcm:
        chunk = self._pcm[self._pos:self._pos + n]
        self._pos += len(chunk)
        if len(chunk) < n:
            pad = np.zeros((n - len(chunk), self.nchannels), dtype=np.int16)
            chunk = np.concatenate([chunk, pad])
        return chunk

    def close(self) -> None:
        pass


class ToneSource:
    def __init__(self, hz: float, rate: int, nchannels: int) -> None:
        self.hz, self.rate, self.nchannels = hz, rate, nchannels
        self._pos = 0

    def read(self, n: int) -> Pcm:
        out = tone(self.hz, self.rate, self.nchannels, self._pos, n)
        self._pos += n
        return out

    def close(self) -> None:
        pass


class SilenceSource:
    def __init__(self, nchannels: int) -> None:
        self.nchannels = nchannels

    def read(self, n: int) -> Pcm:
        return np.zeros((n, self.nchannels), dtype=np.int16)

    def close(self) -> None:
        pass


class NullSink:
    def write(self, pcm: Pcm) -> None:
        pass

    def close(self) -> None:
        pass


class FileSink(WavWriter):
    pass


class BatchedSink:
    """Holds frames and writes them to ``sink`` together at ``flush()`` (one conversion
    and one write per batch instead of one per frame); ``close()`` flushes first."""

    def __init__(self, sink: PacedSink) -> None:
        self._sink = sink
        self._held: list[Pcm] = []

    def write(self, pcm: Pcm) -> None:
        self._held.append(pcm)

    def flush(self) -> None:
        held = self._held
        if held:
            self._sink.write(held[0] if len(held) == 1 else np.concatenate(held))
            held.clear()

    def close(self) -> None:
        self.flush()
        self._sink.close()
