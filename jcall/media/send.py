"""The send path's pure parts: a paced source's RTP datagrams, and what was sent.

A paced source (a file, a tone, silence) is not live, so its packets are built
``SEND_BATCH`` frames at a time -- read, encoded, packetized together -- and go out at
their deadlines (session.py says why: Python after a wake-up runs from cold caches).
Reading ahead changes nothing about what is sent or when."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..audio.codecs import Codec
from ..audio.endpoints import PacedSource
from ..rtp.packetizer import Packetizer

Pcm = npt.NDArray[np.int16]

SEND_BATCH = 10  # paced source: packets built at a time


class PacedPackets:
    """A paced source's RTP datagrams, built ``batch`` frames at a time: read, encoded
    and packetized together (L16 and G.711 code each sample on its own, so a block's
    bytes split evenly into frames)."""

    def __init__(self, source: PacedSource, codec: Codec, packetizer: Packetizer,
                 frame: int, batch: int = SEND_BATCH) -> None:
        self._read, self._encode, self._header = source.read, codec.encode, packetizer.header
        self._frame, self._batch = frame, batch
        self._built: list[bytes] = []
        self._next = 0
        self.muted = False  # silence goes out instead (the source keeps its place)
        self.last: Pcm | None = None  # the block built last (the input level meter)

    def next(self) -> bytes:
        """The next frame's datagram."""
        i = self._next
        if i == len(self._built):
            self._built = self._build()
            i = 0
        self._next = i + 1
        return self._built[i]

    def _build(self) -> list[bytes]:
        pcm = self._read(self._frame * self._batch)
        if self.muted:
            pcm = np.zeros_like(pcm)
        self.last = pcm
        block = self._encode(pcm)
        size = len(block) // self._batch
        out = []
        for pos in range(0, size * self._batch, size):
            head = self._header(size, self._frame)
            assert head is not None  # (only a silent frame has none)
            out.append(head + block[pos:pos + size])
        return out


@dataclass
class SendCounters:
    """What the RTP sender sent and failed to send."""

    packets: int = 0
    bytes: int = 0
    refused: int = 0  # sends that failed (in neither count above)
    reason: str = ""  # why the last one failed
