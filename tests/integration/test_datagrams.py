"""jcall._datagrams over real loopback sockets: the same datagrams, sources and kernel
arrival times as udp.receive_all in Python, IPv4 and IPv6, stamped or not. The suite's
setup builds the extension (scripts/setup)."""

from __future__ import annotations

import socket
import time

import pytest

from jcall._datagrams import receive_all
from jcall.transport.udp import enable_timestamps, realtime_offset, receive_all_python


def pair(family: socket.AddressFamily, stamped: bool) -> tuple[socket.socket, socket.socket]:
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    a, b = socket.socket(family, socket.SOCK_DGRAM), socket.socket(family, socket.SOCK_DGRAM)
    a.bind((host, 0))
    b.bind((host, 0))
    b.setblocking(False)
    if stamped:
        assert enable_timestamps(b)
        # The kernel turns its receive stamping on a moment later (a deferred static
        # key, when no other socket has it on); until then reads are stamped when read.
        time.sleep(0.05)
    return a, b


@pytest.mark.parametrize("stamped", [True, False], ids=["stamped", "unstamped"])
@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6], ids=["ipv4", "ipv6"])
def test_native_and_python_read_the_same(family: socket.AddressFamily, stamped: bool) -> None:
    a, b = pair(family, stamped)
    try:
        assert receive_all(b.fileno()) == []
        sent_at = []
        for k in range(6):
            sent_at.append(time.monotonic())
            a.sendto(bytes([k]) * (100 + k), b.getsockname())
            time.sleep(0.002)
        time.sleep(0.01)
        read_at = time.monotonic()
        native = receive_all(b.fileno())
        for k in range(6):
            a.sendto(bytes([k]) * (100 + k), b.getsockname())
        python = receive_all_python(b, realtime_offset())
        source = a.getsockname()[:2]
        assert [(d, s) for _, d, s in native] == [(d, s) for _, d, s in python] == \
            [(bytes([k]) * (100 + k), source) for k in range(6)]
        arrivals = [t for t, _, _ in native]
        if stamped:  # (each at its send, before the next one and before the read)
            for arrival, sent, then in zip(arrivals, sent_at, [*sent_at[1:], read_at],
                                           strict=True):
                assert sent <= arrival < then, (arrival - sent, then - sent)
        else:
            assert all(read_at <= t < read_at + 0.05 for t in arrivals)
        assert receive_all(b.fileno()) == []
    finally:
        a.close()
        b.close()


def test_a_queued_error_is_raised_once_and_the_adapter_logs_it() -> None:
    """An ICMP port unreachable queued on the socket: raised when nothing was read
    before it (udp.receive_all logs it and returns nothing), then reading goes on."""
    import jcall.transport.udp as udp

    dead = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dead.bind(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        c.bind(("127.0.0.1", 0))
        c.setblocking(False)
        c.connect(("127.0.0.1", port))
        c.send(b"x")
        time.sleep(0.01)
        with pytest.raises(ConnectionRefusedError):
            receive_all(c.fileno())
        assert receive_all(c.fileno()) == []
        c.send(b"x")
        time.sleep(0.01)
        assert udp.receive_all(c) == []
    finally:
        c.close()
    with pytest.raises(OSError):
        receive_all(c.fileno())  # (-1: closed)


@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6], ids=["ipv4", "ipv6"])
def test_each_datagram_keeps_its_own_source(family: socket.AddressFamily) -> None:
    """The native reader formats a source once and reuses it while the source stays
    the same: datagrams from two senders, interleaved, still name each their own."""
    a, b = pair(family, stamped=False)
    c = socket.socket(family, socket.SOCK_DGRAM)
    try:
        c.bind((a.getsockname()[0], 0))
        senders = [a, c, c, a, a, c]
        for k, sender in enumerate(senders):
            sender.sendto(bytes([k]), b.getsockname())
        time.sleep(0.01)
        got = [(d, s) for _, d, s in receive_all(b.fileno())]
        c.sendto(b"again", b.getsockname())
        time.sleep(0.01)
        got += [(d, s) for _, d, s in receive_all(b.fileno())]
        assert got == [(bytes([k]), s.getsockname()[:2]) for k, s in enumerate(senders)] + \
            [(b"again", c.getsockname()[:2])]
    finally:
        for s in (a, b, c):
            s.close()
