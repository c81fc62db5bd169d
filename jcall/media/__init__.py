"""The media of a call (ARCHITECTURE.md section 3): pure parts -- ``format`` (a payload
type's codec and packet size), ``send`` (a paced source's datagrams), ``receive``
(datagrams into the jitter buffer), ``playout`` (frames out of it) and ``stats`` (what
is shown) -- ``endpoints`` (what the audio comes from and goes to, opened for the
session), and ``session``, which drives them on a clock (a sound device's, or the
media thread's) over the call's transport."""

from .endpoints import EndpointOpener, Endpoints, SoundStream, StreamOpener, opener
from .format import packet_samples, supported
from .send import PacedPackets
from .session import MediaSession

__all__ = ["EndpointOpener", "Endpoints", "MediaSession", "PacedPackets", "SoundStream",
           "StreamOpener", "opener", "packet_samples", "supported"]
