"""What reaches the decoder: valid packets of the negotiated payload types from the
peer's current SSRC. Everything else is counted and dropped, never raised.

Only datagrams from the peer's validated address get here (``transport/filters.py``),
so the first valid packet's SSRC is the peer's. A sender may still change its SSRC
(RFC 3550 section 8.2: a collision, or a restarted source); the new one is followed
once ``SSRC_SWITCH_PACKETS`` packets in a row carry it, so that one odd packet cannot
move the receiver off the stream it plays.
"""

from __future__ import annotations

from dataclasses import dataclass

from .packet import RtpPacket

SSRC_SWITCH_PACKETS = 3


@dataclass
class ReceiveCounters:
    """Why received datagrams were taken or refused."""

    malformed: int = 0
    wrong_payload_type: int = 0
    foreign_ssrc: int = 0
    accepted: int = 0
    ssrc_changes: int = 0


class RtpFilter:
    def __init__(self, payload_types: set[int]) -> None:
        self.payload_types = payload_types
        self.ssrc: int | None = None
        self.counters = ReceiveCounters()
        self._newcomer: int | None = None  # another SSRC, and its packets in a row
        self._newcomer_run = 0

    def accept(self, data: bytes) -> RtpPacket | None:
        """The packet when it is to be decoded; a change of ``ssrc`` means it begins
        a new source (sequence numbers and timestamps start afresh)."""
        try:
            packet = RtpPacket.parse(data)
        except ValueError:
            self.counters.malformed += 1
            return None
        if packet.payload_type not in self.payload_types:
            self.counters.wrong_payload_type += 1
            return None
        if self.ssrc is None:
            self.ssrc = packet.ssrc
        elif packet.ssrc != self.ssrc:
            if packet.ssrc == self._newcomer:
                self._newcomer_run += 1
            else:
                self._newcomer, self._newcomer_run = packet.ssrc, 1
            if self._newcomer_run < SSRC_SWITCH_PACKETS:
                self.counters.foreign_ssrc += 1
                return None
            self.ssrc = packet.ssrc
            self.counters.ssrc_changes += 1
        self._newcomer, self._newcomer_run = None, 0
        self.counters.accepted += 1
        return packet
