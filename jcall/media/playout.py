"""Playout: the frames to play, out of the jitter buffer, decided at times passed in (a
paced sink's due time for each frame, or a device's refill for all the frames it
asks at once: rtp/jitterbuffer.py, *Time*). Before playout starts, and wherever the
jitter buffer has nothing yet, silence stands in. Pure: times in, PCM out."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from ..audio.deviceclock import NativeReceiver
from ..rtp.jitterbuffer import AnyJitterBuffer

Pcm = npt.NDArray[np.int16]


class Playout:
    """``frame``: the jitter buffer's frame; ``on_first(t)`` is called once, with the time
    the first received sample is due to play."""

    def __init__(self, jitter: AnyJitterBuffer, frame: int,
                 on_first: Callable[[float], None] = lambda t: None) -> None:
        self.jitter, self.frame = jitter, frame
        self.rate, self.nchannels = jitter.rate, jitter.channels
        self._on_first = on_first
        self.started = False  # whether received audio has been played
        self.last: Pcm | None = None  # what was pulled last (the output level meter)

    def pull(self, n: int, due: float) -> Pcm:
        """At least ``n`` samples, whole frames, decided at ``due`` (one decision for the
        jitter buffer: a device asks for a period at once)."""
        pcm = self.jitter.pop(due, n)
        if pcm is not None and len(pcm) >= n and self.started:
            self.last = pcm
            return pcm  # the steady state: one frame is enough (a device asks for less)
        out = []
        have = 0
        while True:
            if pcm is None:
                pcm = np.zeros((self.frame, self.nchannels), dtype=np.int16)
            elif not self.started:
                self.started = True
                self._on_first(due + have / self.rate)
            out.append(pcm)
            have += len(pcm)
            if have >= n:
                self.last = played = np.concatenate(out)
                return played
            pcm = self.jitter.pop(due, n)


class NativePlayout:
    """Playout run by a native device clock (jcall/_deviceclock.c ``receive_l16``:
    :class:`Playout` in C), behind Playout's interface, for the periods Python still
    plays (before the clock reads the socket, or on a relay). ``on_first`` as
    Playout's: called once, from whichever of the two saw it first."""

    def __init__(self, native: NativeReceiver, nchannels: int,
                 on_first: Callable[[float], None] = lambda t: None) -> None:
        self.native, self.nchannels = native, nchannels
        self._on_first = on_first
        self.started = False

    def pull(self, n: int, due: float) -> Pcm:
        pcm = np.frombuffer(self.native.pull(n, due), np.int16).reshape(-1, self.nchannels)
        if not self.started:
            self.check_first()
        return pcm

    def check_first(self) -> None:
        """Say when the first received sample played, once it has."""
        if not self.started:
            first = self.native.received()["first_played"]
            if first is not None:
                self.started = True
                self._on_first(first)

    @property
    def last(self) -> Pcm | None:
        """What was pulled last (the output level meter)."""
        return np.frombuffer(self.native.last_played(), np.int16).reshape(-1, self.nchannels)
