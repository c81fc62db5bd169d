"""The media of a call (ARCHITECTURE.md section 3): pure parts -- ``format`` (a payload
type's codec and packet size), ``send`` (a paced source's datagrams), ``receive``
(datagrams into the jitter buffer), ``playout`` (frames out of it) and ``stats`` (what
is shown) -- and ``session``, which drives them on a clock (a sound device's, or the
media thread's) over the call's transport."""

from .format import packet_samples, supported
from .send import PacedPackets
from .session import MediaSession, SoundStream, StreamOpener

__all__ = ["MediaSession", "PacedPackets", "SoundStream", "StreamOpener", "packet_samples",
           "supported"]
