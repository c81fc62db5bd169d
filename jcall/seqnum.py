"""Wrap-aware arithmetic for RTP sequence numbers (16 bit) and timestamps (32 bit).

Sequence numbers and timestamps move only through these helpers (RFC 3550 section
5.1: both wrap and start at random values).
"""

from __future__ import annotations

U16 = 1 << 16
U32 = 1 << 32


def uint16_add(a: int, b: int) -> int:
    return (a + b) % U16


def uint16_diff(a: int, b: int) -> int:
    """Signed distance from ``b`` to ``a``, in [-32768, 32767]."""
    d = (a - b) % U16
    return d - U16 if d >= U16 // 2 else d


def uint16_gt(a: int, b: int) -> bool:
    return uint16_diff(a, b) > 0


def uint32_add(a: int, b: int) -> int:
    return (a + b) % U32


def uint32_diff(a: int, b: int) -> int:
    """Signed distance from ``b`` to ``a``, in [-2**31, 2**31 - 1]."""
    d = (a - b) % U32
    return d - U32 if d >= U32 // 2 else d


class Unwrapper:
    """Turns a wrapping counter into a monotonic-ish extended one (RFC 3550 A.1 idea)."""

    def __init__(self, bits: int) -> None:
        self._mod = 1 << bits
        self._last: int | None = None

    def extend(self, value: int) -> int:
        if self._last is None:
            self._last = value
            return value
        d = (value - self._last) % self._mod
        if d >= self._mod // 2:
            d -= self._mod
        ext = self._last + d
        if d > 0:
            self._last = ext
        return ext
