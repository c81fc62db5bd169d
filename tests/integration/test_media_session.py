"""MediaSession over a real ICE connection (two aioice agents on loopback, no server):
the media thread's timeline, checked sample by sample and against the clock."""

from __future__ import annotations

import asyncio
import gc
import secrets
import socket
import struct
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jcall.audio.files import read_wav, write_wav
from jcall.audio.settings import AudioSettings
from jcall.media import MediaSession, opener
from jcall.media import session as media
from jcall.signaling.gingle import PayloadType
from jcall.transport.ice import IceTransport
from jcall.transport.servers import IceServers, TurnServer

RATE = 44100
L16 = PayloadType(id=11, name="L16", clockrate=RATE)
# A sample waits for its 10 ms packet to fill, then the jitter buffer's start delay
# (10 ms floor + 2 ms margin); the playout grid is re-phased to the first packet.
NOMINAL_S = 0.010 + 0.012


@pytest.fixture(params=["native pacer", "python pacing"])
def pacing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The media thread's two ways of sending: jcall._pacer, or its own wake-ups."""
    monkeypatch.setattr(media, "NATIVE_PACING", request.param == "native pacer")
    return str(request.param)


@pytest.fixture(autouse=True)
def frozen_heap() -> Iterator[None]:
    """As a jcall process does while a call is in progress (jcall/heap.py): the test
    runner's heap is large, and a full collection during a call makes packets late."""
    gc.freeze()
    yield
    gc.unfreeze()


def signal(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 4000, int(seconds * RATE)) + 600  # never zero: the start shows
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16).reshape(-1, 1)


async def connected_pair() -> tuple[IceTransport, IceTransport]:
    a = IceTransport(controlling=True, host_addresses=["127.0.0.1"])
    b = IceTransport(controlling=False, host_addresses=["127.0.0.1"])
    a_cands, b_cands = await asyncio.gather(a.gather(), b.gather())
    a.add_remote(b_cands)
    b.add_remote(a_cands)
    await asyncio.wait_for(asyncio.gather(a.connected, b.connected), 5)
    return a, b


def delay_s(sent: np.ndarray, got: np.ndarray, source_start: float, sink_start: float
            ) -> tuple[float, int]:
    """Mouth-to-ear delay of the first received sample, and where it is in ``sent``;
    asserts that from there on everything received is the input, sample-exactly."""
    m = int(np.argmax(got[:, 0] != 0))
    block = got[m:m + 441, 0]
    window = np.lib.stride_tricks.sliding_window_view(sent[:, 0], len(block))
    hits = np.nonzero((window == block).all(axis=1))[0]
    assert len(hits) == 1, "the first received block is not in the input"
    i = int(hits[0])
    n = min(len(sent) - i, len(got) - m) - 441  # the peer may stop sending first
    assert n > RATE // 2
    assert np.array_equal(got[m:m + n], sent[i:i + n])
    return (sink_start + m / RATE) - (source_start + i / RATE), i


async def exchange(a: IceTransport, b: IceTransport, tmp_path: Path, late_s: float = 0.0,
                   busy_s: float = 0.0, linger_s: float = 0.0
                   ) -> tuple[dict[str, Any], list[float], list[int]]:
    """Over connected ``a`` and ``b`` (closed at the end), each end sends its own signal
    from a file and records what it hears; b's media starts ``late_s`` after a's, and
    then the event loop is kept busy for ``busy_s``; b stops ``linger_s`` after a (as a
    callee does when the hang-up comes through the server after the last packet).
    Returns both ends' stats, the delays a -> b and b -> a, and where each end's first
    received sample is in what the other sent."""
    a_in, b_in = signal(1.5, 1), signal(1.5, 2)
    write_wav(tmp_path / "a.wav", a_in, RATE)
    write_wav(tmp_path / "b.wav", b_in, RATE)
    ma = MediaSession(a, (L16,), opener(AudioSettings(input=tmp_path / "a.wav",
                                                      output=tmp_path / "a_got.wav")))
    mb = MediaSession(b, (L16,), opener(AudioSettings(input=tmp_path / "b.wav",
                                                      output=tmp_path / "b_got.wav")))
    try:
        await ma.start()
        await asyncio.sleep(late_s)  # a's packets wait in b's transport meanwhile
        await mb.start()
        time.sleep(busy_s)  # (blocking on purpose: the event loop reads nothing)
        await asyncio.sleep(1.2)
        stats = {"a": await ma.stop()}
        await asyncio.sleep(linger_s)
        stats["b"] = await mb.stop()
        for m in (ma, mb):  # the media thread sends the way it was asked to (a relay's
            # packets go through the event loop)
            assert m._thread is not None
            assert (m._pacer is not None) == (media.NATIVE_PACING and m._direct is not None)
    finally:
        for t in (a, b):
            await t.close()
    a_got, _ = read_wav(tmp_path / "a_got.wav")
    b_got, _ = read_wav(tmp_path / "b_got.wav")
    assert ma.sink_start is not None and mb.sink_start is not None
    d_ab, i_ab = delay_s(a_in, b_got, ma.started_at, mb.sink_start)
    d_ba, i_ba = delay_s(b_in, a_got, mb.started_at, ma.sink_start)
    assert ma.codec_name == mb.codec_name == "L16/44100"
    return stats, [d_ab, d_ba], [i_ab, i_ba]


def assert_whole_and_on_time(stats: dict[str, Any], delays: list[float], firsts: list[int]
                             ) -> None:
    """Both ends heard the other from its first sample, at the nominal delay, with
    nothing late or concealed."""
    assert firsts == [0, 0]  # nothing skipped
    for d in delays:
        assert NOMINAL_S - 0.0005 < d < NOMINAL_S + 0.002, delays
    for s in stats.values():
        assert s["received"]["late"] == 0 and s["received"]["concealed_ms"] == 0


async def test_media_thread_is_sample_exact_at_the_nominal_delay(
        tmp_path: Path, pacing: str) -> None:
    stats, delays, firsts = await exchange(*await connected_pair(), tmp_path)
    assert_whole_and_on_time(stats, delays, firsts)


async def test_a_late_start_loses_nothing_and_keeps_the_delay(
        tmp_path: Path, pacing: str) -> None:
    """b's media starts 80 ms after a's: a's first packets wait in b's transport with
    their arrival times. b's file must still hold all of a's audio, at the nominal
    delay (not 80 ms late for the rest of the call)."""
    stats, delays, firsts = await exchange(*await connected_pair(), tmp_path, late_s=0.080)
    assert_whole_and_on_time(stats, delays, firsts)


async def test_a_busy_event_loop_does_not_move_arrival_times(
        tmp_path: Path, pacing: str) -> None:
    """The event loop reads the socket until the peer's first RTP has come; if it is
    busy then, the packets wait in the socket. Their arrival times must be the
    kernel's, not the time they were read, or the whole call plays that much later."""
    stats, delays, firsts = await exchange(*await connected_pair(), tmp_path, busy_s=0.050)
    assert_whole_and_on_time(stats, delays, firsts)


async def test_a_hang_up_after_the_last_packet_adds_no_concealment(
        tmp_path: Path, pacing: str) -> None:
    """b stops 60 ms after a's last packet, longer than its jitter buffer holds: what
    b writes at hang-up ends with what it received, no concealment is made up for the
    time in between."""
    stats, delays, firsts = await exchange(*await connected_pair(), tmp_path, linger_s=0.060)
    assert_whole_and_on_time(stats, delays, firsts)


async def stun_round_trips(addr: tuple[str, int], count: int) -> list[float]:
    """Send unauthenticated STUN Binding requests to ``addr`` 13 ms apart (out of step
    with the media thread's passes); how long each answer (400, RFC 8489 section
    9.1.3) took."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.connect(addr)
    times = []
    try:
        for _ in range(count):
            txid = secrets.token_bytes(12)
            start = time.monotonic()
            await loop.sock_sendall(sock, struct.pack("!HHI", 0x0001, 0, 0x2112A442) + txid)
            while True:
                answer = await asyncio.wait_for(loop.sock_recv(sock, 2048), 1.0)
                if answer[8:20] == txid:
                    break
            times.append(time.monotonic() - start)
            await asyncio.sleep(0.013)
    finally:
        sock.close()
    return times


async def test_stun_is_answered_at_once_until_the_peer_sends_media(
        tmp_path: Path) -> None:
    """A controlled peer may still be checking when our media starts (its check waits
    for our answer). Until its RTP comes, our ICE agent must answer at once, not at
    the media thread's next receive pass (every 100 ms); after, the thread still
    hands STUN back to it (consent checks)."""
    a, b = await connected_pair()
    write_wav(tmp_path / "a.wav", signal(1.0, 1), RATE)
    path = a.direct()
    assert path is not None
    local = path.sock.getsockname()
    path.sock.close()
    ma = MediaSession(a, (L16,), opener(AudioSettings(input=tmp_path / "a.wav",
                                                      mute_output=True)))
    mb = MediaSession(b, (L16,), opener(AudioSettings(input=tmp_path / "a.wav",
                                                      mute_output=True)))
    try:
        await ma.start()
        before = await stun_round_trips(local, 8)
        await mb.start()
        await asyncio.sleep(0.1)
        after = await stun_round_trips(local, 3)
        stats = await ma.stop()
    finally:
        await mb.stop()
        for t in (a, b):
            await t.close()
    assert max(before) < 0.020, before
    assert max(after) < 0.5, after
    assert stats["received"]["packets"] > 0


async def test_media_over_a_turn_relay(tmp_path: Path, coturn: object) -> None:
    """Both ends offer only their relayed candidates (as behind symmetric NATs), so
    the path goes through coturn: the media runs on the event loop (aioice wraps every
    datagram) and must still arrive sample-exactly at the nominal delay."""
    host, port = coturn.address  # type: ignore[attr-defined]
    servers = IceServers(turn=(TurnServer(host, port, coturn.user,  # type: ignore[attr-defined]
                                          coturn.password),))  # type: ignore[attr-defined]
    a = IceTransport(controlling=True, servers=servers, host_addresses=["127.0.0.1"])
    b = IceTransport(controlling=False, servers=servers, host_addresses=["127.0.0.1"])
    a_cands, b_cands = await asyncio.gather(a.gather(), b.gather())
    a.add_remote([c for c in b_cands if c.type == "relay"])
    b.add_remote([c for c in a_cands if c.type == "relay"])
    await asyncio.wait_for(asyncio.gather(a.connected, b.connected), 5)
    assert "(relay)" in a.selected or "(relay)" in b.selected, (a.selected, b.selected)
    relayed = [t for t in (a, b) if t.direct() is None]
    assert relayed  # at least one end sends through aioice's TURN client
    stats, delays, _ = await exchange(a, b, tmp_path)
    for d in delays:  # a relay hop on loopback adds well under a millisecond
        assert NOMINAL_S - 0.0005 < d < NOMINAL_S + 0.003, delays
    for s in stats.values():
        assert s["received"]["lost"] == 0 and s["received"]["concealed_ms"] == 0, s


class FakeDevices:
    """The call's sound devices, whose periods the test runs through a device clock,
    native or the Python reference (the callback's work, without PortAudio:
    tests/integration/test_jack.py runs the real one)."""

    device_rate = 48000

    def __init__(self, native: bool, channels_in: int = 1, channels_out: int = 1) -> None:
        from jcall.audio.deviceclock import frame_clock

        self.channels_in, self.channels_out = channels_in, channels_out
        self.clock = frame_clock(1, 1, 480, 48000, 24000, native)
        assert (type(self.clock).__name__ == "DeviceClock") == native

    def device_stats(self) -> dict[str, dict[str, int]]:
        counts = self.clock.counters()
        return {"input_device": {"xruns": counts["input_xruns"]},
                "output_device": {"xruns": counts["output_xruns"]}}

    def start(self, tick: Any) -> None:
        self.clock.start(tick)

    def send_l16(self, sock: socket.socket, remote: tuple[str, int], packetizer: Any) -> Any:
        if type(self.clock).__name__ != "DeviceClock":
            return None
        self.clock.send_l16(sock.fileno(), remote[0], remote[1],  # type: ignore[attr-defined]
                            packetizer.payload_type, packetizer.ssrc, packetizer.sequence,
                            packetizer.timestamp)
        return self.clock

    def receive_l16(self, jitter: object, kinds: bytes, frame: int, report: Any) -> Any:
        if type(self.clock).__name__ != "DeviceClock":
            return None
        self.clock.receive_l16(jitter, kinds, self.device_rate,  # type: ignore[attr-defined]
                               self.channels_out, frame, report)
        return self.clock

    def period(self, captured: np.ndarray) -> np.ndarray:
        out = self.clock.period(captured.tobytes(), len(captured))
        return np.frombuffer(out, np.int16).reshape(-1, 1)

    def close(self) -> None:
        pass


@pytest.mark.parametrize("native", [True, False], ids=["native", "python"])
async def test_the_device_clock_sends_what_it_captures_and_plays_what_arrives(
        native: bool) -> None:
    """Both ends of the audio are devices at the codec's rate (L16/48000): each
    256-frame period's capture goes out sample-exactly in 10 ms packets, the peer's
    packets (10 ms apart, each arriving 1 ms before a period) come out of the speaker
    sample-exactly, and mute sends silence. The periods run on a test clock."""
    from jcall.rtp.packet import RtpPacket
    from jcall.transport.base import DirectPath
    from tests.fakes import FakeTransport

    ours, peer = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2))
    for s in (ours, peer):
        s.bind(("127.0.0.1", 0))
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)  # (read at the end)
    path = DirectPath(sock=ours, remote=peer.getsockname(), admits=lambda _: True,
                      stun=lambda *a: None, pause=lambda: None, resume=lambda: None)
    transport = FakeTransport()
    transport.direct = lambda: path  # type: ignore[method-assign,assignment]
    device = FakeDevices(native)

    async def open_stream(audio: AudioSettings, nchannels: int, packet_s: float
                          ) -> FakeDevices:
        assert packet_s == 0.010
        return device

    l16 = PayloadType(id=96, name="L16", clockrate=48000)
    session = MediaSession(transport, (l16,), opener(AudioSettings(), open_stream))
    await session.start()
    now = 1000.0
    session._clock = lambda: now
    mic, theirs = signal(1.2, 3), signal(1.2, 4)
    heard: list[np.ndarray] = []
    period = 256
    packets = 0  # the peer's, sent so far: one per 10 ms, arriving 0.5 ms later
    for k in range(len(mic) // period):
        now = 1000.0 + k * period / 48000
        while packets < len(theirs) // 480 and 1000.0 + packets * 0.010 + 0.0005 <= now:
            j = packets
            payload = theirs[480 * j:480 * j + 480].byteswap().tobytes()
            session._inbox.append((1000.0 + j * 0.010 + 0.0005,
                                   bytes(RtpPacket(96, j, 480 * j, 9, payload))))
            packets += 1
        if k == 150:
            session.set_muted(True)
        heard.append(device.period(mic[period * k:period * (k + 1)]))
    stats = await session.stop()
    peer.setblocking(False)
    sent = []
    while True:
        try:
            sent.append(RtpPacket.parse(peer.recv(2048)))
        except BlockingIOError:
            break
    # One RTP stream, numbered on from the packetizer, marked at its start; the
    # native clock sends it itself (the tick then only plays out).
    assert [p.marker for p in sent[:2]] == [True, False] and not any(p.marker for p in sent[1:])
    assert {p.ssrc for p in sent} == {session.packetizer.ssrc}
    assert [(p.sequence - sent[0].sequence) % 65536 for p in sent] == list(range(len(sent)))
    assert [(p.timestamp - sent[0].timestamp) % 2**32 for p in sent] == \
        [480 * i for i in range(len(sent))]
    assert stats["sent"]["packets"] == len(sent)
    assert (session._native_sender is not None) == native
    got = np.concatenate([np.frombuffer(p.payload, ">i2").astype(np.int16) for p in sent])
    muted_from = next(i for i, p in enumerate(sent) if not np.frombuffer(p.payload, ">i2").any())
    assert 150 * period // 480 <= muted_from <= 150 * period // 480 + 1
    assert np.array_equal(got[:480 * muted_from], mic[:480 * muted_from, 0])
    assert not got[480 * (muted_from + 1):].any()
    played = np.concatenate(heard)[:, 0]
    start = int(np.argmax(played != 0))
    assert start / 48000 < 0.040  # (the first packet at 10 ms, then the jitter buffer's delay)
    n = len(played) - start
    assert n > 48000
    assert np.array_equal(played[start:], theirs[:n, 0])
    received = stats["received"]
    assert stats["codec"] == "L16/48000" and received["lost"] == received["late"] == 0
    assert received["concealed_ms"] == received["expanded_ms"] == 0
    assert "input_device" in stats and "output_device" in stats
    peer.close()


class HandOverInbox(deque[tuple[float, bytes]]):
    """An inbox whose first look from the reader is interleaved with the event loop's
    hand-over: the loop leaves its last datagram and gives the socket up right then."""

    def __init__(self, hand_over: Any) -> None:
        super().__init__()
        self._hand_over = hand_over

    def __len__(self) -> int:
        n = super().__len__()
        if self._hand_over is not None:
            hand_over, self._hand_over = self._hand_over, None
            hand_over()
        return n


async def test_a_datagram_left_in_the_inbox_at_the_hand_over_is_not_overtaken() -> None:
    """The event loop puts its last datagram (P1) in the inbox, then the media reads
    the socket itself; if that happens while the media looks, the socket's newer
    datagram (P2) must not be taken before P1 (P1 would then come a pass late, after
    its frame was played: concealed in the CI soak once)."""
    from jcall.rtp.packet import RtpPacket
    from jcall.transport.base import DirectPath
    from tests.fakes import FakeTransport

    ours, peer = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2))
    try:
        for s in (ours, peer):
            s.bind(("127.0.0.1", 0))
        ours.setblocking(False)
        path = DirectPath(sock=ours, remote=peer.getsockname(), admits=lambda _: True,
                          stun=lambda *a: None, pause=lambda: None, resume=lambda: None)
        session = MediaSession(FakeTransport(), (L16,),
                               opener(AudioSettings(tone=440.0, mute_output=True)))
        session._direct = path
        p1 = bytes(RtpPacket(11, 1, 441, 9, bytes(882)))
        p2 = bytes(RtpPacket(11, 2, 882, 9, bytes(882)))
        peer.sendto(p2, ours.getsockname())
        time.sleep(0.01)

        def hand_over() -> None:
            session._inbox.append((time.monotonic() - 0.005, p1))
            session._owns_socket = True

        session._inbox = HandOverInbox(hand_over)
        taken = session._arrived() + session._arrived()
        assert [RtpPacket.parse(data).sequence for _, data in taken] == [1, 2]
    finally:
        ours.close()
        peer.close()


async def test_the_native_clock_receives_and_plays_without_python_once_it_owns_the_socket(
        ) -> None:
    """With L16 at the device's own format, the native clock runs the receive path and
    playout itself once the event loop has handed the socket over: the peer's packets,
    sent over loopback every 10 ms while the periods run in real time, come out of the
    speaker sample-exactly; STUN read there goes to the ICE agent, and the transport
    hears that media arrives."""
    from jcall.rtp.packet import RtpPacket
    from jcall.transport.base import DirectPath
    from jcall.transport.udp import enable_timestamps
    from tests.fakes import FakeTransport

    pytest.importorskip("jcall._deviceclock")
    pytest.importorskip("jcall._jitter")
    ours, peer = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2))
    for s in (ours, peer):
        s.bind(("127.0.0.1", 0))
    ours.setblocking(False)
    enable_timestamps(ours)
    stun: list[bytes] = []
    heard: list[float] = []
    path = DirectPath(sock=ours, remote=peer.getsockname(), admits=lambda _: False,
                      stun=lambda data, *_: stun.append(data), pause=lambda: None,
                      resume=lambda: None, heard=heard.append)
    transport = FakeTransport()
    transport.direct = lambda: path  # type: ignore[method-assign,assignment]
    device = FakeDevices(native=True)

    async def open_stream(audio: AudioSettings, nchannels: int, packet_s: float
                          ) -> FakeDevices:
        return device

    l16 = PayloadType(id=96, name="L16", clockrate=48000)
    session = MediaSession(transport, (l16,), opener(AudioSettings(), open_stream))
    await session.start()
    assert session._native_receiver is not None
    theirs = signal(1.5, 5)
    packets = [bytes(RtpPacket(96, j, 480 * j, 7, theirs[480 * j:480 * j + 480]
                               .byteswap().tobytes())) for j in range(len(theirs) // 480)]
    period, t0 = 256, time.monotonic() + 0.02

    def peer_sends() -> None:  # one packet every 10 ms, the first through the loop
        session._hand_over(path)(packets[0], t0)
        for j in range(1, len(packets)):
            time.sleep(max(0.0, t0 + j * 0.010 - time.monotonic()))
            peer.sendto(packets[j], ours.getsockname())
            if j == 50:
                peer.sendto(b"\x00\x01\x00\x00" + bytes(16), ours.getsockname())

    def device_runs() -> list[np.ndarray]:  # the callback's periods, in real time
        out = []
        for k in range(int(1.6 * 48000) // period):
            time.sleep(max(0.0, t0 + k * period / 48000 - time.monotonic()))
            out.append(np.frombuffer(device.clock.period(bytes(2 * period), period),
                                     np.int16))
        return out

    sender = asyncio.create_task(asyncio.to_thread(peer_sends))
    heard_audio = await asyncio.to_thread(device_runs)
    await sender
    await asyncio.sleep(0.05)  # (STUN crosses to the event loop)
    stats = await session.stop()
    assert session._native_reads
    played = np.concatenate(heard_audio)
    start = int(np.argmax(played != 0))
    n = min(len(played) - start, 480 * len(packets))
    assert n > 48000
    assert np.array_equal(played[start:start + n], theirs[:n, 0])
    received = stats["received"]
    assert received["packets"] == len(packets) and received["lost"] == 0
    # (what was played is exact above; concealment stands in only after the last packet)
    assert received["late"] == received["expanded_ms"] == 0 and received["ssrc"] == 7
    assert stun and stun[0][:2] == b"\x00\x01"
    assert heard and heard[-1] >= t0 + 1.0
    peer.close()
