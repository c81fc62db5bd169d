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

from ..audio.convert import channels, resample
from ..rtp.jitterbuffer import AnyJitterBuffer
from ..rtp.receiver import RtpFilter
from ..rtp.stats import ReceiveStats
from ..signaling.model import PayloadType
from .format import codec_of


class ReceivePath:
    """``payloads``: the negotiated payload types jcall decodes; the session's audio is
    ``rate`` and ``nchannels`` (the jitter buffer's)."""

    def __init__(self, payloads: Sequence[PayloadType], rate: int, nchannels: int,
                 jitter: AnyJitterBuffer) -> None:
        self.rate, self.nchannels = rate, nchannels
        self.decoders = {p.id: codec_of(p) for p in payloads}
        # payload types whose audio must be converted to the session's rate/channels
        self._convert = {pt for pt, d in self.decoders.items()
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
        decoder = self.decoders[packet.payload_type]
        pcm = decoder.decode(packet.payload)
        if packet.payload_type in self._convert:
            pcm = channels(resample(pcm, decoder.clockrate, self.rate), self.nchannels)
        self.jitter.push(packet.timestamp, pcm, arrival)
        if self.first_arrival is None:
            self.first_arrival = arrival
            return True
        return False
