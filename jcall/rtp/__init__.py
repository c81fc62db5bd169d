"""Pure RTP (RFC 3550): packets, packetizer, receive filter, jitter buffer, statistics."""
