"""Voice over the nominated ICE path: RTP out of a source, RTP into the jitter buffer,
frames out to a sink. Orchestration: the codecs, RTP and jitter buffer are pure; the
source/sink are files or devices; the transport is the aioice adapter.

Three loops per call:
* **send** -- a paced source is read at absolute deadlines (frame k at t0 + (k+1)
  frames: a frame is complete only once its last sample has entered), encoded,
  packetized and sent; a device source sends as its callbacks deliver;
* **receive** -- datagrams are filtered (payload type, SSRC), counted (RFC 3550),
  decoded and pushed into the jitter buffer with their arrival time;
* **playout** -- every 10 ms at an absolute deadline (or when the device asks), a frame
  is popped from the jitter buffer and written to the sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
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

log = logging.getLogger(__name__)
Pcm = npt.NDArray[np.int16]

PACKET_CHOICES_S = (0.020, 0.010, 0.005)  # the longest that fits in a packet wins
PLAYOUT_FRAME_S = 0.010
RTP_HEADER = 12


class Transport(Protocol):
    async def send(self, data: bytes) -> None: ...

    async def recv(self) -> bytes: ...


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
        self._started = 0.0
        self._first_played = False

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
        loop = asyncio.get_running_loop()
        self._started = loop.time()
        self._tasks = [asyncio.ensure_future(self._receive())]
        if self._capture is not None:
            self._tasks.append(asyncio.ensure_future(self._send_captured(self._capture)))
        elif self._source is not None:
            self._tasks.append(asyncio.ensure_future(self._send_paced(self._source)))
        if self._playback is not None:
            self._playback.start(self._pull)
        elif self._sink is not None:
            self._tasks.append(asyncio.ensure_future(self._play_paced(self._sink)))

    async def stop(self) -> dict[str, Any]:
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
    async def _send_pcm(self, pcm: Pcm) -> None:
        packet = self.packetizer.packetize(self.codec.encode(pcm), len(pcm))
        if packet is None:
            return
        data = bytes(packet)
        await self.transport.send(data)
        self.sent.packets += 1
        self.sent.bytes += len(data)

    async def _send_paced(self, source: PacedSource) -> None:
        loop = asyncio.get_running_loop()
        period = self.frame / self.rate
        t0 = loop.time()
        trace.event("source_start", t0, rate=self.rate)
        k = 0
        while True:
            k += 1
            deadline = t0 + k * period  # frame k-1 is complete at the end of its span
            delay = deadline - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await self._send_pcm(source.read(self.frame))

    async def _send_captured(self, capture: Capture) -> None:
        pending = np.zeros((0, self.nchannels), dtype=np.int16)
        while True:
            pending = np.concatenate([pending, await capture.read()])
            while len(pending) >= self.frame:
                chunk, pending = pending[:self.frame], pending[self.frame:]
                await self._send_pcm(chunk)

    # -- receive ------------------------------------------------------------------------
    async def _receive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                data = await self.transport.recv()
            except ConnectionError:
                return
            now = loop.time()
            packet = self.filter.accept(data)
            if packet is None:
                continue
            self.rstats.update(packet.sequence, packet.timestamp, now, len(data))
            decoder = self.decoders[packet.payload_type]
            pcm = decoder.decode(packet.payload)
            if (decoder.clockrate, decoder.channels) != (self.rate, self.nchannels):
                pcm = channels(resample(pcm, decoder.clockrate, self.rate), self.nchannels)
            self.jitter.push(packet.timestamp, pcm, now)

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

    async def _play_paced(self, sink: PacedSink) -> None:
        loop = asyncio.get_running_loop()
        period = self.play_frame / self.rate
        t0 = loop.time()
        trace.event("sink_start", t0, rate=self.rate)
        k = 0
        while True:
            due = t0 + k * period
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            sink.write(self._pull(self.play_frame, due))
            k += 1

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
