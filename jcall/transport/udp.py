"""UDP datagrams with the kernel's arrival time (Linux ``SO_TIMESTAMPNS``, socket(7)).

A jitter buffer must know when a packet *arrived*, not when a busy event loop or a
sleeping media thread got round to reading it: the kernel stamps each datagram as
it is queued, and the stamp travels with it. Stamps are CLOCK_REALTIME; jcall's
clock is CLOCK_MONOTONIC (the event loop's), so they are moved by the offset between
the two, read at the same moment.

Sending at deadlines from a native thread (jcall/_pacer.c, optional) is here too:
it is the media thread's other half of the same socket. Reading is native too where
jcall/_datagrams.c was built (a device's callback reads the socket every 10 ms).
"""

from __future__ import annotations

import logging
import socket
import struct
import time

try:
    from .._pacer import Pacer as Pacer  # (re-exported: the media thread types with it)
except ImportError:  # built only where setup.py found a C compiler
    Pacer = None  # type: ignore[assignment,misc]
try:
    from .._datagrams import receive_all as _native_receive_all
except ImportError:  # (as the pacer)
    _native_receive_all = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; Python does not export it
TIMESPEC = struct.Struct("@ll")
CMSG_SPACE = socket.CMSG_SPACE(TIMESPEC.size)
MAX_DATAGRAM = 2048  # RTP packets stay under 1200 bytes; STUN under 600

Datagram = tuple[float, bytes, tuple[str, int]]  # (arrival, data, source address)


def realtime_offset() -> float:
    """CLOCK_REALTIME minus CLOCK_MONOTONIC, now (it moves only with clock steps)."""
    return time.time() - time.monotonic()


def enable_timestamps(sock: socket.socket) -> bool:
    """Ask the kernel to stamp every datagram ``sock`` receives."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        log.info("no kernel receive timestamps; arrivals are stamped when read")
        return False
    return True


def is_rtp(data: bytes) -> bool:
    """RTP version 2 (RFC 7983 section 7: first byte 128-191); STUN starts with 0-3."""
    return bool(data) and data[0] & 0xC0 == 0x80


def receive_all(sock: socket.socket) -> list[Datagram]:
    """Every datagram waiting on the non-blocking ``sock``, in arrival order, each with
    its arrival time on the monotonic clock. Without a kernel stamp the time of
    reading stands in. Natively (jcall/_datagrams.c) where it was built."""
    if _native_receive_all is not None:
        try:
            return _native_receive_all(sock.fileno())
        except OSError as exc:  # e.g. an ICMP error queued on the socket
            log.info("media socket: %s", exc)
            return []
    return receive_all_python(sock, realtime_offset())


def receive_all_python(sock: socket.socket, offset: float) -> list[Datagram]:
    """:func:`receive_all` in Python: the reference, and the fallback (``offset``:
    :func:`realtime_offset`)."""
    out: list[Datagram] = []
    while True:
        try:
            data, ancillary, _, addr = sock.recvmsg(MAX_DATAGRAM, CMSG_SPACE)
        except BlockingIOError:
            return out
        except OSError as exc:  # e.g. an ICMP error queued on the socket
            log.info("media socket: %s", exc)
            return out
        # SO_TIMESTAMPNS is the only control message asked for
        if ancillary and ancillary[0][1] == SO_TIMESTAMPNS:
            sec, nsec = TIMESPEC.unpack_from(ancillary[0][2])
            arrival = sec + nsec * 1e-9 - offset
        else:
            arrival = time.monotonic()
        out.append((arrival, data, (addr[0], addr[1])))


def open_pacer(sock: socket.socket, remote: tuple[str, int]) -> Pacer | None:
    """A native thread sending on ``sock`` to ``remote`` at deadlines (jcall/_pacer.c),
    or None where the extension was not built. ``sock`` must outlive its close()."""
    if Pacer is None:
        return None
    try:
        return Pacer(sock.fileno(), remote[0], remote[1])
    except (ValueError, OSError) as exc:  # the Python media thread sends instead
        log.info("no native pacer: %s", exc)
        return None
