"""Sound devices through sounddevice (PortAudio) callback streams: the only module that
imports sounddevice, and only when a device is really used, so that signalling works
on machines without PortAudio.

The devices a call uses are one stream (:class:`DeviceStream`: duplex for microphone
and speaker) whose callback runs the call's media itself (media/session.py, the device clock;
audio/deviceclock.py, natively jcall/_deviceclock.c). It is opened in a worker thread
(slow) and runs from then on: the microphone's samples are dropped, and the speaker
plays silence, until the call's media starts.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, cast

from ..errors import ExitCode, JcallError
from ..rtp.packetizer import Packetizer
from .deviceclock import (
    FrameClock,
    NativeClock,
    NativeReceiver,
    NativeSender,
    Report,
    Tick,
    frame_clock,
)
from .settings import AudioSettings

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


class DeviceStream:
    """The call's sound devices as one PortAudio stream -- duplex for microphone and
    speaker, else the one device the call uses -- whose callback drives the call's
    media (``start(tick)``, audio/deviceclock.py): captured audio is sent, and what is
    played is decided, in the callback itself, on the device's clock -- no hop to the
    event loop per period. Where jcall._deviceclock was built, the callback is that
    native code and enters Python only once per packet (``packet_s`` of audio). Until
    ``start`` it plays silence and drops what it captures. ``channels_in`` or
    ``channels_out`` is 0 for a direction the call does not use."""

    def __init__(self, audio: AudioSettings, nchannels: int, packet_s: float,
                 native: bool = True) -> None:
        self._sd = sd = _sounddevice()
        self.channels_in = self.channels_out = 0
        rate = 0
        if audio.uses_input_device:
            self._in, rate, self.channels_in = _device(audio.input_device, "input", nchannels)
        if audio.uses_output_device:  # (the speaker's rate: the stream runs at one rate)
            self._out, rate, self.channels_out = _device(audio.output_device, "output",
                                                         nchannels)
        if not rate:
            raise ValueError("a device stream without a device")
        self.device_rate = rate
        frame = max(1, round(rate * packet_s))
        # Room for a second of audio either way: a period is far shorter, and what the
        # media queues to play is a period's worth and the rest of its last frame.
        self._clock = frame_clock(max(1, self.channels_in), max(1, self.channels_out), frame,
                                  max(rate, 4 * frame), int(STARTUP_S * rate), native)
        kind, settings = self._settings()
        try:
            if isinstance(self._clock, FrameClock):
                raw = {"duplex": sd.RawStream, "input": sd.RawInputStream,
                       "output": sd.RawOutputStream}[kind]
                callback = {"duplex": self._duplex_callback, "input": self._input_callback,
                            "output": self._output_callback}[kind]
                self._stream = raw(callback=callback, **settings)
            else:
                self._stream = _native_stream(sd, self._clock, kind, settings)
            self._stream.start()
        except sd.PortAudioError as exc:
            raise AudioDeviceError(f"cannot open the sound devices: {exc}; {HINT}") from None

    def _settings(self) -> tuple[str, dict[str, Any]]:
        common = {"samplerate": self.device_rate, "dtype": "int16", "latency": "low"}
        if self.channels_in and self.channels_out:
            return "duplex", common | {"device": (self._in, self._out),
                                       "channels": (self.channels_in, self.channels_out)}
        if self.channels_in:
            return "input", common | {"device": self._in, "channels": self.channels_in}
        return "output", common | {"device": self._out, "channels": self.channels_out}

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

    def receive_l16(self, jitter: object, kinds: bytes, frame: int, report: Report
                    ) -> NativeReceiver | None:
        """Have the native clock run the receive path and playout of L16 at the
        device's output rate and channels (jcall/_deviceclock.c ``receive_l16``:
        ``jitter`` is a jcall._jitter.JitterBuffer); None where the clock is not
        native. Before ``start``."""
        if isinstance(self._clock, FrameClock):
            return None
        clock = cast(NativeClock, self._clock)
        clock.receive_l16(jitter, kinds, self.device_rate, self.channels_out, frame, report)
        return clock

    def device_stats(self) -> dict[str, dict[str, int]]:
        """PortAudio's input flags are the microphone's xruns, its output flags the
        speaker's (after start-up; and during it)."""
        counts = self._clock.counters()
        used = [d for d, n in (("input", self.channels_in), ("output", self.channels_out)) if n]
        return {f"{direction}_device": {
            "callbacks": counts["callbacks"], "xruns": counts[f"{direction}_xruns"],
            "startup_xruns": counts[f"{direction}_startup_xruns"], "rate": self.device_rate}
            for direction in used}

    # The Python callbacks, where the native clock was not built.
    def _duplex_callback(self, indata: Any, outdata: Any, frames: int, when: Any,
                         status: Any) -> None:
        outdata[:] = self._period(bytes(indata), frames, status)

    def _input_callback(self, indata: Any, frames: int, when: Any, status: Any) -> None:
        self._period(bytes(indata), frames, status, output=False)

    def _output_callback(self, outdata: Any, frames: int, when: Any, status: Any) -> None:
        outdata[:] = self._period(b"", frames, status)

    def _period(self, captured: bytes, frames: int, status: Any,
                output: bool = True) -> bytes:
        flags = (status.input_underflow | status.input_overflow << 1
                 | status.output_underflow << 2 | status.output_overflow << 3)
        assert isinstance(self._clock, FrameClock)
        return self._clock.period(captured, frames, flags, output)

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()


def _native_stream(sd: Any, clock: Any, kind: str, settings: dict[str, Any]) -> Any:
    """A stream whose callback is the native clock's: sounddevice's stream class takes
    a C callback (a cffi pointer) and its user data as they are, when it is not asked
    to wrap a Python callback. (``_StreamBase`` is sounddevice's own base of ``Stream``;
    the public classes always wrap.) The native callback takes a missing input or
    output buffer as none."""
    from .._deviceclock import callback_address

    ffi = sd._ffi
    return sd._StreamBase(kind, callback=ffi.cast("PaStreamCallback*", callback_address()),
                          userdata=ffi.cast("void*", clock.address), wrap_callback=None,
                          **settings)


async def open_stream(audio: AudioSettings, nchannels: int, packet_s: float) -> DeviceStream:
    """Open the call's device stream in a worker thread. PortAudio takes from tens of
    ms (an ALSA device) to over 100 ms (a JACK client) to open a stream; on the event
    loop that would hold up the ICE socket, and packets read late get wrong arrival
    times (the jitter buffer then buffers for a burst that never was)."""
    loop = asyncio.get_running_loop()
    opening = loop.run_in_executor(None, DeviceStream, audio, nchannels, packet_s)
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        opening.add_done_callback(_close_opened)  # the call ended meanwhile
        raise


def _close_opened(opening: asyncio.Future[DeviceStream]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        opening.result().close()
