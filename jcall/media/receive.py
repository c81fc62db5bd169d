"""The receive path: the peer's RTP datagrams in, their audio pushed into the jitter
buffer at each packet's arrival time. Pure: datagrams and times in, nothing read or
written.

Every datagram here is already from the selected pair's remote address (the reader's
source check: transport/filters.py, or the media thread's own). What is not valid
RTP of a negotiated payload type from the peer's current SSRC is counted and dropped
(rtp/receiver.py); what is, is counted for RFC 3550's loss and jitter (A.3, A.8),
decoded, converted to the session's rate and channels where its payload type has
others, and pushed. A new SSRC starts a new source in the statistics and the jitter
buffer (RFC 3550 section 8.2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..audio.convert import channels, resample
from ..audio.deviceclock import NativeReceiver
from ..rtp.jitterbuffer import AnyJitterBuffer
from ..rtp.receiver import ReceiveCounters, RtpFilter
from ..rtp.stats import ReceiveStats
from ..signaling.model import PayloadType
from .format import codec_of

Pcm = npt.NDArray[np.int16]


class ReceivePath:
    """``payloads``: the negotiated payload types jcall decodes; the session's audio is
    ``rate`` and ``nchannels`` (the jitter buffer's)."""

    def __init__(self, payloads: Sequence[PayloadType], rate: int, nchannels: int,
                 jitter: AnyJitterBuffer) -> None:
        self.rate, self.nchannels = rate, nchannels
        self.decoders = {p.id: codec_of(p) for p in payloads}
        # payload types whose audio must be converted to the session's rate/channels
        self.converted = {pt for pt, d in self.decoders.items()
                         if (d.clockrate, d.channels) != (rate, nchannels)}
        self.filter = RtpFilter(set(self.decoders))
        self.stats = ReceiveStats(rate)
        self.jitter = jitter
        self.first_arrival: float | None = None  # of the peer's first RTP taken
        self._ssrc: int | None = None  # of the packets pushed last

    def take(self, data: bytes, arrival: float) -> bool:
        """One datagram, arrived at ``arrival``; True when it is the first RTP of the
        peer's that was taken (playout may start from it)."""
        packet = self.filter.accept(data)
        if packet is None:
            return False
        if packet.ssrc != self._ssrc:
            if self._ssrc is not None:  # the peer's new source
                self.stats.new_source()
                self.jitter.new_source()
            self._ssrc = packet.ssrc
        self.stats.update(packet.sequence, packet.timestamp, arrival, len(data))
        self.jitter.push(packet.timestamp, self.decode(packet.payload_type, packet.payload),
                         arrival)
        if self.first_arrival is None:
            self.first_arrival = arrival
            return True
        return False

    def decode(self, payload_type: int, payload: bytes) -> Pcm:
        """A negotiated payload type's payload as the session's audio: decoded, and
        converted to the session's rate and channels where its own differ."""
        decoder = self.decoders[payload_type]
        pcm = decoder.decode(payload)
        if payload_type in self.converted:
            pcm = channels(resample(pcm, decoder.clockrate, self.rate), self.nchannels)
        return pcm


@dataclass(frozen=True)
class ReceivedSoFar:
    """What :class:`ReceiveStats` says, as the native receive path counted it."""

    packets: int
    bytes: int
    lost: int
    jitter_ms: float


@dataclass(frozen=True)
class FilteredSoFar:
    """What :class:`RtpFilter` says, as the native receive path counted it."""

    ssrc: int | None
    counters: ReceiveCounters


class NativeReceivePath:
    """The receive path run by a native device clock (jcall/_deviceclock.c
    ``receive_l16``: :class:`ReceivePath` in C, into the C jitter buffer), behind
    ReceivePath's interface, for what Python still hands it: datagrams the event loop
    read, and payloads of the types only Python decodes (``reference``'s decoders)."""

    def __init__(self, native: NativeReceiver, reference: ReceivePath) -> None:
        self.native, self.reference = native, reference
        self.rate, self.nchannels = reference.rate, reference.nchannels
        self.jitter = reference.jitter
        self._first: float | None = None

    @property
    def first_arrival(self) -> float | None:
        if self._first is None:
            self._first = self.native.received()["first_arrival"]
        return self._first

    def newly_first(self) -> float | None:
        """The first packet's arrival, if it came since last asked (or taken)."""
        return self.first_arrival if self._first is None else None

    def take(self, data: bytes, arrival: float) -> bool:
        """As ReceivePath.take."""
        rest = self.native.take(data, arrival)
        if rest is not None:
            self.push_decoded(*rest, arrival)
        if self._first is None and self.native.received()["first_arrival"] == arrival:
            self._first = arrival  # (this one was the first)
            return True
        return False

    def push_decoded(self, payload_type: int, timestamp: int, payload: bytes,
                     arrival: float) -> None:
        """A packet the native path accepted and counted, but does not decode."""
        self.jitter.push(timestamp, self.reference.decode(payload_type, payload), arrival)

    @property
    def stats(self) -> ReceivedSoFar:
        r = self.native.received()
        return ReceivedSoFar(r["packets"], r["bytes"], r["expected"] - r["packets"],
                             1000.0 * r["jitter"] / self.rate)

    @property
    def filter(self) -> FilteredSoFar:
        r = self.native.received()
        return FilteredSoFar(r["ssrc"], ReceiveCounters(
            r["malformed"], r["wrong_payload_type"], r["foreign_ssrc"], r["accepted"],
            r["ssrc_changes"]))


def native_kinds(path: ReceivePath) -> bytes:
    """For jcall/_deviceclock.c ``receive_l16``: per payload type, 0 where it is not
    negotiated, 2 where it is L16 at the session's rate and channels (decoded there),
    1 where Python decodes it."""
    kinds = bytearray(128)
    for pt, decoder in path.decoders.items():
        here = decoder.name == "L16" and pt not in path.converted
        kinds[pt] = 2 if here else 1
    return bytes(kinds)
