"""What a call's audio comes from and goes to, opened at the negotiated format and
handed to the media session (ARCHITECTURE.md section 3: source and sink injected): a
paced source (a file, a tone or silence) or the microphone, a paced sink (a file or
nowhere) or the speaker. The sound devices are one stream whose callback drives
whatever of the audio they do (audio/device.py); the media thread paces the rest."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from ..audio.deviceclock import NativeReceiver, NativeSender, Report
from ..audio.endpoints import (
    FileSink,
    FileSource,
    NullSink,
    PacedSink,
    PacedSource,
    SilenceSource,
    ToneSource,
)
from ..audio.settings import AudioSettings
from ..rtp.packetizer import Packetizer


class SoundStream(Protocol):
    """The call's sound devices in one stream whose callback runs ``tick(captured,
    short)`` on the device's clock (audio/deviceclock.py, audio/device.py);
    ``channels_in`` or ``channels_out`` is 0 where the call uses no such device."""

    device_rate: int
    channels_in: int
    channels_out: int

    def device_stats(self) -> dict[str, dict[str, int]]: ...

    def send_l16(self, sock: socket.socket, remote: tuple[str, int],
                 packetizer: Packetizer) -> NativeSender | None: ...

    def receive_l16(self, jitter: object, kinds: bytes, frame: int, report: Report
                    ) -> NativeReceiver | None: ...

    def start(self, tick: Callable[[bytes, int], bytes]) -> None: ...

    def close(self) -> None: ...


StreamOpener = Callable[[AudioSettings, int, float], Awaitable[SoundStream]]


@dataclass
class Endpoints:
    """``source``/``sink``: paced, or None where the devices do that end (or, without
    devices, where nothing does)."""

    source: PacedSource | None
    sink: PacedSink | None
    devices: SoundStream | None = None


# (rate, channels, packet seconds) -> the endpoints at that format
EndpointOpener = Callable[[int, int, float], Awaitable[Endpoints]]


def opener(audio: AudioSettings, open_stream: StreamOpener | None = None
           ) -> EndpointOpener:
    """The endpoints ``audio`` asks for: the devices through ``open_stream`` (none
    without it), files, a tone, silence or nowhere for the rest."""

    async def open_endpoints(rate: int, nchannels: int, packet_s: float) -> Endpoints:
        devices = None
        if (audio.uses_input_device or audio.uses_output_device) and open_stream is not None:
            devices = await open_stream(audio, nchannels, packet_s)
        source: PacedSource | None = None
        sink: PacedSink | None = None
        if not audio.uses_input_device:
            source = (FileSource(audio.input, rate, nchannels) if audio.input
                      else ToneSource(audio.tone, rate, nchannels) if audio.tone
                      else SilenceSource(nchannels))
        if not audio.uses_output_device:
            sink = FileSink(audio.output, rate, nchannels) if audio.output else NullSink()
        return Endpoints(source, sink, devices)

    return open_endpoints
