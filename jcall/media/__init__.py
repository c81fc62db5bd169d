"""The media of a call (ARCHITECTURE.md section 3): pure parts -- ``format`` (a payload
type's codec and packet size), ``receive`` (datagrams into the jitter buffer) and
``playout`` (frames out of it) -- and ``session``, which drives them on a clock (a sound
device's, the media thread's or the event loop's) over the call's transport."""

from .format import packet_samples, supported
from .session import MediaSession, PacedPackets, SoundStream, StreamOpener

__all__ = ["MediaSession", "PacedPackets", "SoundStream", "StreamOpener", "packet_samples",
           "supported"]
