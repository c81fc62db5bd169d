"""A path's round-trip time, smoothed as libjingle's Google ICE smooths its pings'
(``rtt = (3 * rtt + sample) / 4``), for both ICE flavours alike."""

from __future__ import annotations

RATIO = 3  # weight of the previous estimate against one new sample


def smoothed(previous: float | None, sample: float) -> float:
    sample = max(0.0, sample)
    return sample if previous is None else (RATIO * previous + sample) / (RATIO + 1)


class RoundTrip:
    """The estimate from the answers to a path's checks (RFC ICE: consent checks)."""

    def __init__(self) -> None:
        self.value: float | None = None

    def sample(self, seconds: float) -> None:
        self.value = smoothed(self.value, seconds)
