"""Where call audio comes from and goes to: one interface for files, tones, silence
and sound devices. Everything speaks the codec's rate and channel count.

A *paced* source or sink is driven by jcall's clock with absolute deadlines (files,
tones, silence, null); a device brings its own clock (its PortAudio callbacks).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ..errors import JcallError
from .files import WavWriter, load_for_codec, read_wav, tone

Pcm = npt.NDArray[np.int16]


@dataclass(frozen=True)
class AudioSettings:
    input: Path | None = None
    output: Path | None = None
    tone: float | None = None
    input_device: str | None = None
    output_device: str | None = None
    silent: bool = False  # send silence (no microphone)
    mute_output: bool = False  # discard received audio (no speaker)

    def check_files(self) -> None:
        """Fail before logging in, not once a call is up: the input must be a readable
        WAV file and the output's folder must exist."""
        if self.input is not None:
            read_wav(self.input)
        if self.output is not None and not self.output.resolve().parent.is_dir():
            raise JcallError(f"cannot write {self.output}: no such folder")

    @property
    def uses_input_device(self) -> bool:
        return self.input is None and self.tone is None and not self.silent

    @property
    def uses_output_device(self) -> bool:
        return self.output is None and not self.mute_output


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
