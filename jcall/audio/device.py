"""Sound devices through sounddevice (PortAudio) callback streams: the only module that
imports sounddevice, and only when a device is really used, so that signalling works
on machines without PortAudio.

Microphone and speaker together, on a direct path, are one duplex stream
(:class:`DeviceDuplex`) whose callback runs the call's media itself (media.py, the
device clock). Otherwise (one device, or a relayed path) each device has its own
stream: only copying happens in PortAudio's callback thread; blocks cross to asyncio with
``call_soon_threadsafe``, where resampling and the jitter buffer live. Playback is
driven by the device's clock: each callback asks asyncio to top its queue up to what
the next callback will take, so the callback never waits. Streams are opened and
started in a worker thread (both are slow) and run from then on: the microphone's
blocks are dropped, and the speaker plays silence, until the call's media starts.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ExitCode, JcallError
from .convert import StreamResampler, channels
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
            info = _sounddevice().query_devices(_resolve(spec, kind), kind)
            return int(info["default_samplerate"])
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
        self._index = _resolve(spec, self.kind)
        info = self._sd.query_devices(self._index, self.kind)
        self.device_rate = int(info["default_samplerate"])
        self.device_channels = min(max(nchannels, 1), int(info[f"max_{self.kind}_channels"]))
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


Tick = Callable[[Pcm, Pcm, int], None]  # (captured, to play, frames) in the callback


class DuplexStats:
    """One duplex stream's counters, told apart by direction: PortAudio's input
    flags are the microphone's xruns, its output flags the speaker's."""

    def __init__(self, rate: int) -> None:
        self.input = DeviceStats(rate)
        self.output = DeviceStats(rate)

    def count(self, frames: int, status: Any) -> None:
        self.input.count(frames, bool(status.input_overflow or status.input_underflow))
        self.output.count(frames, bool(status.output_underflow or status.output_overflow))


class DeviceDuplex:
    """Microphone and speaker in one PortAudio duplex stream whose callback drives
    the call's media (``start(tick)``): captured audio is sent, and what is played is
    decided, in the callback itself, on the device's clock -- no hop to the event
    loop per period. Until ``start`` it plays silence and drops what it captures."""

    def __init__(self, audio: AudioSettings, nchannels: int) -> None:
        self._sd = sd = _sounddevice()
        self._in = _resolve(audio.input_device, "input")
        self._out = _resolve(audio.output_device, "output")
        info_in = sd.query_devices(self._in, "input")
        info_out = sd.query_devices(self._out, "output")
        self.device_rate = int(info_out["default_samplerate"])
        self.channels_in = min(max(nchannels, 1), int(info_in["max_input_channels"]))
        self.channels_out = min(max(nchannels, 1), int(info_out["max_output_channels"]))
        self.stats = DuplexStats(self.device_rate)
        self._tick: Tick | None = None
        try:
            self._stream = sd.Stream(device=(self._in, self._out), samplerate=self.device_rate,
                                     channels=(self.channels_in, self.channels_out),
                                     dtype="int16", latency="low", callback=self._callback)
            self._stream.start()
        except sd.PortAudioError as exc:
            raise AudioDeviceError(f"cannot open the sound devices: {exc}; {HINT}") from None

    def start(self, tick: Tick) -> None:
        self._tick = tick

    def _callback(self, indata: Pcm, outdata: Pcm, frames: int, when: Any,
                  status: Any) -> None:
        self.stats.count(frames, status)
        tick = self._tick
        if tick is None:
            outdata.fill(0)
            return
        tick(indata, outdata, frames)

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()


async def open_duplex(audio: AudioSettings, nchannels: int) -> DeviceDuplex:
    """Open the duplex stream in a worker thread (see :func:`open_devices`)."""
    loop = asyncio.get_running_loop()
    opening = loop.run_in_executor(None, DeviceDuplex, audio, nchannels)
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        opening.add_done_callback(_close_duplex)  # the call ended meanwhile
        raise


def _close_duplex(opening: asyncio.Future[DeviceDuplex]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        opening.result().close()
