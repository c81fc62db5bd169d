"""WAV files and generated signals as sources and sinks (stdlib ``wave``).

WAV data is little-endian PCM; L16 on the wire is big-endian: the codec swaps.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..errors import JcallError
from .convert import channels, resample

Pcm = npt.NDArray[np.int16]
TONE_LEVEL = 0.3  # -10.5 dBFS: clearly audible, far from clipping


def read_wav(path: Path) -> tuple[Pcm, int]:
    """All samples of a PCM WAV file as int16 (frames, channels), and its rate."""
    try:
        with wave.open(str(path), "rb") as wav:
            width, nch, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except FileNotFoundError:
        raise JcallError(f"input file not found: {path}") from None
    except (wave.Error, EOFError, OSError) as exc:
        raise JcallError(f"cannot read {path} as a PCM WAV file: {exc}") from None
    if width == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.int16)
    elif width == 1:  # unsigned 8 bit
        data = ((np.frombuffer(raw, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    elif width == 4:
        data = (np.frombuffer(raw, dtype="<i4") >> 16).astype(np.int16)
    else:
        raise JcallError(f"{path}: {8 * width}-bit WAV files are not supported")
    return data.reshape(-1, nch), rate


def load_for_codec(path: Path, rate: int, nchannels: int) -> Pcm:
    pcm, file_rate = read_wav(path)
    return channels(resample(pcm, file_rate, rate), nchannels)


def tone(hz: float, rate: int, nchannels: int, start: int, n: int) -> Pcm:
    """Samples ``start``..``start + n`` of a sine at ``hz``."""
    t = (start + np.arange(n)) / rate
    x = np.rint(TONE_LEVEL * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    return np.repeat(x.reshape(-1, 1), nchannels, axis=1)


class WavWriter:
    """Writes int16 frames to a WAV file as they come."""

    def __init__(self, path: Path, rate: int, nchannels: int) -> None:
        try:
            self._wav = wave.open(str(path), "wb")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise JcallError(f"cannot write {path}: {exc.strerror}") from None
        self._wav.setnchannels(nchannels)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate)

    def write(self, pcm: Pcm) -> None:
        # writeframesraw: the header's lengths are fixed once, at close, not per write.
        self._wav.writeframesraw(pcm.astype("<i2", copy=False).tobytes())

    def close(self) -> None:
        self._wav.close()


def write_wav(path: Path, pcm: Pcm, rate: int) -> None:
    writer = WavWriter(path, rate, pcm.shape[1])
    writer.write(pcm)
    writer.close()
