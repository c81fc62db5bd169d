"""Voice over the nominated ICE path: RTP out of a source, RTP into the jitter buffer,
frames out to a sink. Orchestration: the codecs, RTP, the receive path (receive.py)
and playout (playout.py) are pure; the source/sink are files or devices; the transport
is the call's MediaTransport (RFC or Google ICE, jcall/transport/).

Three paths per call, none of them a task woken per packet (CPU per call second is
a product target):
* **send** -- a paced source is read at absolute deadlines (frame k at t0 + (k+1)
  frames: a frame is complete only once its last sample has entered), encoded,
  packetized and sent; a device source sends as its callbacks deliver;
* **receive** -- datagrams are read with their kernel arrival times and go through
  the receive path (receive.py): filtered (payload type, SSRC), counted (RFC 3550),
  decoded and pushed into the jitter buffer with their arrival time;
* **playout** -- at each frame's due time (or when the device asks), frames are
  pulled from the jitter buffer (playout.py) and written to the sink. A paced sink's
  grid is re-phased once, at the first packet, so that playout starts exactly when
  the jitter buffer allows rather than up to a frame later; the gap is written as
  silence, so an output file keeps a continuous timeline.

Two clocks drive them. What a **sound device** does -- capture, playout, or both --
runs on the device's clock (the *device clock*, audio/deviceclock.py): its callback
gathers captured samples into packets and plays samples queued before, and once a
packet is captured or a period needs more to play, it calls the media's tick, which
sends the packet, takes what arrived (kernel arrival times) and pulls playout at that
time, never waiting for the event loop. The callback itself is native where
jcall/_deviceclock.c was built, so the periods in between cost no Python. Where the
device also plays the session's own format (L16 at its rate and channels), the native
clock runs the receive path and playout too (jcall/_receive_core.c, over the C jitter
buffer), once it reads the socket: a period then enters Python only for STUN, for
payloads it does not decode, and to say every 100 ms that media arrives.

What no device drives -- a file, a tone or silence, at either end or both -- runs on
one **media thread**, with the same receive and playout code. Every ``RECEIVE_PASS_S``
it takes what arrived and plays the frames that fell due meanwhile, exactly as a sink
paced at each frame's due time would have played them: before each frame is pulled,
precisely the packets whose kernel arrival timestamps are not later than its due
time are pushed (the jitter buffer only ever sees time through those stamps). A file
is written up to 100 ms after the due times; what is in it does not change. The
packets go out at their deadlines from the native pacer (jcall/_pacer.c), which the
thread hands the next passes' packets to; where that extension was not built, or on
a relay, the thread itself wakes once per packet (at most every 10 ms) by a plain
sleep to an absolute deadline and sends what is due. Why: on this kind of machine a
wake-up costs 50-80 us of CPU, and Python code after a sleep runs several times
slower than the same code run again at once; a Python wake-up per packet alone costs
~1.4 % of a core, a native one ~0.9 % (an asyncio timer per path cost 6 %). For the
same reason a paced source's packets are built ``SEND_BATCH`` frames at a time (read,
encoded, packetized): the source is not live, and reading a file or a tone ahead
changes nothing about what is sent or when.

On a direct path both clocks use the path's own socket. On a TURN relay the datagrams
are the event loop's (aioice's): packets cross to it to be sent, and what arrives
waits in an inbox for the clock that plays.

The clock that plays takes the socket over only once the peer's first RTP has come:
until then the event loop reads it, so the ICE agent answers STUN at once (a
controlled peer may still be checking, and waits for that answer) and hands RTP on.
Either way every RTP datagram carries the kernel's arrival time
(jcall/transport/udp.py), so neither a busy event loop nor the thread's receive
passes change what the jitter buffer sees.

Datagrams that come before media starts (the peer's media may start first) are held
by the transport with their arrival times. A paced sink's timeline then begins where
playout would have begun, so a file loses nothing and keeps the nominal delay; a
device cannot play in the past, so its jitter buffer drops what is already stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from .. import trace
from ..audio.convert import StreamResampler, channels
from ..audio.deviceclock import Aside, NativeReceiver, NativeSender
from ..audio.endpoints import BatchedSink, PacedSink, PacedSource
from ..audio.fifo import SampleFifo
from ..rtp.jitterbuffer import NativeJitterBuffer, jitter_buffer
from ..rtp.packetizer import Packetizer
from ..signaling.model import PayloadType
from ..transport.base import DirectPath
from ..transport.udp import Pacer, is_rtp, open_pacer, receive_all
from .endpoints import EndpointOpener, SoundStream
from .format import codec_of, packet_samples, supported
from .playout import NativePlayout, Playout
from .receive import NativeReceivePath, ReceivePath, native_kinds
from .send import PacedPackets, SendCounters
from .stats import levels, received

log = logging.getLogger(__name__)
Pcm = npt.NDArray[np.int16]

PLAYOUT_FRAME_S = 0.010
RECEIVE_PASS_S = 0.100  # media thread: how often it drains the socket and plays out
NATIVE_PACING = True  # the media thread sends through jcall._pacer where it was built


class Transport(Protocol):
    def send_now(self, data: bytes) -> None: ...

    def set_receiver(self, callback: Callable[[bytes, float], None] | None) -> None: ...

    def direct(self) -> DirectPath | None: ...

    @property
    def stray(self) -> int: ...


class MediaSession:
    def __init__(self, transport: Transport, payloads: tuple[PayloadType, ...],
                 endpoints: EndpointOpener) -> None:
        usable = [p for p in payloads if supported(p)]
        if not usable:
            raise ValueError("no supported payload type")
        self.transport = transport
        self.payload_type = usable[0]
        self.codec = codec_of(self.payload_type)
        self.rate, self.nchannels = self.codec.clockrate, self.codec.channels
        self.packetizer = Packetizer(self.payload_type.id)
        self.sent = SendCounters()
        self._relay_refused = [0, 0]  # packets and bytes handed to the loop that failed
        self.frame = packet_samples(self.codec)
        self.play_frame = int(self.rate * PLAYOUT_FRAME_S)
        self.jitter = jitter_buffer(self.rate, self.nchannels, self.play_frame)
        self.receive: ReceivePath | NativeReceivePath = ReceivePath(
            usable, self.rate, self.nchannels, self.jitter)
        self.playout: Playout | NativePlayout = Playout(self.jitter, self.play_frame,
                                                        self._first_played)
        self._open_endpoints = endpoints
        self._devices: SoundStream | None = None  # their clock drives what they do
        self._native_sender: NativeSender | None = None  # it sends what it captures
        # it receives and plays (once _native_reads, reading the socket itself)
        self._native_receiver: NativeReceiver | None = None
        self._native_reads = False
        self._source: PacedSource | None = None
        self._packets: PacedPackets | None = None  # the paced source's datagrams
        self._sink: PacedSink | None = None
        self._play_due = 0.0
        self._loop = asyncio.get_running_loop()
        self._send: Callable[[bytes], None] = transport.send_now
        self._thread: threading.Thread | None = None
        self._batched: BatchedSink | None = None  # the media thread's sink
        self._halt = False  # the media thread stops at its next tick (a plain flag:
        # Event.is_set() is a Python-level call, paid after every wake-up)
        self._wake = threading.Event()  # wakes a media thread that sleeps a whole pass
        self._direct: DirectPath | None = None
        self._pacer: Pacer | None = None  # the media thread's native sender, if built
        self._pacer_counted = False  # what it sent is in self.sent
        self.started_at = 0.0  # when media started (the source's clock), loop clock
        # A paced sink's timeline: its first sample is due at sink_start (set by the
        # first write), sample m at sink_start + m / rate.
        self.sink_start: float | None = None
        self._backlog: list[tuple[float, bytes]] = []  # media thread: not yet pushed
        # media thread: datagrams the event loop read (arrival, data), and whether the
        # thread reads the socket itself yet
        self._inbox: deque[tuple[float, bytes]] = deque()
        self._owns_socket = False
        self._stray = 0  # RTP the media thread refused (not from the selected pair)
        self._tick_failed = False
        self._clock = time.monotonic  # the device clock's time (the event loop's clock)
        self.muted = False
        self._last_captured: Pcm | None = None  # (the input level meter)

    @property
    def heard(self) -> bool:
        """Whether any of the peer's RTP has arrived."""
        return self.receive.first_arrival is not None

    @property
    def codec_name(self) -> str:
        ch = f"/{self.nchannels}" if self.nchannels > 1 else ""
        return f"{self.codec.name}/{self.rate}{ch}"

    def set_muted(self, muted: bool) -> None:
        """Send silence instead of the source (``mute``), or the source again. A paced
        source's packets already built still go out (up to SEND_BATCH frames)."""
        self.muted = muted
        if self._packets is not None:
            self._packets.muted = muted
        if self._native_sender is not None:
            self._native_sender.muted = muted

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        # (the process freezes the heap while calls are in progress: jcall/heap.py)
        ends = await self._open_endpoints(self.rate, self.nchannels, self.frame / self.rate)
        devices, self._source, self._sink = ends.devices, ends.source, ends.sink
        if self._source is not None:
            self._packets = PacedPackets(self._source, self.codec, self.packetizer,
                                         self.frame)
        now = self.started_at = self._loop.time()
        if self._source is not None:
            trace.event("source_start", now, rate=self.rate)
        path = self.transport.direct()  # (None on a TURN relay)
        if devices is not None:
            self._start_device_clock(devices, path)
        self._direct = path
        if self._source is not None or self._sink is not None:
            # What no device drives -- a file, a tone or silence, at either end or both
            # -- is paced by the media thread.
            self._start_thread(path)

    async def stop(self) -> dict[str, Any]:
        if self._devices is not None:
            # (stopping the stream waits for a callback under way: none runs after it)
            await asyncio.to_thread(self._devices.close)
            if self._native_sender is not None:
                _, _, errors, errno = self._native_sender.sent()
                self._count_refused(errors, errno)
        if self._thread is not None:
            self._halt = True
            self._wake.set()
            await asyncio.to_thread(self._thread.join, 2.0)
            if self._pacer is not None:
                self._close_pacer(self._pacer)
        if self._direct is not None:
            self._direct.resume()
            self._direct.sock.close()
        self.transport.set_receiver(None)
        for endpoint in (self._source, self._sink):
            if endpoint is not None:
                with contextlib.suppress(Exception):
                    endpoint.close()
        if self.sent.refused:
            log.info("send failed %d times: %s", self.sent.refused, self.sent.reason)
        return self.stats()

    # -- send ---------------------------------------------------------------------------
    def _send_pcm(self, pcm: Pcm) -> None:
        payload = self.codec.encode(pcm)
        head = self.packetizer.header(len(payload), len(pcm))
        if head is not None:
            self._send_datagram(head + payload)

    def _send_datagram(self, data: bytes) -> None:
        try:
            self._send(data)
        except (ConnectionError, OSError) as exc:
            self._refused(exc)
            return
        self.sent.packets += 1
        self.sent.bytes += len(data)

    def _refused(self, exc: Exception) -> None:
        """A send failed: said once as it happens, counted, and summed up at the end
        (a path that stopped working would fail every packet)."""
        if not self.sent.refused:
            log.info("send failed: %s", exc)
        self.sent.refused += 1
        self.sent.reason = str(exc)

    def _count_refused(self, errors: int, errno: int) -> None:
        """Failures of a native sender (its count, and the last errno)."""
        if errors:
            self.sent.refused += errors
            self.sent.reason = os.strerror(errno)

    def _close_pacer(self, pacer: Pacer) -> None:
        self._pacer_counted = True  # (its counters go into self.sent now)
        pacer.close()  # (what was not yet due is dropped, as the thread's own sends)
        packets, size, errors, errno = pacer.counters()
        self.sent.packets += packets
        self.sent.bytes += size
        self._count_refused(errors, errno)

    # -- receive ------------------------------------------------------------------------
    def _take_datagram(self, data: bytes, now: float) -> None:
        if self.receive.take(data, now):
            self._first_rtp(now)

    def _first_rtp(self, arrival: float) -> None:
        trace.event("first_rtp_arrival", arrival)
        self._rephase_playout(arrival)

    # -- playout ------------------------------------------------------------------------
    def _pull(self, n: int, due: float) -> Pcm:
        """At least ``n`` samples for a paced sink, decided at ``due`` (playout.py)."""
        if self.receive.first_arrival is None:
            # Nothing to play yet, and a paced sink's grid moves at the first packet:
            # the jitter buffer is to see its pace from then on.
            return np.zeros((n, self.nchannels), dtype=np.int16)
        return self.playout.pull(n, due)

    def _first_played(self, due: float) -> None:
        # (a paced sink's timeline may begin before media started; see
        # _rephase_playout: nothing was played before media started)
        trace.event("first_audio_played", max(due, self.started_at))

    def _rephase_playout(self, arrival: float) -> None:
        """Move the paced playout grid so that a frame is due exactly when the jitter
        buffer may start; the samples skipped over are written as silence."""
        if self._sink is None:
            return
        start = arrival + self.jitter.start_delay_s
        if start < self._play_due and self.sink_start is None:
            # The packet came before media started (its arrival was held with it) and
            # nothing is written yet: the timeline can begin where playout would have
            # begun. Causal all the same: each frame still sees only the packets that
            # had arrived by its due time. (A device cannot do this: its jitter buffer
            # drops what is stale instead.)
            self._play_due = start
            return
        # Only the phase matters: frames due before `start` are silence anyway, and a
        # packet that came before the grid was set is played where it would have been.
        gap = math.ceil((start - self._play_due) * self.rate) % self.play_frame
        if gap == 0:
            return
        self._sink_begins(self._play_due)
        self._sink.write(np.zeros((gap, self.nchannels), dtype=np.int16))
        self._play_due += gap / self.rate

    def _sink_begins(self, due: float) -> None:
        """The first sample written to a paced sink is due at ``due``: its timeline."""
        if self.sink_start is None:
            self.sink_start = due
            trace.event("sink_start", due, rate=self.rate)

    # -- statistics ---------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        devices = self._devices.device_stats() if self._devices is not None else {}
        return devices | {
            "codec": self.codec_name,
            "payload_type": self.payload_type.id,
            "sent": self._sent_so_far(),
            "received": received(self.receive, self._stray + self.transport.stray),
        }

    def snapshot(self) -> dict[str, Any]:
        """The statistics so far, with the mute state and the level meters; any time
        during the call."""
        sent = self._packets.last if self._packets is not None else self._last_captured
        if self._native_sender is not None:
            sent = np.frombuffer(self._native_sender.last_sent(), np.int16)
        return self.stats() | {"muted": self.muted,
                               "levels": levels(sent, self.playout.last)}

    def _sent_so_far(self) -> dict[str, int]:
        packets = self.sent.packets - self._relay_refused[0]
        size = self.sent.bytes - self._relay_refused[1]
        if self._pacer is not None and not self._pacer_counted:  # (counted there so far)
            native, native_bytes, _, _ = self._pacer.counters()
            packets, size = packets + native, size + native_bytes
        if self._native_sender is not None:
            native, native_bytes, _, _ = self._native_sender.sent()
            packets, size = packets + native, size + native_bytes
        return {"ssrc": self.packetizer.ssrc, "packets": packets, "bytes": size}

    # -- the media thread -----------------------------------------------------------------
    def _start_thread(self, path: DirectPath | None) -> None:
        """Pace the source, the sink or both (whichever no device drives). On a direct
        ``path`` the thread sends on its socket (through the native pacer if it can)
        and, for a sink, reads it; on a TURN relay packets cross to the event loop to
        be sent, and arrive in the inbox."""
        self._play_due = self.started_at + self.play_frame / self.rate
        if self._packets is not None:
            self._send = self._sender(path)
            if path is not None and NATIVE_PACING:
                self._pacer = open_pacer(path.sock, path.remote)
        if self._sink is not None:
            self._sink = self._batched = BatchedSink(self._sink)  # a receive pass's frames
            self._listen(path)
        self._thread = threading.Thread(target=self._thread_main, name="jcall-media",
                                         daemon=True)
        self._thread.start()

    def _hand_over(self, path: DirectPath) -> Callable[[bytes, float], None]:
        """The event loop's receiver until a thread (the media thread, or the device's
        callback) reads the socket itself."""

        def arrive(data: bytes, arrival: float) -> None:
            # On the event loop: the ICE agent reads the socket, answers STUN at once and
            # hands the rest here. The first RTP shows the peer's ICE is done; only
            # then does the thread take the socket over, since a check it read would
            # wait for its next receive pass (up to 100 ms), and a controlled peer
            # still completing ICE waits for our answer.
            self._inbox.append((arrival, data))
            if not self._owns_socket and is_rtp(data):
                path.pause()
                self._owns_socket = True

        return arrive

    # -- the device clock -------------------------------------------------------------
    def _start_device_clock(self, devices: SoundStream, path: DirectPath | None) -> None:
        """The call's sound devices drive what they do, on their own clock
        (ARCHITECTURE.md section 3), as the media thread does for files: the stream's
        callback sends what the microphone captured, takes what arrived and plays
        what is due on the speaker. Periods are short (256 frames: 5.3 ms); the
        callback moves samples itself and calls ``_device_tick`` once a packet is
        captured or the period needs samples to play (audio/deviceclock.py): about
        once per packet. With one device, the other end of the audio (a source or a
        sink) is paced by the media thread (``start``): a sink's playout and the
        receiving are the thread's then, and a source's packets go out from it.

        On a direct ``path`` the callback uses the path's socket itself. On a TURN
        relay (no ``path``) the datagrams are aioice's, on the event loop: packets to
        send cross to it, and what arrives is left in the inbox for the callback."""
        self._devices, self._direct = devices, path
        rate = self._dev_rate = devices.device_rate
        self._dev_channels = devices.channels_in, devices.channels_out
        if devices.channels_in:
            self._dev_in = StreamResampler(rate, self.rate, devices.channels_in)
            # At the codec's own rate and channels (audio/formats.py at_rate) the
            # captured packets are sent as they are, by the native clock if it can;
            # else they are converted and gathered into packets at the codec's rate.
            self._dev_plain = self._dev_in.identity and devices.channels_in == self.nchannels
            if not self._dev_plain:
                self._to_send = SampleFifo(self.nchannels, 4 * self.frame)
            self._send = self._sender(path)
            if path is not None and self._dev_plain and self.codec.name == "L16":
                self._native_sender = devices.send_l16(path.sock, path.remote,
                                                       self.packetizer)
                if self._native_sender is not None:
                    self._native_sender.muted = self.muted
        if devices.channels_out:
            self._dev_out = StreamResampler(self.rate, rate, devices.channels_out)
            self._dev_plain_out = self._dev_out.identity \
                and devices.channels_out == self.nchannels
            self._listen(path)
            if self._dev_plain_out and isinstance(self.jitter, NativeJitterBuffer):
                self._receive_natively(devices)
        devices.start(self._device_tick)

    def _receive_natively(self, devices: SoundStream) -> None:
        """Have the native clock run the receive path and playout (the device plays the
        session's own format): once it reads the socket (``_device_tick``), a period
        enters Python only for what ``_report`` handles."""
        assert isinstance(self.jitter, NativeJitterBuffer)
        assert isinstance(self.receive, ReceivePath)
        native = devices.receive_l16(self.jitter.native, native_kinds(self.receive),
                                     self.play_frame, self._report)
        if native is not None:
            self._native_receiver = native
            self.receive = NativeReceivePath(native, self.receive)
            self.playout = NativePlayout(native, self.nchannels, self._first_played)

    def _report(self, aside: list[Aside], last_arrival: float) -> None:
        """In the device's callback, from the native receiver: the datagrams it set
        aside (STUN goes to the ICE agent; RTP from another of the pair's addresses
        goes through the receive path if the transport admits it; payloads it does
        not decode are decoded here), that media still arrives (consent), and when
        the first packet came and the first sample played. Never raises."""
        try:
            path, receive = self._direct, self.receive
            assert path is not None and isinstance(receive, NativeReceivePath)
            for arrival, data, source, payload_type, timestamp in aside:
                if source is None:
                    receive.push_decoded(payload_type, timestamp, data, arrival)
                elif data and data[0] & 0xC0 == 0x80:  # RTP (is_rtp)
                    if path.admits(source):
                        receive.take(data, arrival)
                        last_arrival = max(last_arrival, arrival)
                    else:
                        self._stray += 1  # (filters.py: not from the selected pair)
                else:
                    self._loop.call_soon_threadsafe(path.stun, data, source, arrival)
            if last_arrival > 0:
                path.heard(last_arrival)
            first = receive.newly_first()
            if first is not None:
                self._first_rtp(first)
            assert isinstance(self.playout, NativePlayout)
            self.playout.check_first()
        except Exception:  # the call goes on; say why once
            if not self._tick_failed:
                self._tick_failed = True
                log.exception("device callback failed")

    # -- the path, for either clock ----------------------------------------------------
    def _sender(self, path: DirectPath | None) -> Callable[[bytes], None]:
        """How a clock's packets go out: on a direct path's own socket, or through the
        event loop on a TURN relay."""
        if path is None:
            return self._send_through_loop
        sock, remote = path.sock, path.remote

        def send(data: bytes) -> None:
            sock.sendto(data, remote)

        return send

    def _listen(self, path: DirectPath | None) -> None:
        """Make the event loop hand what arrives to the clock that plays: until it
        reads a direct path's socket itself, or for the whole call on a relay
        (datagrams held before media started come first)."""
        self.transport.set_receiver(self._hand_over(path) if path is not None
                                    else self._to_inbox)

    def _send_through_loop(self, data: bytes) -> None:
        """Send from the device's callback or the media thread through the event loop
        (a relayed path)."""
        self._loop.call_soon_threadsafe(self._send_on_loop, data)

    def _send_on_loop(self, data: bytes) -> None:
        try:
            self.transport.send_now(data)
        except (ConnectionError, OSError) as exc:
            # (counted as sent when handed over, in the sending thread: taken back
            # here, in the loop's, so that each count has one writer)
            self._relay_refused[0] += 1
            self._relay_refused[1] += len(data)
            self._refused(exc)

    def _to_inbox(self, data: bytes, arrival: float) -> None:
        """The event loop's receiver on a relayed path: the clock that plays (the
        device's callback or the media thread) takes the datagrams from the inbox (a
        deque: appending and taking are atomic)."""
        self._inbox.append((arrival, data))

    def _device_tick(self, captured: bytes, short: int) -> bytes:
        """In the device's callback: send the whole packets ``captured``; when the
        period lacks ``short`` samples to play, take what arrived and return at least
        that many, decided now. Never raises (the callback would stop), never waits
        for the event loop."""
        try:
            if captured:
                pcm = np.frombuffer(captured, np.int16).reshape(-1, self._dev_channels[0])
                if self._dev_plain:
                    frame = self.frame
                    for i in range(0, len(pcm), frame):
                        self._send_frame(pcm[i:i + frame])
                else:
                    self._send_device_audio(pcm)
            if not short:
                return b""
            self._take_arrived()
            if self._native_receiver is not None and self._owns_socket \
                    and not self._native_reads:
                # The event loop gave the socket up, and what it read was taken above:
                # from the next period on the native clock reads it itself.
                assert self._direct is not None
                self._native_receiver.own_socket(self._direct.sock.fileno(),
                                                 *self._direct.remote)
                self._native_reads = True
            pcm = self.playout.pull(math.ceil(short * self.rate / self._dev_rate),
                                    self._clock())
            if self._dev_plain_out:
                return pcm.tobytes()
            return self._dev_out(channels(pcm, self._dev_channels[1])).tobytes()
        except Exception:  # the call goes on; say why once
            if not self._tick_failed:
                self._tick_failed = True
                log.exception("device callback failed")
            return b""

    def _send_device_audio(self, captured: Pcm) -> None:
        pending = self._to_send
        pending.push(channels(self._dev_in(captured), self.nchannels))
        frame = self.frame
        while pending.size >= frame:
            self._send_frame(pending.pop(frame))

    def _send_frame(self, chunk: Pcm) -> None:
        """Send one captured frame (silence while muted)."""
        if self.muted:
            chunk = np.zeros_like(chunk)
        self._last_captured = chunk
        self._send_pcm(chunk)

    def _take_arrived(self) -> None:
        """Push what has arrived into the jitter buffer, each at its kernel arrival
        time."""
        take = self.receive.take
        for arrival, data in self._arrived():
            if take(data, arrival):
                self._first_rtp(arrival)

    def _arrived(self, held: list[tuple[float, bytes]] | None = None
                 ) -> list[tuple[float, bytes]]:
        """What has arrived since last asked, in arrival order: the datagrams ``held``
        back from before, those the event loop read (it stops reading before a thread
        takes the socket over), then the socket's once the thread owns it. Merged in
        arrival order: the event loop's come from the other sockets (or came before
        the take-over), and one packet out of order would hold back every packet
        behind it until its own time."""
        # Whether the socket is ours is read before the inbox is emptied: the event loop
        # puts its last datagram in the inbox and only then gives the socket up, so a
        # socket read here can never take a datagram newer than one left in the inbox
        # (which would be pushed a pass late, after its frame was played).
        owned, inbox = self._owns_socket, self._inbox
        packets = held or []
        if inbox:
            packets += [inbox.popleft() for _ in range(len(inbox))]
        if owned:
            assert self._direct is not None
            packets += self._receive(self._direct)
        if len(packets) > 1:
            packets.sort(key=_arrival)
        return packets

    def _thread_main(self) -> None:
        t0 = self.started_at  # time.monotonic(): the event loop's clock
        send_period = self.frame / self.rate
        pacer, sink = self._pacer, self._sink
        # One wake-up per packet, at most every 10 ms (5 ms packets go in pairs), only
        # where the thread sends each packet itself: else the pacer sends each at its
        # deadline, and the thread wakes only for its receive passes, handing over the
        # packets due before the one after next (one wake-up may come late without a
        # packet going out late).
        per_packet = self._packets is not None and pacer is None
        if per_packet:
            tick, lead = max(self.frame, self.play_frame) / self.rate, 0.0
        else:
            tick, lead = RECEIVE_PASS_S, 2 * RECEIVE_PASS_S
        pass_ticks = max(1, round(RECEIVE_PASS_S / tick))
        k = sent = played = 0
        due = t0
        # Everything a tick touches, bound once: after each sleep the caches are cold
        # and every lookup counts.
        sleep, monotonic = time.sleep, time.monotonic
        send = self._send_datagram
        packet = self._packets.next if self._packets is not None else None
        schedule = pacer.schedule if pacer is not None else None
        # A plain sleep where the thread wakes per packet: Event.wait() allocates a
        # lock per call and measured ~16 us dearer per tick here (stopping waits at
        # most one tick). Ten wake-ups a second can afford it, and stop at once.
        pause = sleep if per_packet else self._wake.wait
        try:
            while True:
                horizon = due + lead + 1e-6
                while packet is not None and t0 + (sent + 1) * send_period <= horizon:
                    sent += 1
                    if schedule is None:
                        send(packet())
                    else:
                        schedule(t0 + sent * send_period, packet())
                if sink is not None and k - played >= pass_ticks:
                    self._play_until(due)
                    played = k
                k += 1
                due = t0 + k * tick
                pause(max(0.0, due - monotonic()))
                if self._halt:
                    break
            # Nothing lost at hang-up, nothing made up: the peer may have stopped
            # sending a while before its hang-up came through the server.
            if sink is not None:
                self._play_until(min(due, monotonic()), final=True)
        except Exception:  # never die silently: the call goes on without audio
            log.exception("media thread failed")

    def _play_until(self, until: float, final: bool = False) -> None:
        """Play the frames due up to ``until`` as a sink paced at their due times
        would have: each frame is popped after exactly the packets that had arrived
        by its due time (kernel timestamps) were pushed. ``final``: at hang-up, stop
        where the received audio ends rather than conceal up to ``until``."""
        assert self._sink is not None
        packets = self._arrived(self._backlog)  # (with what came after the last frames)
        i, n = 0, len(packets)
        take, pull, write = self._take_datagram, self._pull, self._sink.write
        tick = self.play_frame / self.rate
        while self._play_due <= until + 1e-6:
            due = self._play_due
            if i < n and packets[i][0] <= due:
                take(packets[i][1], packets[i][0])  # may re-phase: due is read again
                i += 1
                continue
            if final and self.jitter.level_s < tick:
                break
            if self.sink_start is None:
                self._sink_begins(due)
            write(pull(self.play_frame, due))
            self._play_due = due + tick
        self._backlog = packets[i:]  # they came after the last frame played
        assert self._batched is not None
        self._batched.flush()

    def _receive(self, path: DirectPath) -> list[tuple[float, bytes]]:
        """Every RTP datagram waiting on the path's socket with its kernel arrival
        time, in arrival order; STUN goes back to the ICE agent."""
        packets: list[tuple[float, bytes]] = []
        admits, selected = path.admits, path.remote
        for arrival, data, addr in receive_all(path.sock):
            if data and data[0] & 0xC0 == 0x80:  # RTP (is_rtp, inline: once per packet)
                if addr == selected or admits(addr):  # (the selected pair's, or another)
                    packets.append((arrival, data))
                else:
                    self._stray += 1  # (filters.py: not from the selected pair)
            else:
                self._loop.call_soon_threadsafe(path.stun, data, addr, arrival)
        if packets:
            path.heard(packets[-1][0])  # (the path is alive: consent.py)
        return packets


def _arrival(packet: tuple[float, bytes]) -> float:
    return packet[0]
