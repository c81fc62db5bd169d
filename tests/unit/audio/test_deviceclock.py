"""The device clock's period (jcall/audio/deviceclock.py), the Python reference and the
native clock (jcall/_deviceclock.c) through the same cases."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from jcall.audio.deviceclock import Clock, FrameClock, Tick, frame_clock
from jcall.rtp.packet import RtpPacket

try:
    from jcall._deviceclock import DeviceClock
except ImportError:  # (the extension is optional; scripts/setup builds it)
    DeviceClock = None  # type: ignore[assignment,misc]

KINDS = ["python", pytest.param("native", marks=pytest.mark.skipif(
    DeviceClock is None, reason="jcall._deviceclock not built"))]


def make(kind: str, channels_in: int = 1, channels_out: int = 1, frame: int = 480,
         capacity: int = 4800, startup: int = 0) -> Clock:
    clock = frame_clock(channels_in, channels_out, frame, capacity, startup,
                        native=kind == "native")
    assert isinstance(clock, FrameClock) == (kind == "python")
    return clock


def recorder(calls: list[tuple[bytes, int]]) -> Tick:
    """A tick that notes its calls and returns silence for what is short."""

    def tick(captured: bytes, short: int) -> bytes:
        calls.append((captured, short))
        return bytes(2 * short)

    return tick


def pcm(values: range | list[int], channels: int = 1) -> bytes:
    return np.repeat(np.array(values, dtype=np.int16), channels).tobytes()


@pytest.mark.parametrize("kind", KINDS)
def test_before_start_it_plays_silence_and_keeps_nothing(kind: str) -> None:
    clock = make(kind)
    assert clock.period(pcm(range(256)), 256) == bytes(512)
    calls: list[tuple[bytes, int]] = []
    clock.start(recorder(calls))
    clock.period(pcm(range(256)), 256)
    assert calls == [(b"", 256)]  # (the 256 captured before start are gone)


@pytest.mark.parametrize("kind", KINDS)
def test_the_tick_comes_once_per_packet_with_whole_packets(kind: str) -> None:
    """256-frame periods, 480-frame packets: the tick gets each packet once, in order,
    in the period that completes it; what it returns is played on, sample-exactly,
    and a period it cannot fill plays silence where samples are missing."""
    clock = make(kind)
    captured: list[bytes] = []
    shorts: list[int] = []
    played_in = iter(range(0, 10**6, 480))

    def tick(packets: bytes, short: int) -> bytes:
        captured.append(packets)
        shorts.append(short)
        if not short:
            return b""
        start = next(played_in)
        return pcm(range(start, start + 480))

    clock.start(tick)
    mic = np.arange(30 * 256, dtype=np.int16)
    out = b"".join(clock.period(mic[k * 256:(k + 1) * 256].tobytes(), 256) for k in range(30))
    sent = np.frombuffer(b"".join(captured), np.int16)
    assert np.array_equal(sent, mic[:len(sent)]) and len(sent) == 30 * 256 // 480 * 480
    assert all(len(c) % 960 == 0 for c in captured)
    assert len(captured) <= 16 + 2  # (30 periods, 16 packets: a tick per packet, not per period)
    played = np.frombuffer(out, np.int16)
    assert np.array_equal(played, np.arange(30 * 256) % 32768)
    assert shorts[0] == 256


@pytest.mark.parametrize("kind", KINDS)
def test_channels_and_long_periods(kind: str) -> None:
    """Stereo capture into mono playout; a period of several packets hands them
    over in one tick."""
    clock = make(kind, channels_in=2, channels_out=1, frame=100)
    calls: list[tuple[bytes, int]] = []
    clock.start(recorder(calls))
    out = clock.period(pcm(range(350), 2), 350)
    assert len(out) == 700 and calls[0] == (pcm(range(300), 2), 350)
    clock.period(pcm(range(350, 400), 2), 50)
    assert calls[1][0] == pcm(range(300, 400), 2)


@pytest.mark.parametrize("kind", KINDS)
def test_a_tick_that_falls_behind_loses_the_oldest_and_a_raising_one_is_counted(
        kind: str) -> None:
    clock = make(kind, frame=100, capacity=200)
    got: list[bytes] = []

    def tick(captured: bytes, short: int) -> bytes:
        got.append(captured)
        if len(got) == 2:
            raise RuntimeError("once")
        return pcm(range(1000, 1000 + 500))  # (more than there is room for)

    clock.start(tick)
    clock.period(pcm(range(50)), 50)
    clock.period(pcm(range(50, 550)), 500)  # (the capture buffer holds 200)
    assert got[1] == pcm(range(350, 550))
    counts = clock.counters()
    assert counts["failures"] == 1
    assert counts["dropped"] == 300 + 350  # (300 to play, then 350 captured)
    assert counts["callbacks"] == 2 and counts["frames"] == 550


@pytest.mark.parametrize("kind", KINDS)
def test_xruns_are_told_apart_by_direction_and_start_up(kind: str) -> None:
    clock = make(kind, startup=512)
    clock.start(lambda captured, short: bytes(2 * short))
    for status in (0x2, 0x4, 0x1 | 0x8, 0x0, 0x4):
        clock.period(pcm(range(256)), 256, status)
    counts = clock.counters()
    assert (counts["input_startup_xruns"], counts["output_startup_xruns"]) == (1, 1)
    assert (counts["input_xruns"], counts["output_xruns"]) == (1, 2)


@pytest.mark.skipif(DeviceClock is None, reason="jcall._deviceclock not built")
def test_the_native_sender_sends_each_packet_as_l16_rtp() -> None:
    """Each whole packet goes out the moment it is captured: network byte order
    behind an RTP header numbered on from the packetizer's, marked at the start
    (RFC 3550 5.1, RFC 3551 4.1); muted, silence; the tick gets no captured audio."""
    ours, peer = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2))
    try:
        for s in (ours, peer):
            s.bind(("127.0.0.1", 0))
        clock = DeviceClock(2, 2, 100, 1000, 0)
        host, port = peer.getsockname()
        clock.send_l16(ours.fileno(), host, port, 96, 0xDEADBEEF, 65535, 2**32 - 150)
        calls: list[tuple[bytes, int]] = []
        clock.start(recorder(calls))
        clock.period(pcm(range(250), 2), 250)
        clock.muted = True
        clock.period(pcm(range(250, 300), 2), 50)
        with pytest.raises(RuntimeError):
            clock.send_l16(ours.fileno(), host, port, 96, 1, 1, 1)
        peer.settimeout(1.0)
        packets = [RtpPacket.parse(peer.recv(2048)) for _ in range(3)]
        assert [(p.sequence, p.timestamp, p.marker) for p in packets] == [
            (65535, 2**32 - 150, True), (0, 2**32 - 50, False), (1, 50, False)]
        assert {(p.ssrc, p.payload_type) for p in packets} == {(0xDEADBEEF, 96)}
        assert packets[0].payload == np.repeat(np.arange(100), 2).astype(">i2").tobytes()
        assert packets[1].payload == np.repeat(np.arange(100, 200), 2).astype(">i2").tobytes()
        assert packets[2].payload == bytes(400)  # (muted)
        assert clock.last_sent() == bytes(400)
        assert clock.sent() == (3, 3 * 412, 0, 0)
        assert all(captured == b"" for captured, _ in calls)
    finally:
        ours.close()
        peer.close()
