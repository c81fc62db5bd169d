"""Pure numpy codecs: L16 (RFC 3551 section 4.5.11) and G.711 PCMU/PCMA (ITU-T G.711).

PCM is int16, shaped (samples, channels). The G.711 encoders follow the ITU-T G.191
reference (negative samples take the one's complement before truncation); decoding
is a 256-entry table built once by the G.191 expansion rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

Pcm = npt.NDArray[np.int16]

BE16 = np.dtype(">i2")  # built once: parsing a dtype string costs a lookup per call
ULAW_BIAS = 33  # G.191: added to the 14-bit magnitude before segment search
ULAW_CLIP = 0x1FFF


class Codec(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def clockrate(self) -> int: ...

    @property
    def channels(self) -> int: ...

    def encode(self, pcm: Pcm) -> bytes: ...

    def decode(self, payload: bytes) -> Pcm: ...


@dataclass(frozen=True)
class L16:
    """16-bit signed linear PCM, network byte order, interleaved channels."""

    clockrate: int
    channels: int = 1
    name: str = "L16"

    def encode(self, pcm: Pcm) -> bytes:
        return pcm.astype(BE16).tobytes()

    def decode(self, payload: bytes) -> Pcm:
        # (a view of the whole frames in the payload, then one copy in native order)
        frames = len(payload) // (2 * self.channels)
        return np.ndarray((frames, self.channels), BE16, payload).astype(np.int16)


def ulaw_encode(x: npt.NDArray[np.int16]) -> npt.NDArray[np.uint8]:
    """G.191 ``ulaw_compress``."""
    x = x.astype(np.int32)
    absno = np.where(x < 0, (~x) >> 2, x >> 2) + ULAW_BIAS
    absno = np.minimum(absno, ULAW_CLIP)
    segno = np.zeros_like(absno) + 1
    i = absno >> 6
    for _ in range(7):  # segment = 1 + position of the highest set bit of absno >> 6
        segno += (i != 0)
        i >>= 1
    high = 8 - segno
    low = 0x0F - ((absno >> segno) & 0x0F)
    out = (high << 4) | low
    out = np.where(x >= 0, out | 0x80, out)
    encoded: npt.NDArray[np.uint8] = out.astype(np.uint8)
    return encoded


def _ulaw_expand_one(y: int) -> int:
    """G.191 ``ulaw_expand`` for one code (used to build the table)."""
    sign = -1 if y < 0x80 else 1
    mantissa = ~y & 0xFF
    exponent = (mantissa >> 4) & 0x07
    segment = exponent + 1
    mantissa &= 0x0F
    step = 4 << segment
    return sign * ((0x80 << exponent) + step * mantissa + step // 2 - 4 * ULAW_BIAS)


def alaw_encode(x: npt.NDArray[np.int16]) -> npt.NDArray[np.uint8]:
    """G.191 ``alaw_compress``."""
    x = x.astype(np.int32)
    ix = np.where(x < 0, (~x) >> 4, x >> 4)
    iexp = np.zeros_like(ix)
    big = ix > 15
    for _ in range(7):  # normalise to 5 bits, counting the shifts
        shift = big & (ix > 31)
        ix = np.where(shift, ix >> 1, ix)
        iexp += shift
    ix = np.where(big, ix - 16 + ((iexp + 1) << 4), ix)
    ix = np.where(x >= 0, ix | 0x80, ix)
    return (ix ^ 0x55).astype(np.uint8)


def _alaw_expand_one(y: int) -> int:
    """G.191 ``alaw_expand`` for one code."""
    ix = (y ^ 0x55) & 0x7F
    iexp = ix >> 4
    mant = ix & 0x0F
    if iexp > 0:
        mant += 16
    mant = (mant << 4) + 0x08
    if iexp > 1:
        mant <<= iexp - 1
    return mant if y > 127 else -mant


ULAW_TABLE = np.array([_ulaw_expand_one(c) for c in range(256)], dtype=np.int16)
ALAW_TABLE = np.array([_alaw_expand_one(c) for c in range(256)], dtype=np.int16)


@dataclass(frozen=True)
class G711:
    """ITU-T G.711 (PCMU: mu-law, PCMA: A-law), RFC 3551 section 4.5.14."""

    name: str  # "PCMU" or "PCMA"
    clockrate: int = 8000
    channels: int = 1

    def encode(self, pcm: Pcm) -> bytes:
        mono = pcm[:, 0] if pcm.ndim == 2 else pcm
        coder = ulaw_encode if self.name == "PCMU" else alaw_encode
        return coder(mono).tobytes()

    def decode(self, payload: bytes) -> Pcm:
        table = ULAW_TABLE if self.name == "PCMU" else ALAW_TABLE
        return table[np.frombuffer(payload, dtype=np.uint8)].reshape(-1, 1)


def codec_for(name: str, clockrate: int, channels: int = 1) -> Codec:
    """The codec for a negotiated payload type's name (case-insensitive)."""
    upper = name.upper()
    if upper == "L16":
        return L16(clockrate, channels)
    if upper in ("PCMU", "PCMA"):
        return G711(upper)
    raise ValueError(f"no codec for {name}/{clockrate}")
