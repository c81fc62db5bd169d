"""Receive-side RTP statistics: RFC 3550 A.3 (loss) and A.8 (interarrival jitter)."""

from __future__ import annotations

from dataclasses import dataclass

from ..seqnum import Unwrapper


@dataclass
class ReceiveStats:
    """RFC 3550 section 6.4.1 reception statistics of one source: packets, loss and
    interarrival jitter (appendix A.8)."""

    clockrate: int
    packets: int = 0
    bytes: int = 0
    jitter: float = 0.0  # RFC 3550 J, in timestamp units
    _base_seq: int | None = None
    _max_seq: int = 0
    _transit: float | None = None
    _expected_before: int = 0  # by the sources before a change of SSRC

    def __post_init__(self) -> None:
        self._seq = Unwrapper(16)

    def new_source(self) -> None:
        """The sender's SSRC changed: sequence numbers and timestamps start afresh
        (RFC 3550 section 8.2); the counts go on."""
        self._expected_before = self.expected
        self._seq = Unwrapper(16)
        self._base_seq = None
        self._max_seq = 0
        self._transit = None

    def update(self, sequence: int, timestamp: int, arrival: float, size: int) -> None:
        """One accepted packet; ``arrival`` in seconds on the receiver's clock."""
        self.packets += 1
        self.bytes += size
        ext = self._seq.extend(sequence)
        if self._base_seq is None:
            self._base_seq = self._max_seq = ext
        self._max_seq = max(self._max_seq, ext)
        transit = arrival * self.clockrate - timestamp
        if self._transit is not None:
            d = transit - self._transit
            # Timestamps wrap at 2**32; a jump that large is the wrap, not jitter.
            if abs(d) > 2**31:
                d -= 2**32 if d > 0 else -(2**32)
            self.jitter += (abs(d) - self.jitter) / 16.0
        self._transit = transit

    @property
    def expected(self) -> int:
        mine = 0 if self._base_seq is None else self._max_seq - self._base_seq + 1
        return self._expected_before + mine

    @property
    def lost(self) -> int:
        """Cumulative packets lost (A.3): expected minus received; duplicates can make
        it negative, as the RFC allows."""
        return self.expected - self.packets

    @property
    def jitter_ms(self) -> float:
        return 1000.0 * self.jitter / self.clockrate
