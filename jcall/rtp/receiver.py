"""What reaches the decoder: valid packets of the negotiated payload types from the
peer's SSRC, learned from the first valid packet. Everything else is counted and
dropped, never raised (aioice delivers datagrams from any source)."""

from __future__ import annotations

from dataclasses import dataclass

from .packet import RtpPacket


@dataclass
class ReceiveCounters:
    malformed: int = 0
    wrong_payload_type: int = 0
    foreign_ssrc: int = 0
    accepted: int = 0


class RtpFilter:
    def __init__(self, payload_types: set[int]) -> None:
        self.payload_types = payload_types
        self.ssrc: int | None = None
        self.counters = ReceiveCounters()

    def accept(self, data: bytes) -> RtpPacket | None:
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
            self.counters.foreign_ssrc += 1
            return None
        self.counters.accepted += 1
        return packet
