"""The sending side of an RTP stream: random starts, wrap-aware steps (RFC 3550 5.1)."""

from __future__ import annotations

import secrets

from ..seqnum import uint16_add, uint32_add
from .packet import HEADER, RTP_VERSION

MAX_PACKET_BYTES = 1200  # keeps RTP + UDP + IP (+ TURN) under a 1500-byte MTU


class Packetizer:
    def __init__(self, payload_type: int, *, ssrc: int | None = None,
                 sequence: int | None = None, timestamp: int | None = None) -> None:
        self.payload_type = payload_type
        self.ssrc = secrets.randbits(32) if ssrc is None else ssrc
        self.sequence = secrets.randbits(16) if sequence is None else sequence
        self.timestamp = secrets.randbits(32) if timestamp is None else timestamp
        self._talking = False

    def header(self, payload_bytes: int, samples: int, *, silence: bool = False
               ) -> bytes | None:
        """The header of the next packet, for ``samples`` samples per channel in
        ``payload_bytes`` of payload (sent after it, without copying the two together).

        A silent frame is not sent (None) but still advances the timestamp; the first
        packet of a talk spurt carries the marker bit (RFC 3551 section 4.1).
        """
        if payload_bytes + HEADER.size > MAX_PACKET_BYTES:
            raise ValueError(f"RTP payload of {payload_bytes} bytes exceeds the packet limit")
        ts = self.timestamp
        self.timestamp = uint32_add(self.timestamp, samples)
        if silence:
            self._talking = False
            return None
        head = HEADER.pack(RTP_VERSION << 6, (0 if self._talking else 0x80) | self.payload_type,
                           self.sequence, ts, self.ssrc)
        self._talking = True
        self.sequence = uint16_add(self.sequence, 1)
        return head
