"""Voice over the nominated ICE path: RTP out of a source, RTP into the jitter buffer,
frames out to a sink. Orchestration: the codecs, RTP and jitter buffer are pure; the
source/sink are files or devices; the transport is the aioice adapter.

Three paths per call, each a plain callback (no task wake-up per packet: CPU per
call second is a product target):
* **send** -- a paced source is read at absolute deadlines (frame k at t0 + (k+1)
  frames: a frame is complete only once its last sample has entered), encoded,
  packetized and sent; a device source sends as its callbacks deliver;
* **receive** -- datagrams arrive straight from the ICE socket's protocol, are filtered
  (payload type, SSRC), counted (RFC 3550), decoded and pushed into the jitter buffer
  with their arrival time;
* **playout** -- every 10 ms at an absolute deadline (or when the device asks), a frame
  is popped from the jitter buffer and written to the sink. A paced sink's deadlines
  are re-phased once, at the first packet, so that playout starts exactly when the
  jitter buffer allows rather than up to a frame later; the gap is written as silence,
  so an output file keeps a continuous timeline.

When both ends of the audio are paced (files, tones, silence) and the path is direct
(not a TURN relay), all three run on one **media thread** instead: a single 10 ms tick
drains the ICE socket (kernel arrival timestamps), sends what is due and plays one
frame, then sleeps. On this kind of machine every wake-up of a process costs about
80 us of CPU and every asyncio loop iteration as much again, so one plain wake-up per
10 ms instead of four loop iterations is what keeps a call near 1 % of a core. The
price is that playout is not re-phased (up to 10 ms more delay, 5 ms on average).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import socket
import struct
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from . import trace
from .audio.codecs import Codec, codec_for
from .audio.convert import channels, resample
from .audio.endpoints import (
    AudioSettings,
    FileSink,
    FileSource,
    NullSink,
    PacedSink,
    PacedSource,
    SilenceSource,
    ToneSource,
)
from .audio.formats import SUPPORTED
from .rtp.jitterbuffer import JitterBuffer
from .rtp.packetizer import MAX_PACKET_BYTES, Packetizer
from .rtp.receiver import RtpFilter
from .rtp.stats import ReceiveStats
from .signaling.gingle import PayloadType
from .transport.ice import DirectPath

log = logging.getLogger(__name__)
Pcm = npt.NDArray[np.int16]

PACKET_CHOICES_S = (0.020, 0.010, 0.005)  # the longest that fits in a packet wins
PLAYOUT_FRAME_S = 0.010
RTP_HEADER = 12


class Transport(Protocol):
    def send_now(self, data: bytes) -> None: ...

    def set_receiver(self, callback: Callable[[bytes], None] | None) -> None: ...

    def direct(self) -> DirectPath | None: ...


SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; Python does not export it
TIMESPEC = struct.Struct("@ll")


class DeviceCounters(Protocol):
    def as_dict(self) -> dict[str, int]: ...


class Capture(Protocol):
    """A device source: chunks at the codec's rate as the device delivers them."""

    @property
    def stats(self) -> DeviceCounters: ...

    async def read(self) -> Pcm: ...

    def close(self) -> None: ...


class Playback(Protocol):
    """A device sink: asks ``pull(n, due)`` for ``n`` samples due at ``due``."""

    @property
    def stats(self) -> DeviceCounters: ...

    def start(self, pull: Callable[[int, float], Pcm]) -> None: ...

    def close(self) -> None: ...


DeviceOpener = Callable[[AudioSettings, int, int], Awaitable[tuple[Capture | None,
                                                                    Playback | None]]]


def packet_samples(codec: Codec) -> int:
    """Samples per channel in one packet: 20 ms, else 10 ms, else 5 ms, whatever keeps
    the packet within MAX_PACKET_BYTES (L16/44.1 kHz mono: 10 ms = 882 bytes)."""
    bytes_per_sample = 1 if codec.name in ("PCMU", "PCMA") else 2 * codec.channels
    for seconds in PACKET_CHOICES_S:
        n = int(codec.clockrate * seconds)
        if RTP_HEADER + n * bytes_per_sample <= MAX_PACKET_BYTES:
            return n
    return (MAX_PACKET_BYTES - RTP_HEADER) // bytes_per_sample


def supported(pt: PayloadType) -> bool:
    return any(f.matches(pt) for f in SUPPORTED)


def _codec(pt: PayloadType) -> Codec:
    fmt = next(f for f in SUPPORTED if f.matches(pt))
    return codec_for(fmt.name, fmt.clockrate, fmt.channels)


@dataclass
class SendCounters:
    packets: int = 0
    bytes: int = 0


class MediaSession:
    def __init__(self, transport: Transport, payloads: tuple[PayloadType, ...],
                 audio: AudioSettings, open_devices: DeviceOpener | None = None) -> None:
        usable = [p for p in payloads if supported(p)]
        if not usable:
            raise ValueError("no supported payload type")
        self.transport = transport
        self.audio = audio
        self.payload_type = usable[0]
        self.codec = _codec(self.payload_type)
        self.rate, self.nchannels = self.codec.clockrate, self.codec.channels
        self.decoders = {p.id: _codec(p) for p in usable}
        self.packetizer = Packetizer(self.payload_type.id)
        self.filter = RtpFilter(set(self.decoders))
        self.rstats = ReceiveStats(self.rate)
        self.sent = SendCounters()
        self.frame = packet_samples(self.codec)
        self.play_frame = int(self.rate * PLAYOUT_FRAME_S)
        self.jitter = JitterBuffer(self.rate, self.nchannels, self.play_frame)
        self._open_devices = open_devices
        self._source: PacedSource | None = None
        self._sink: PacedSink | None = None
        self._capture: Capture | None = None
        self._playback: Playback | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._send_t0 = 0.0
        self._sent_frames = 0
        self._play_due = 0.0
        self._first_played = False
        self._first_arrival: float | None = None
        self._loop = asyncio.get_running_loop()
        self._send: Callable[[bytes], None] = transport.send_now
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()
        self._direct: DirectPath | None = None
        self._realtime_offset = 0.0

    @property
    def codec_name(self) -> str:
        ch = f"/{self.nchannels}" if self.nchannels > 1 else ""
        return f"{self.codec.name}/{self.rate}{ch}"

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        a = self.audio
        if (a.uses_input_device or a.uses_output_device) and self._open_devices is not None:
            self._capture, self._playback = await self._open_devices(a, self.rate, self.nchannels)
        if not a.uses_input_device:
            self._source = (FileSource(a.input, self.rate, self.nchannels) if a.input
                            else ToneSource(a.tone, self.rate, self.nchannels) if a.tone
                            else SilenceSource(self.nchannels))
        if not a.uses_output_device:
            self._sink = (FileSink(a.output, self.rate, self.nchannels) if a.output
                          else NullSink())
        now = self._loop.time()
        if self._source is not None and self._sink is not None:
            self._direct = self.transport.direct()
            if self._direct is not None:
                self._start_thread(self._direct)
                return
        self.transport.set_receiver(self._on_datagram)
        if self._capture is not None:
            self._tasks.append(asyncio.ensure_future(self._send_captured(self._capture)))
        elif self._source is not None:
            self._send_t0 = now
            trace.event("source_start", now, rate=self.rate)
            self._timers["send"] = self._loop.call_at(now + self.frame / self.rate,
                                                      self._send_tick)
        if self._playback is not None:
            self._playback.start(self._pull)
        elif self._sink is not None:
            self._play_due = now
            trace.event("sink_start", now, rate=self.rate)
            self._timers["play"] = self._loop.call_at(now, self._play_tick)

    async def stop(self) -> dict[str, Any]:
        if self._thread is not None:
            self._halt.set()
            await asyncio.to_thread(self._thread.join, 2.0)
            assert self._direct is not None
            self._direct.resume()
            self._direct.sock.close()
        self.transport.set_receiver(None)
        for handle in self._timers.values():
            handle.cancel()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for endpoint in (self._capture, self._playback, self._source, self._sink):
            if endpoint is not None:
                with contextlib.suppress(Exception):
                    endpoint.close()
        return self.stats()

    # -- send ---------------------------------------------------------------------------
    def _send_pcm(self, pcm: Pcm) -> None:
        packet = self.packetizer.packetize(self.codec.encode(pcm), len(pcm))
        if packet is None:
            return
        data = bytes(packet)
        try:
            self._send(data)
        except (ConnectionError, OSError) as exc:
            log.info("send failed: %s", exc)
            return
        self.sent.packets += 1
        self.sent.bytes += len(data)

    def _send_tick(self) -> None:
        assert self._source is not None
        self._sent_frames += 1
        self._send_pcm(self._source.read(self.frame))
        # Frame k is complete, and sent, at t0 + (k + 1) frames: absolute deadlines.
        deadline = self._send_t0 + (self._sent_frames + 1) * self.frame / self.rate
        self._timers["send"] = self._loop.call_at(deadline, self._send_tick)

    async def _send_captured(self, capture: Capture) -> None:
        pending = np.zeros((0, self.nchannels), dtype=np.int16)
        while True:
            pending = np.concatenate([pending, await capture.read()])
            while len(pending) >= self.frame:
                chunk, pending = pending[:self.frame], pending[self.frame:]
                self._send_pcm(chunk)

    # -- receive ------------------------------------------------------------------------
    def _on_datagram(self, data: bytes) -> None:
        self._take_datagram(data, self._loop.time())

    def _take_datagram(self, data: bytes, now: float) -> None:
        packet = self.filter.accept(data)
        if packet is None:
            return
        self.rstats.update(packet.sequence, packet.timestamp, now, len(data))
        decoder = self.decoders[packet.payload_type]
        pcm = decoder.decode(packet.payload)
        if (decoder.clockrate, decoder.channels) != (self.rate, self.nchannels):
            pcm = channels(resample(pcm, decoder.clockrate, self.rate), self.nchannels)
        self.jitter.push(packet.timestamp, pcm, now)
        if self._first_arrival is None:
            self._first_arrival = now
            if self._thread is None:
                self._rephase_playout(now)

    # -- playout ------------------------------------------------------------------------
    def _pull(self, n: int, due: float) -> Pcm:
        """``n`` samples due at ``due``, from whole playout frames."""
        out = []
        have = 0
        while have < n:
            pcm = self.jitter.pop(due + have / self.rate)
            if pcm is None:
                pcm = np.zeros((self.play_frame, self.nchannels), dtype=np.int16)
            elif not self._first_played:
                self._first_played = True
                trace.event("first_audio_played", due + have / self.rate)
            out.append(pcm)
            have += len(pcm)
        return np.concatenate(out)

    def _play_tick(self) -> None:
        assert self._sink is not None
        self._sink.write(self._pull(self.play_frame, self._play_due))
        self._play_due += self.play_frame / self.rate
        self._timers["play"] = self._loop.call_at(self._play_due, self._play_tick)

    def _rephase_playout(self, arrival: float) -> None:
        """Move the paced playout grid so that a frame is due exactly when the jitter
        buffer may start; the samples skipped over are written as silence."""
        if self._sink is None or "play" not in self._timers:
            return
        start = arrival + self.jitter.start_delay_s
        gap = math.ceil((start - self._play_due) * self.rate)
        if gap <= 0 or gap >= self.play_frame:
            return
        self._timers["play"].cancel()
        self._sink.write(np.zeros((gap, self.nchannels), dtype=np.int16))
        self._play_due += gap / self.rate
        self._timers["play"] = self._loop.call_at(self._play_due, self._play_tick)

    # -- statistics ---------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        j, r, f = self.jitter.stats, self.rstats, self.filter.counters
        ms = 1000.0 / self.rate
        devices = {name: dev.stats.as_dict() for name, dev in
                   (("input_device", self._capture), ("output_device", self._playback))
                   if dev is not None}
        return devices | {
            "codec": self.codec_name,
            "payload_type": self.payload_type.id,
            "sent": {"ssrc": self.packetizer.ssrc, "packets": self.sent.packets,
                     "bytes": self.sent.bytes},
            "received": {
                "ssrc": self.filter.ssrc, "packets": r.packets, "bytes": r.bytes,
                "lost": max(0, r.lost), "late": j.late, "duplicates": j.duplicates,
                "malformed": f.malformed, "foreign": f.foreign_ssrc + f.wrong_payload_type,
                "jitter_ms": round(r.jitter_ms, 3),
                "concealed_ms": round(j.concealed_samples * ms, 1),
                "expanded_ms": round(j.expanded_samples * ms, 1),
                "accelerated_ms": round(j.accelerated_samples * ms, 1),
                "jitter_buffer_delay_ms": round(1000 * self.jitter.delay_s, 1),
            },
        }

    # -- the media thread -----------------------------------------------------------------
    def _start_thread(self, path: DirectPath) -> None:
        # Datagrams that came before the call was in progress wait in aioice's queue.
        self.transport.set_receiver(self._on_datagram)
        path.pause()  # the thread reads the socket from now on
        try:
            path.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            log.info("no kernel receive timestamps; arrivals are stamped when read")
        sock, remote = path.sock, path.remote

        def send(data: bytes) -> None:
            sock.sendto(data, remote)

        self._send = send
        self._thread = threading.Thread(target=self._thread_main, args=(path,),
                                         name="jcall-media", daemon=True)
        self._thread.start()

    def _thread_main(self, path: DirectPath) -> None:
        assert self._source is not None and self._sink is not None
        tick = self.play_frame / self.rate
        send_period = self.frame / self.rate
        t0 = time.monotonic()  # the event loop's clock too
        trace.event("source_start", t0, rate=self.rate)
        trace.event("sink_start", t0 + tick, rate=self.rate)
        k = sent = 0
        try:
            while True:
                k += 1
                due = t0 + k * tick
                # A plain sleep: Event.wait() allocates a lock per call and measured
                # ~16 us dearer per tick here; stopping waits at most one tick.
                time.sleep(max(0.0, due - time.monotonic()))
                if self._halt.is_set():
                    return
                if k % 100 == 1:  # CLOCK_REALTIME -> monotonic, for kernel timestamps
                    self._realtime_offset = time.time() - time.monotonic()
                self._drain(path)
                while t0 + (sent + 1) * send_period <= due + 1e-6:
                    sent += 1
                    self._send_pcm(self._source.read(self.frame))
                self._sink.write(self._pull(self.play_frame, due))
        except Exception:  # never die silently: the call goes on without audio
            log.exception("media thread failed")

    def _drain(self, path: DirectPath) -> None:
        """Every datagram waiting on the socket: RTP into the jitter buffer with its
        kernel arrival time, STUN (first two bits 00) back to aioice."""
        sock = path.sock
        offset = self._realtime_offset  # kernel stamps are CLOCK_REALTIME
        while True:
            try:
                data, ancillary, _, addr = sock.recvmsg(2048, 64)
            except BlockingIOError:
                return
            except OSError as exc:
                log.info("media socket: %s", exc)
                return
            arrival = None
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = TIMESPEC.unpack(value[:TIMESPEC.size])
                    arrival = sec + nsec * 1e-9 - offset
            if data and data[0] & 0xC0 == 0x80:
                self._take_datagram(data, arrival if arrival is not None else time.monotonic())
            else:
                self._loop.call_soon_threadsafe(path.stun, data, (addr[0], addr[1]))


def stats_lines(stats: dict[str, Any]) -> list[str]:
    """libjingle's ``stats`` lines, extended with the jitter buffer's view."""
    s, r = stats["sent"], stats["received"]
    return [
        f"Sender: ssrc={s['ssrc']} codec='{stats['codec']}' bytes={s['bytes']} "
        f"packets={s['packets']}",
        f"Receiver: ssrc={r['ssrc']} bytes={r['bytes']} packets={r['packets']} "
        f"jitter={r['jitter_ms']:.1f}ms loss={r['lost']} late={r['late']} "
        f"concealed={r['concealed_ms']:.0f}ms delay={r['jitter_buffer_delay_ms']:.0f}ms",
    ]


def write_stats(path: Path, stats: dict[str, Any]) -> None:
    path.write_text(json.dumps(stats, indent=2) + "\n")

