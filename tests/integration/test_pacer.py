"""jcall._pacer over real loopback sockets: each datagram leaves at its deadline, as
the receiving kernel's timestamps show. The suite's setup builds the extension
(scripts/setup); a checkout where it failed to build fails here, not silently slower."""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Iterator

import pytest

from jcall._pacer import Pacer
from jcall.transport.udp import enable_timestamps, receive_all

# The kernel timer's wake-up comes a little after the deadline (timer slack, and
# ~0.2 ms on this kind of VM); a wake-up can be later under load, never earlier.
LATE_S = 0.005


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    b.bind(("127.0.0.1", 0))
    b.setblocking(False)
    assert enable_timestamps(b)
    yield a, b
    a.close()
    b.close()


def received(sock: socket.socket) -> list[tuple[float, bytes]]:
    return [(arrival, data) for arrival, data, _ in receive_all(sock)]


def test_each_datagram_leaves_at_its_deadline(pair: tuple[socket.socket, socket.socket]
                                              ) -> None:
    a, b = pair
    pacer = Pacer(a.fileno(), "127.0.0.1", b.getsockname()[1])
    t0 = time.monotonic() + 0.020
    deadlines = [t0 + k * 0.010 for k in range(20)]
    for k, due in enumerate(deadlines):
        pacer.schedule(due, bytes([k]) * 900)
    time.sleep(deadlines[-1] - time.monotonic() + 0.050)
    got = received(b)
    assert [data[0] for _, data in got] == list(range(20))
    assert all(len(data) == 900 for _, data in got)
    for (arrival, _), due in zip(got, deadlines, strict=True):
        assert due <= arrival < due + LATE_S, (arrival - due)
    assert pacer.counters() == (20, 20 * 900, 0, 0)
    assert pacer.close() == 0


def test_deadline_order_and_a_past_deadline_at_once(
        pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    pacer = Pacer(a.fileno(), "127.0.0.1", b.getsockname()[1])
    t0 = time.monotonic() + 0.030
    pacer.schedule(t0 + 0.010, b"c")
    pacer.schedule(t0, b"a")
    pacer.schedule(t0, b"b")  # an equal deadline keeps its place after the first
    before = time.monotonic()
    pacer.schedule(before - 1.0, b"now")  # due long ago: sent at once, first
    pacer.schedule(-5.5, b"then")  # (before the clock's epoch: the same)
    time.sleep(0.005)
    early = received(b)
    assert sorted(d for _, d in early) == [b"now", b"then"]  # (racing the thread)
    assert all(arrival < before + LATE_S for arrival, _ in early)
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="finite"):
            pacer.schedule(bad, b"never")
    time.sleep(t0 + 0.010 - time.monotonic() + 0.030)
    assert [d for _, d in received(b)] == [b"a", b"b", b"c"]
    pacer.close()


def test_close_is_prompt_and_drops_what_is_not_due(
        pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    pacer = Pacer(a.fileno(), "127.0.0.1", b.getsockname()[1])
    for k in range(3):
        pacer.schedule(time.monotonic() + 10 + k, b"later")
    start = time.monotonic()
    assert pacer.close() == 3
    assert time.monotonic() - start < 0.050
    assert pacer.close() == 0  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        pacer.schedule(0.0, b"x")
    time.sleep(0.010)
    assert received(b) == []


def test_a_failed_send_is_counted_not_raised(pair: tuple[socket.socket, socket.socket]
                                             ) -> None:
    a, b = pair
    pacer = Pacer(a.fileno(), "127.0.0.1", b.getsockname()[1])
    pacer.schedule(0.0, bytes(70000))  # larger than any UDP datagram
    pacer.schedule(0.0, b"fine")
    time.sleep(0.010)
    assert pacer.counters() == (1, 4, 1, errno.EMSGSIZE)
    assert [d for _, d in received(b)] == [b"fine"]
    pacer.close()


def test_only_a_numeric_address() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, \
            pytest.raises(ValueError, match="numeric"):
        Pacer(s.fileno(), "localhost", 5000)


def test_ipv6() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        a = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        b = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        a.bind(("::1", 0))
        b.bind(("::1", 0))
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback: {exc}")
    with a, b:
        b.settimeout(1.0)
        pacer = Pacer(a.fileno(), "::1", b.getsockname()[1])
        pacer.schedule(0.0, b"v6")
        assert b.recv(100) == b"v6"
        pacer.close()
