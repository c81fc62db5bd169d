"""What a negotiated payload type means for the media: its codec, and how many samples
go in one packet (RFC 3551 section 4.5.11 for L16, section 4.5.14 for G.711)."""

from __future__ import annotations

from ..audio.codecs import Codec, codec_for
from ..audio.formats import SUPPORTED
from ..rtp.packetizer import MAX_PACKET_BYTES
from ..signaling.model import PayloadType

PACKET_CHOICES_S = (0.020, 0.010, 0.005)  # the longest that fits in a packet wins
RTP_HEADER = 12


def supported(pt: PayloadType) -> bool:
    return any(f.matches(pt) for f in SUPPORTED)


def codec_of(pt: PayloadType) -> Codec:
    """The codec of a supported payload type."""
    fmt = next(f for f in SUPPORTED if f.matches(pt))
    return codec_for(fmt.name, fmt.clockrate, fmt.channels)


def packet_samples(codec: Codec) -> int:
    """Samples per channel in one packet: 20 ms, else 10 ms, else 5 ms, whatever keeps
    the packet within MAX_PACKET_BYTES (L16/44.1 kHz mono: 10 ms = 882 bytes)."""
    bytes_per_sample = 1 if codec.name in ("PCMU", "PCMA") else 2 * codec.channels
    for seconds in PACKET_CHOICES_S:
        n = int(codec.clockrate * seconds)
        if RTP_HEADER + n * bytes_per_sample <= MAX_PACKET_BYTES:
            return n
    return (MAX_PACKET_BYTES - RTP_HEADER) // bytes_per_sample
