"""The device clock's period: what a duplex sound stream's callback does each period,
apart from the media's decisions. Captured samples are gathered into whole packets;
samples to play are queued; the media's ``tick(captured, short)`` is called only in
a period where a whole packet (or several) was captured, or where what is queued
cannot fill the period -- about once per packet, not once per period. The tick
returns the samples to queue for playout (at least ``short`` frames).

Both are interleaved int16 bytes at the device's rate and channels. :class:`FrameClock`
is the reference, in Python; ``jcall._deviceclock.DeviceClock`` does the same in C as
the stream's own callback, so that the periods in between never enter Python (the
native module's header says why). :func:`frame_clock` returns the native one where it
was built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

Tick = Callable[[bytes, int], bytes]  # (whole packets captured, frames short) -> to play
SAMPLE_BYTES = 2
# PortAudio's callback status flags (portaudio.h)
INPUT_FLAGS = 0x1 | 0x2  # paInputUnderflow, paInputOverflow
OUTPUT_FLAGS = 0x4 | 0x8  # paOutputUnderflow, paOutputOverflow


class Clock(Protocol):
    def start(self, tick: Tick) -> None: ...

    def period(self, captured: bytes, frames: int, status: int = 0) -> bytes: ...

    def counters(self) -> dict[str, int]: ...


class NativeSender(Protocol):
    """The native clock sending each captured packet itself (jcall/_deviceclock.c
    ``send_l16``)."""

    muted: bool

    def sent(self) -> tuple[int, int, int, int]: ...

    def last_sent(self) -> bytes: ...


class NativeReceiver(Protocol):
    """The native clock running the receive path and playout itself (jcall/
    _deviceclock.c ``receive_l16``; jcall/media/receive.py and playout.py are the
    reference)."""

    def own_socket(self, fd: int, host: str, port: int) -> None: ...

    def take(self, data: bytes, arrival: float) -> tuple[int, int, bytes] | None: ...

    def pull(self, n: int, due: float) -> bytes: ...

    def received(self) -> dict[str, Any]: ...

    def last_played(self) -> bytes: ...


Aside = tuple[float, bytes, "tuple[str, int] | None", int, int]
Report = Callable[[list[Aside], float], None]


class NativeClock(Clock, NativeSender, NativeReceiver, Protocol):
    def send_l16(self, fd: int, host: str, port: int, payload_type: int, ssrc: int,
                 sequence: int, timestamp: int) -> None: ...

    def receive_l16(self, jitter: object, kinds: bytes, rate: int, channels: int,
                    frame: int, report: Report) -> None: ...


class FrameClock:
    """``frame``: device frames per packet; ``capacity``: frames each buffer holds (the
    oldest captured, and the newest to play, are dropped beyond it); ``startup``:
    frames from the start whose xruns count as start-up's."""

    def __init__(self, channels_in: int, channels_out: int, frame: int, capacity: int,
                 startup: int) -> None:
        if not (1 <= channels_in <= 64 and 1 <= channels_out <= 64
                and 1 <= frame <= capacity):
            raise ValueError("channels 1..64, 1 <= frame <= capacity")
        self._in_bytes = channels_in * SAMPLE_BYTES
        self._out_bytes = channels_out * SAMPLE_BYTES
        self._frame = frame
        self._capacity = capacity
        self._startup = startup
        self._captured = bytearray()
        self._queued = bytearray()
        self._tick: Tick | None = None
        self._counts = dict.fromkeys(
            ("callbacks", "frames", "input_xruns", "input_startup_xruns", "output_xruns",
             "output_startup_xruns", "dropped", "failures"), 0)

    def start(self, tick: Tick) -> None:
        self._tick = tick

    def counters(self) -> dict[str, int]:
        return dict(self._counts)

    def period(self, captured: bytes, frames: int, status: int = 0,
               output: bool = True) -> bytes:
        """One period: ``frames`` frames captured in, what the device plays out.
        ``output``: whether the stream plays (the native callback's output buffer is
        then missing); without, the tick is asked for nothing to play."""
        counts = self._counts
        counts["callbacks"] += 1
        early = counts["frames"] < self._startup
        for direction, flags in (("input", INPUT_FLAGS), ("output", OUTPUT_FLAGS)):
            if status & flags:
                counts[f"{direction}_startup_xruns" if early else f"{direction}_xruns"] += 1
        counts["frames"] += frames
        if self._tick is None:
            return bytes(frames * self._out_bytes)
        held = self._captured
        held += captured
        over = len(held) - self._capacity * self._in_bytes
        if over > 0:  # the tick fell behind: the oldest go
            counts["dropped"] += over // self._in_bytes
            del held[:over]
        whole = len(held) // self._in_bytes // self._frame * self._frame
        queued = self._queued
        short = max(0, frames - len(queued) // self._out_bytes) if output else 0
        if whole or short:
            packets = bytes(held[:whole * self._in_bytes])
            del held[:whole * self._in_bytes]
            try:
                more = self._tick(packets, short)
            except Exception:  # (the media's tick catches its own: a last resort)
                counts["failures"] += 1
            else:
                room = self._capacity * self._out_bytes - len(queued)
                usable = len(more) // self._out_bytes * self._out_bytes
                if usable > room:
                    counts["dropped"] += (usable - room) // self._out_bytes
                    usable = room
                queued += more[:usable]
        n = min(len(queued), frames * self._out_bytes)
        out = bytes(queued[:n]) + bytes(frames * self._out_bytes - n)
        del queued[:n]
        return out


def frame_clock(channels_in: int, channels_out: int, frame: int, capacity: int,
                startup: int, native: bool = True) -> Clock:
    """The native clock where it was built (and ``native``), else :class:`FrameClock`."""
    if native:
        try:
            from .._deviceclock import DeviceClock
        except ImportError:
            pass
        else:
            return DeviceClock(channels_in, channels_out, frame, capacity, startup)
    return FrameClock(channels_in, channels_out, frame, capacity, startup)
