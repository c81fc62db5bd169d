"""Sound devices through sounddevice (PortAudio) callback streams: the only module that
imports sounddevice, and only when a device is really used, so that signalling works
on machines without PortAudio.

Microphone and speaker together are one duplex stream (:class:`DeviceDuplex`) whose
callback runs the call's media itself (media.py, the device clock;
audio/deviceclock.py, natively jcall/_deviceclock.c). A single device has a stream
of its own: only copying happens in
PortAudio's callback thread; blocks cross to asyncio with ``call_soon_threadsafe``,
where resampling and the jitter buffer live. Playback is
driven by the device's clock: each callback asks asyncio to top its queue up to what
the next callback will take, so the callback never waits. Streams are opened and
started in a worker thread (both are slow) and run from then on: the microphone's
blocks are dropped, and the speaker plays silence, until the call's media starts.
"""

from __future__ import annotations

import asyncio
import math
import socket
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from ..errors import ExitCode, JcallError
from ..rtp.packetizer import Packetizer
from .convert import StreamResampler, channels
from .deviceclock import FrameClock, NativeClock, NativeSender, Tick, frame_clock
from .settings import AudioSettings

Pcm = npt.NDArray[np.int16]
HINT = "use --input/--output FILE.wav, --tone HZ, --silence or --discard instead"


class AudioDeviceError(JcallError):
    exit_code = ExitCode.AUDIO_DEVICE


def _sounddevice() -> Any:
    try:
        import sounddevice
    except OSError:  # the module loads libportaudio at import time
        raise AudioDeviceError(f"no sound: the PortAudio library is not installed "
                               f"(apt-get install libportaudio2); {HINT}") from None
    return sounddevice


def list_devices() -> list[str]:
    sd = _sounddevice()
    lines = []
    for i, dev in enumerate(sd.query_devices()):
        api = sd.query_hostapis(dev["hostapi"])["name"]
        lines.append(f"{i:3d} {dev['name']} ({api}): {dev['max_input_channels']} in, "
                     f"{dev['max_output_channels']} out, {dev['default_samplerate']:g} Hz")
    return lines


def _resolve(spec: str | None, kind: str) -> int | None:
    """A device index from an index or a name (substring); None for the default."""
    sd = _sounddevice()
    devices = sd.query_devices()
    key = f"max_{kind}_channels"
    if spec is None:
        default = sd.default.device[0 if kind == "input" else 1]
        if default is None or default < 0 or devices[default][key] < 1:
            candidates = [i for i, d in enumerate(devices) if d[key] > 0]
            if not candidates:
                raise AudioDeviceError(f"no sound {kind} device found; {HINT}")
            return int(candidates[0])
        return None
    if spec.isdigit():
        index = int(spec)
        if index >= len(devices) or devices[index][key] < 1:
            raise AudioDeviceError(f"device {index} is not a sound {kind} device "
                                   f"(see 'jcall devices')")
        return index
    matches = [i for i, d in enumerate(devices) if spec.lower() in d["name"].lower()
               and d[key] > 0]
    if not matches:
        raise AudioDeviceError(f"no sound {kind} device matches {spec!r} (see 'jcall devices')")
    return int(matches[0])


def _device(spec: str | None, kind: str, nchannels: int) -> tuple[int | None, int, int]:
    """The device for ``spec`` (see :func:`_resolve`), its own rate, and the channels
    a stream of ``nchannels`` opens it with (as many as it has, at most)."""
    index = _resolve(spec, kind)
    info = _sounddevice().query_devices(index, kind)
    return (index, int(info["default_samplerate"]),
            min(max(nchannels, 1), int(info[f"max_{kind}_channels"])))


def check(audio: AudioSettings) -> None:
    """Fail early, before logging in, when the devices a call would use are missing."""
    if audio.uses_input_device:
        _resolve(audio.input_device, "input")
    if audio.uses_output_device:
        _resolve(audio.output_device, "output")


def native_rate(audio: AudioSettings) -> int | None:
    """The rate the call's sound devices run at (the speaker's, else the
    microphone's); None when the call uses none."""
    for used, spec, kind in ((audio.uses_output_device, audio.output_device, "output"),
                             (audio.uses_input_device, audio.input_device, "input")):
        if used:
            return _device(spec, kind, 1)[1]
    return None


STARTUP_S = 0.5  # xruns while streams settle are not counted


class DeviceStats:
    """Callback counts and over/underruns reported by PortAudio (after start-up)."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.callbacks = 0
        self.frames = 0
        self.xruns = 0
        self.startup_xruns = 0

    def count(self, frames: int, status: Any) -> None:
        self.callbacks += 1
        if status:
            if self.frames < STARTUP_S * self.rate:
                self.startup_xruns += 1
            else:
                self.xruns += 1
        self.frames += frames

    def as_dict(self) -> dict[str, int]:
        return {"callbacks": self.callbacks, "xruns": self.xruns,
                "startup_xruns": self.startup_xruns, "rate": self.rate}


class _DeviceStream:
    """What both directions share: the device's own rate and channels, its counters,
    and an int16 callback stream that runs from ``_run()`` until ``close()``."""

    kind = ""  # "input" or "output"

    def __init__(self, spec: str | None, nchannels: int,
                 loop: asyncio.AbstractEventLoop) -> None:
        self._sd = _sounddevice()
        self._index, self.device_rate, self.device_channels = _device(spec, self.kind,
                                                                      nchannels)
        self.stats = DeviceStats(self.device_rate)
        self._loop = loop

    def _run(self, callback: Callable[[Pcm, int, Any, Any], None]) -> None:
        """Open and start the stream (callbacks may come at once: call it last)."""
        sd = self._sd
        stream = sd.InputStream if self.kind == "input" else sd.OutputStream
        try:
            self._stream = stream(device=self._index, samplerate=self.device_rate,
                                  channels=self.device_channels, dtype="int16",
                                  latency="low", callback=callback)
            self._stream.start()
        except sd.PortAudioError as exc:
            raise AudioDeviceError(f"cannot open the sound {self.kind}: {exc}; {HINT}") \
                from None

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()


class DeviceCapture(_DeviceStream):
    kind = "input"

    def __init__(self, spec: str | None, rate: int, nchannels: int,
                 loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(spec, nchannels, loop)
        self.nchannels = nchannels
        self._queue: asyncio.Queue[Pcm] = asyncio.Queue()
        self._live = False  # blocks captured before start() are old: not sent
        self._resample = StreamResampler(self.device_rate, rate, self.device_channels)
        self._run(self._callback)

    def start(self) -> None:
        """Deliver what is captured from now on (the stream already runs: starting a
        PortAudio stream can take as long as opening it)."""
        self._live = True

    def _callback(self, indata: Pcm, frames: int, when: Any, status: Any) -> None:
        self.stats.count(frames, status)
        if self._live:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, indata.copy())

    async def read(self) -> Pcm:
        block = await self._queue.get()
        return channels(self._resample(block), self.nchannels)


class DevicePlayback(_DeviceStream):
    kind = "output"

    def __init__(self, spec: str | None, rate: int, nchannels: int,
                 loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(spec, nchannels, loop)
        self.rate = rate
        self._resample = StreamResampler(rate, self.device_rate, self.device_channels)
        self._fifo: deque[Pcm] = deque()
        self._lock = threading.Lock()
        self._pull: Callable[[int, float], Pcm] | None = None
        self._run(self._callback)  # silence until start()

    def start(self, pull: Callable[[int, float], Pcm]) -> None:
        self._pull = pull

    def _callback(self, outdata: Pcm, frames: int, when: Any, status: Any) -> None:
        self.stats.count(frames, status)
        filled = 0
        with self._lock:
            while filled < frames and self._fifo:
                block = self._fifo[0]
                take = min(frames - filled, len(block))
                outdata[filled:filled + take] = block[:take]
                if take == len(block):
                    self._fifo.popleft()
                else:
                    self._fifo[0] = block[take:]
                filled += take
        outdata[filled:] = 0
        self._loop.call_soon_threadsafe(self._refill, frames)

    def _refill(self, frames: int) -> None:
        """Top the queue up to what the next callback will take (like the one that
        just ran). The jitter buffer hands out whole frames, so a refill may bring
        more than asked for (a 1024-sample period is 2.13 frames at 48 kHz): the
        queue is measured, not the requests counted, or it would grow by the surplus
        every period."""
        if self._pull is None:
            return
        with self._lock:
            queued = sum(len(block) for block in self._fifo)
        short = frames - queued
        if short <= 0:
            return
        pcm = self._pull(math.ceil(short * self.rate / self.device_rate), self._loop.time())
        block = self._resample(channels(pcm, self.device_channels))
        with self._lock:
            self._fifo.append(block)


Devices = tuple[DeviceCapture | None, DevicePlayback | None]


async def open_devices(audio: AudioSettings, rate: int, nchannels: int) -> Devices:
    """Open the call's devices in a worker thread. PortAudio takes from tens of ms (an
    ALSA device) to over 100 ms (a JACK client) to open a stream; on the event loop
    that would hold up the ICE socket, and packets read late get wrong arrival times
    (the jitter buffer then buffers for a burst that never was)."""
    loop = asyncio.get_running_loop()
    opening = loop.run_in_executor(None, _open, audio, rate, nchannels, loop)
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        opening.add_done_callback(_close_opened)  # the call ended meanwhile
        raise


def _open(audio: AudioSettings, rate: int, nchannels: int,
          loop: asyncio.AbstractEventLoop) -> Devices:
    capture = DeviceCapture(audio.input_device, rate, nchannels, loop) \
        if audio.uses_input_device else None
    try:
        playback = DevicePlayback(audio.output_device, rate, nchannels, loop) \
            if audio.uses_output_device else None
    except AudioDeviceError:
        if capture is not None:
            capture.close()
        raise
    return capture, playback


def _close_opened(opening: asyncio.Future[Devices]) -> None:
    if opening.cancelled() or opening.exception() is not None:
        return
    for dev in opening.result():
        if dev is not None:
            dev.close()


class DeviceDuplex:
    """Microphone and speaker in one PortAudio duplex stream whose callback drives
    the call's media (``start(tick)``, audio/deviceclock.py): captured audio is sent,
    and what is played is decided, in the callback itself, on the device's clock --
    no hop to the event loop per period. Where jcall._deviceclock was built, the
    callback is that native code and enters Python only once per packet
    (``packet_s`` of captured audio). Until ``start`` it plays silence and drops what
    it captures."""

    def __init__(self, audio: AudioSettings, nchannels: int, packet_s: float,
                 native: bool = True) -> None:
        self._sd = sd = _sounddevice()
        self._in, _, self.channels_in = _device(audio.input_device, "input", nchannels)
        self._out, rate, self.channels_out = _device(audio.output_device, "output", nchannels)
        self.device_rate = rate  # (the speaker's: the stream runs at one rate)
        frame = max(1, round(rate * packet_s))
        # Room for a second of audio either way: a period is far shorter, and what the
        # media queues to play is a period's worth and the rest of its last frame.
        self._clock = frame_clock(self.channels_in, self.channels_out, frame,
                                  max(rate, 4 * frame), int(STARTUP_S * rate), native)
        settings = {"device": (self._in, self._out), "samplerate": rate,
                    "channels": (self.channels_in, self.channels_out), "dtype": "int16",
                    "latency": "low"}
        try:
            if isinstance(self._clock, FrameClock):
                self._stream = sd.RawStream(callback=self._callback, **settings)
            else:
                self._stream = _native_stream(sd, self._clock, settings)
            self._stream.start()
        except sd.PortAudioError as exc:
            raise AudioDeviceError(f"cannot open the sound devices: {exc}; {HINT}") from None

    @property
    def native(self) -> bool:
        return not isinstance(self._clock, FrameClock)

    def start(self, tick: Tick) -> None:
        self._clock.start(tick)

    def send_l16(self, sock: socket.socket, remote: tuple[str, int],
                 packetizer: Packetizer) -> NativeSender | None:
        """Have the native clock send each packet the moment it is captured, as L16 at
        the device's rate and channels, numbered on from ``packetizer``; None where
        the clock is not native. Before ``start``."""
        if isinstance(self._clock, FrameClock):
            return None
        clock = cast(NativeClock, self._clock)
        clock.send_l16(sock.fileno(), remote[0], remote[1], packetizer.payload_type,
                       packetizer.ssrc, packetizer.sequence, packetizer.timestamp)
        return clock

    def device_stats(self) -> dict[str, dict[str, int]]:
        """PortAudio's input flags are the microphone's xruns, its output flags the
        speaker's (after start-up; and during it)."""
        counts = self._clock.counters()
        return {f"{direction}_device": {
            "callbacks": counts["callbacks"], "xruns": counts[f"{direction}_xruns"],
            "startup_xruns": counts[f"{direction}_startup_xruns"], "rate": self.device_rate}
            for direction in ("input", "output")}

    def _callback(self, indata: Any, outdata: Any, frames: int, when: Any,
                  status: Any) -> None:
        """The Python callback, where the native clock was not built."""
        flags = (status.input_underflow | status.input_overflow << 1
                 | status.output_underflow << 2 | status.output_overflow << 3)
        assert isinstance(self._clock, FrameClock)
        outdata[:] = self._clock.period(bytes(indata), frames, flags)

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()


def _native_stream(sd: Any, clock: Any, settings: dict[str, Any]) -> Any:
    """A duplex stream whose callback is the native clock's: sounddevice's stream
    class takes a C callback (a cffi pointer) and its user data as they are, when it is
    not asked to wrap a Python callback. (``_StreamBase`` is sounddevice's own base of
    ``Stream``; the public classes always wrap.)"""
    from .._deviceclock import callback_address

    ffi = sd._ffi
    return sd._StreamBase("duplex", callback=ffi.cast("PaStreamCallback*", callback_address()),
                          userdata=ffi.cast("void*", clock.address), wrap_callback=None,
                          **settings)


async def open_duplex(audio: AudioSettings, nchannels: int, packet_s: float) -> DeviceDuplex:
    """Open the duplex stream in a worker thread (see :func:`open_devices`)."""
    loop = asyncio.get_running_loop()
    opening = loop.run_in_executor(None, DeviceDuplex, audio, nchannels, packet_s)
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        opening.add_done_callback(_close_duplex)  # the call ended meanwhile
        raise


def _close_duplex(opening: asyncio.Future[DeviceDuplex]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        opening.result().close()
