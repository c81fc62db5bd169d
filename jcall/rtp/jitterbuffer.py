"""Adaptive jitter buffer with concealment and skew compensation. Pure: packets and
their arrival times in, one frame of PCM per ``pop(now)`` out.

Theory of operation
-------------------
*Slack* is the quantity everything turns on: for a packet arriving at ``a``, the time
from ``a`` to the ``pop`` that first takes one of its samples, measured when that pop
happens: it is how much later the packet could have come without a gap. A paced sink
pops one frame per frame time, but a sound device pops several frames at once, then
none for a callback period; measuring at the pop holds for both, where predicting it
from the arrival would not (the frames after the first in a burst are decided early).
Pops with the same ``now`` are one *decision*; the time between decisions (a frame, or
a device's period) is the *quantum* that slack moves in, whatever the stretching.

* **Target.** The slack the buffer aims for is the 95th percentile of arrival jitter
  (transit time minus its minimum over the last 2 s) plus a 3 ms safety margin,
  within [``floor_s``, ``max_s``]. It starts at the floor (10 ms).
* **Level shifts.** When the transit time steps up and stays, the path or the
  sender's timeline shifted once -- a sender whose sound device lost a period sends
  the rest of the call that much later against its timestamps. That is not jitter.
  The sign of one: the latest 20 packets all came later than the minimum, by 3 ms or
  more and by more than they differ among themselves (a sender that packetises from
  device periods sends in a sawtooth as wide as a period, on any network). The
  minimum is then taken afresh from those packets, and their jitter samples are
  measured against it. Otherwise the shift would count as jitter for the 2 s the old
  minimum stays in the window, raise the target for seconds, and have the buffer
  expand for it, a delay the decisions below leave in place. The packets' own slack
  still shows how much later they come, so the buffer expands if that leaves it
  short of its target. Random jitter is not that one-sided: of 20 packets some come
  near the minimum. A clock skew of 1000 ppm moves the transit 2 ms in the window.
* **Start.** Playout starts at the first ``pop`` at least target + 2 ms after the first
  packet arrived, plus the quantum less a frame (a decision that pops a whole device
  period needs the packets of that period): the initial delay from arrival to playout
  is under target plus a quantum (10 ms + 10 ms for L16 at 44.1 kHz, paced). When
  packets do not tile the frames (farstream fills its MTU: 347 samples of L16 stereo
  against 441-sample frames), a packet may begin anywhere in a frame, and one that
  begins at a frame's end is needed a whole frame before it would be on a tiling
  stream: the start then waits a frame less the greatest common divisor of the two
  sizes more (the *tiling* allowance), instead of expanding to it once packets show
  the shortfall; acceleration leaves that allowance alone too.
* **Adaptation.** Once 20 packets have come since the last adjustment, their slacks
  decide, a few stray packets aside (not a trend). If the third smallest slack is
  below target - 2 ms: *expand*, appending up to a quarter frame of pitch-period
  substitution. If the second smallest continuous slack (to the packet's own first
  sample within the decision, which also sees sub-frame offsets left by earlier
  stretching) exceeds target + a quantum + the tiling allowance + 4 ms (a quantum is
  what the decisions' spacing alone explains): *accelerate*, dropping up to a quarter
  frame at the quietest point with a short cross-fade, never below that. This
  absorbs target changes and sender/receiver clock skew (±1000 ppm is 1 ms/s)
  without letting delay grow, and leaves the audio untouched when neither is needed
  (loopback output is sample-exact).
* **Disturbances.** A decision that comes more than 2 ms later than the quantum
  says the device lost time (an xrun): a device that skipped a period plays
  everything after it a period later, a delay the adaptation above leaves in place
  when it fits below the accelerate threshold. So the buffer remembers the
  continuous slack it had settled at before, and once 20 fresh packets show it
  higher by more than 2 ms, drops back to it, a quarter frame at a time, as far as
  that leaves the packets the slack the expand rule asks (a packet whose first
  sample the cut moves into the decision before loses a quantum of it). A
  disturbance that left the slack where it was changes nothing.
* **Time.** ``pop(now)`` gets the time the frame is decided: a paced sink's absolute
  deadline for it, or for a device the time of the callback's refill, the same for
  every frame of that refill (the device's output latency after that is constant).
* **Loss and lateness.** Missing samples are concealed (:mod:`jcall.audio.plc`); a
  packet arriving after its samples were due is counted late and dropped.
* **Pauses.** With nothing buffered for ``hold_s`` the buffer stops and waits for the
  next packet as at the start; a timestamp jump beyond ``max_s`` also restarts it.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..audio.plc import Concealer
from ..seqnum import Unwrapper

Pcm = npt.NDArray[np.int16]

SAFETY_S = 0.003
JITTER_WINDOW_S = 2.0  # the minimum transit is taken over this window
JITTER_SAMPLES = 500  # the p95 is taken over this many recent packets
DECISION_PACKETS = 20
EXPAND_OUTLIERS = 2  # packets of a decision's 20 whose low slack does not count
MIN_JITTER_SAMPLES = 20
MARGIN_S = 0.002
LEVEL_PACKETS = 20  # a level shift: this many packets in a row all this far (and
LEVEL_STEP_S = 0.003  # farther than they lie apart) above the minimum transit time
DECISION_GAPS = 50  # the quantum is taken over this many gaps between decisions
GAP_TOLERANCE_S = 0.0001
ACCELERATE_MARGIN_S = 0.004
DISTURBANCE_S = 0.002  # a decision this much later than the quantum: the device lost time
XFADE_S = 0.001


@dataclass
class JitterStats:
    """What the jitter buffer did with the packets it was given."""

    received: int = 0
    duplicates: int = 0
    late: int = 0
    concealed_samples: int = 0
    accelerated_samples: int = 0
    expanded_samples: int = 0
    underruns: int = 0  # pops that found nothing buffered while playing
    restarts: int = 0


class JitterBuffer:
    def __init__(self, rate: int, channels: int, frame: int, *, floor_s: float = 0.010,
                 max_s: float = 0.200, hold_s: float = 0.1) -> None:
        self.rate, self.channels, self.frame = rate, channels, frame
        self.floor_s, self.max_s, self.hold_s = floor_s, max_s, hold_s
        self.target_s = floor_s
        self.stats = JitterStats()
        self._unwrap = Unwrapper(32)
        self._starts: list[int] = []
        self._chunks: dict[int, Pcm] = {}
        self._arrivals: dict[int, float] = {}  # of each chunk, until its first use
        self._play: int | None = None  # extended timestamp of the next sample to play
        self._first_arrival = 0.0
        self._decided_at: float | None = None  # the `now` of the latest pop
        self._decision_first = 0  # the first sample that decision took
        self._gaps: deque[float] = deque(maxlen=DECISION_GAPS)
        self._decisions = 0
        self._quantum = frame / rate
        self._tiling = 0  # samples a packet may begin before its frame's end (see Start)
        self._last_arrival = 0.0
        self._concealer = Concealer(rate, channels)
        self._transit_min: deque[tuple[float, float]] = deque()  # monotonic minimum
        self._recent: deque[tuple[float, float]] = deque(maxlen=LEVEL_PACKETS)
        # The latest jitter samples in arrival order, and the same kept sorted: the
        # p95 is then a lookup per pop instead of a sort.
        self._jitter: deque[float] = deque()
        self._jitter_sorted: list[float] = []
        # frame-quantised and continuous slack of the latest packets
        self._slack_q: deque[float] = deque(maxlen=DECISION_PACKETS)
        self._slack_c: deque[float] = deque(maxlen=DECISION_PACKETS)
        self._settled: float | None = None  # the continuous slack of the latest window
        self._return_to: float | None = None  # ... before a disturbance (see Disturbances)

    # -- state ----------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self._play is not None

    @property
    def level_s(self) -> float:
        """Audio buffered ahead of the playout point."""
        if self._play is None or not self._starts:
            return 0.0
        last = self._starts[-1]
        return max(0, last + len(self._chunks[last]) - self._play) / self.rate

    @property
    def quantum_s(self) -> float:
        """The time between decisions: a frame for a paced sink, a device's period."""
        return self._quantum

    @property
    def settled_slack_s(self) -> float | None:
        """The continuous slack the latest 20 packets settled at (see Adaptation);
        None until they have come."""
        return self._settled

    @property
    def start_delay_s(self) -> float:
        """How long after the first packet's arrival playout may start."""
        return self.target_s + MARGIN_S + self.quantum_s + self.tiling_s \
            - self.frame / self.rate

    @property
    def tiling_s(self) -> float:
        """What packets that do not tile the frames add to the delay (see Start)."""
        return self._tiling / self.rate

    @property
    def delay_s(self) -> float:
        """Designed delay from a packet's arrival to the end of its playout."""
        return self.target_s + self.quantum_s + self.tiling_s

    # -- input ----------------------------------------------------------------------------
    def new_source(self) -> None:
        """The sender's SSRC changed (``receiver.py``): its timestamps start afresh,
        so what is buffered and the transit history are of another timeline. The
        jitter samples stay: they describe the network, not the source."""
        self._stop()
        self._unwrap = Unwrapper(32)
        self._transit_min.clear()
        self._recent.clear()
        self.stats.restarts += 1

    def push(self, timestamp: int, pcm: Pcm, arrival: float) -> None:
        ext = self._unwrap.extend(timestamp)
        n = len(pcm)
        if n == 0:
            return
        self._track_jitter(ext, arrival)
        if self._play is not None:
            if ext + n <= self._play:
                self.stats.late += 1
                return
            if ext - self._play > (self.max_s + self.hold_s) * self.rate:
                self._stop()  # the sender jumped ahead: start over from this packet
                self.stats.restarts += 1
        if ext in self._chunks:
            self.stats.duplicates += 1
            return
        bisect.insort(self._starts, ext)
        self._chunks[ext] = pcm
        if self._play is None or ext >= self._play:  # (a partly late one has no slack)
            self._arrivals[ext] = arrival
        self.stats.received += 1
        if self._play is None and len(self._starts) == 1:
            self._first_arrival = arrival
            self._tiling = self.frame - math.gcd(n, self.frame)
        self._last_arrival = arrival

    def _track_jitter(self, ext: int, arrival: float) -> None:
        transit = arrival - ext / self.rate
        while self._transit_min and self._transit_min[-1][1] >= transit:
            self._transit_min.pop()
        self._transit_min.append((arrival, transit))
        while self._transit_min[0][0] < arrival - JITTER_WINDOW_S:
            self._transit_min.popleft()
        jitter = transit - self._transit_min[0][1]
        if len(self._jitter) == JITTER_SAMPLES:
            old = self._jitter.popleft()
            del self._jitter_sorted[bisect.bisect_left(self._jitter_sorted, old)]
        self._jitter.append(jitter)
        bisect.insort(self._jitter_sorted, jitter)
        recent = self._recent
        recent.append((arrival, transit))
        if len(recent) == LEVEL_PACKETS:
            low = min(t for _, t in recent)
            spread = max(t for _, t in recent) - low
            if low - self._transit_min[0][1] >= max(LEVEL_STEP_S, spread):
                self._rebase(low)

    def _rebase(self, low: float) -> None:
        """A level shift (see Level shifts): the minimum is the recent packets', and
        their jitter samples are measured against it."""
        since = self._recent[0][0]
        while len(self._transit_min) > 1 and self._transit_min[0][0] < since:
            self._transit_min.popleft()
        first = len(self._jitter) - LEVEL_PACKETS
        for k, (_, transit) in enumerate(self._recent):
            old = self._jitter[first + k]
            del self._jitter_sorted[bisect.bisect_left(self._jitter_sorted, old)]
            self._jitter[first + k] = transit - low
            bisect.insort(self._jitter_sorted, transit - low)

    # -- output ---------------------------------------------------------------------------
    def pop(self, now: float, span: int = 0) -> Pcm | None:
        """The next frame to play at ``now``; None while waiting for the first packet.
        ``span``: the samples this decision takes in all, if more than a frame (a
        device's request); it stands in for the quantum until one is measured."""
        if now != self._decided_at:  # a new decision (a device pops several per one)
            if self._decided_at is not None:
                gap = now - self._decided_at
                if gap > self._quantum + DISTURBANCE_S and self._settled is not None:
                    self._return_to = self._settled
                    self._clear_slack()  # (judged on packets after it)
                self._note_gap(gap)
            elif span > self.frame:
                # The very first decision: no gap to learn the quantum from yet, and
                # starting now with the packets of one frame would leave the rest of
                # the request concealed and the packets of the next ones late.
                self._quantum = span / self.rate
            self._decided_at = now
            self._decision_first = self._play if self._play is not None else 0
        if self._play is None:
            # (a microsecond of tolerance for callers that computed `now` from a rate)
            if not self._starts or now < self._first_arrival + self.start_delay_s - 1e-6:
                return None
            self._start(now)
        self._update_target()
        accelerate, expand = self._decide()
        pcm = self._take(self.frame + accelerate - expand, now)
        if accelerate:
            pcm = _cut(pcm, accelerate, max(1, int(XFADE_S * self.rate)))
            self.stats.accelerated_samples += accelerate
        if expand:
            pcm = np.concatenate([pcm, self._concealer.conceal(expand)])
            self.stats.expanded_samples += expand
        self._forget_played()
        if not self._starts and now - self._last_arrival > self.hold_s:
            self._stop()
        return pcm

    def _note_gap(self, gap: float) -> None:
        """The quantum is the 90th percentile of the latest gaps (a device whose
        callbacks alternate short and long needs the long ones; one late callback is
        not a pattern). Sorted again only when a gap is longer than the quantum or
        every DECISION_GAPS decisions: this runs at every pop."""
        self._gaps.append(gap)
        self._decisions += 1
        if gap > self._quantum + GAP_TOLERANCE_S or self._decisions % DECISION_GAPS == 0:
            gaps = sorted(self._gaps)
            self._quantum = max(self.frame / self.rate, gaps[round(0.9 * (len(gaps) - 1))])

    def _start(self, now: float) -> None:
        # If the first pop comes late (the sink started after packets came), start at
        # the packet playout would be in had it started on time, as a timely start
        # does (decisions not phased to the first packet are up to a quantum late: a
        # frame, or a device's period); older packets are late.
        # (within a quantum of the start delay the start is timely: packets shorter
        # than a frame must not count as late then)
        late_s = now - self._first_arrival - self.start_delay_s
        if late_s > self.quantum_s:
            on_time = self._starts[0] + round((late_s - self.quantum_s) * self.rate) \
                + self.frame
            while len(self._starts) > 1 and self._starts[1] <= on_time:
                self._drop(self._starts.pop(0))
                self.stats.late += 1
        self._play = self._decision_first = self._starts[0]
        self._clear_slack()

    def _stop(self) -> None:
        self._play = None
        self._settled = self._return_to = None
        self._starts.clear()
        self._chunks.clear()
        self._arrivals.clear()
        self._clear_slack()
        self._concealer = Concealer(self.rate, self.channels)

    def _clear_slack(self) -> None:
        self._slack_q.clear()
        self._slack_c.clear()

    def _update_target(self) -> None:
        ordered = self._jitter_sorted
        if len(ordered) >= MIN_JITTER_SAMPLES:
            # Nearest rank (numpy's percentile costs 0.1 ms a call, ~10 ms the first).
            p95 = ordered[round(0.95 * (len(ordered) - 1))]
            self.target_s = min(self.max_s, max(self.floor_s, p95 + SAFETY_S))

    def _decide(self) -> tuple[int, int]:
        """(samples to drop, samples to add) in this pop."""
        if len(self._slack_q) < DECISION_PACKETS:
            return 0, 0
        # Expanding adds delay for the rest of the call: two stray packets in twenty are
        # not a trend (timer wake-ups on this kind of machine come up to 5 ms late
        # about once in a hundred, at the sender and at a relay alike).
        quantised = sorted(self._slack_q)[EXPAND_OUTLIERS]
        step = self.frame // 4
        if quantised < self.target_s - MARGIN_S:
            self._clear_slack()  # judge the effect on fresh packets
            self._return_to = None
            return 0, max(1, min(step, round((self.target_s - quantised) * self.rate)))
        continuous = sorted(self._slack_c)[1]
        ahead = int(self.level_s * self.rate) - self.frame
        if self._return_to is not None:
            rise = continuous - self._return_to
            k = min(step, round(rise * self.rate), ahead)
            if rise > MARGIN_S and k > 0 and self._keeps_slack(k):
                self._clear_slack()
                return k, 0
            self._return_to = None  # back (or as near as it may go)
        self._settled = continuous
        designed = self.target_s + self.quantum_s + self.tiling_s
        if continuous > designed + ACCELERATE_MARGIN_S:
            k = min(step, round((continuous - designed) * self.rate), ahead)
            if k > 0:
                self._clear_slack()
                return k, 0
        return 0, 0

    def _keeps_slack(self, k: int) -> bool:
        """Whether dropping ``k`` samples leaves the latest packets the slack the expand
        rule asks: a packet whose first sample lay less than ``k`` into its decision
        would come into the decision before, a quantum earlier."""
        after = sorted(q if (c - q) * self.rate >= k else q - self._quantum
                       for q, c in zip(self._slack_q, self._slack_c, strict=True))
        return after[EXPAND_OUTLIERS] >= self.target_s - MARGIN_S

    def _take(self, n: int, now: float) -> Pcm:
        """``n`` samples from the playout point on: real, pre-roll silence or concealed."""
        assert self._play is not None
        first, end = self._play, self._play + n
        out: Pcm | None = None  # made only when the frame is not one packet's slice
        pos = first
        while pos < end:
            i = bisect.bisect_right(self._starts, pos) - 1
            if i >= 0 and pos < self._starts[i] + len(self._chunks[self._starts[i]]):
                start = self._starts[i]
                arrival = self._arrivals.pop(start, None)
                if arrival is not None:  # its first use
                    self._slack_q.append(now - arrival)
                    self._slack_c.append(now - arrival
                                         + (pos - self._decision_first) / self.rate)
                m = min(end, start + len(self._chunks[start])) - pos
                seg = self._concealer.play(self._chunks[start][pos - start:pos - start + m])
                if m == n:  # one packet holds the whole frame: no copy
                    self._play = end
                    return seg
            else:
                nxt = self._starts[i + 1] if i + 1 < len(self._starts) else end
                m = min(end, nxt) - pos
                if i + 1 >= len(self._starts) and pos == first:
                    self.stats.underruns += 1
                seg = self._concealer.conceal(m)
                self.stats.concealed_samples += m
            if out is None:
                out = np.zeros((n, self.channels), dtype=np.int16)
            out[pos - first:pos - first + m] = seg
            pos += m
        self._play = end
        assert out is not None  # n > 0
        return out

    def _forget_played(self) -> None:
        assert self._play is not None
        while self._starts and self._starts[0] + len(self._chunks[self._starts[0]]) <= self._play:
            self._drop(self._starts.pop(0))

    def _drop(self, start: int) -> None:
        del self._chunks[start]
        self._arrivals.pop(start, None)


def _cut(pcm: Pcm, k: int, xf: int) -> Pcm:
    """Remove ``k`` samples at the quietest point, cross-fading over ``xf`` samples."""
    n = len(pcm)
    xf = min(xf, (n - k) // 2)
    mono = pcm.astype(np.float64).mean(axis=1)
    energy = np.convolve(mono * mono, np.ones(k + xf), mode="valid")  # energy of pcm[c:c+k+xf]
    lo, hi = xf, n - k - xf
    c = lo + int(np.argmin(energy[lo:hi + 1])) if hi >= lo else max(0, (n - k) // 2)
    ramp = np.linspace(0.0, 1.0, xf, endpoint=False)[:, None]
    fade = pcm[c:c + xf] * (1.0 - ramp) + pcm[c + k:c + k + xf] * ramp
    joined = np.clip(np.rint(fade), -32768, 32767).astype(np.int16)
    return np.concatenate([pcm[:c], joined, pcm[c + k + xf:]])


class NativeJitterBuffer:
    """:class:`JitterBuffer` in C (jcall/_jitter.c, the same samples and counts: tests/
    unit/rtp/test_jitter_native.py), behind the same interface. ``native`` is the C
    object, which a native device clock may run itself (jcall/_deviceclock.c)."""

    def __init__(self, rate: int, channels: int, frame: int, *, floor_s: float = 0.010,
                 max_s: float = 0.200, hold_s: float = 0.1) -> None:
        from .._jitter import JitterBuffer as Native

        self.native = Native(rate, channels, frame, floor_s=floor_s, max_s=max_s,
                             hold_s=hold_s)
        self.rate, self.channels, self.frame = rate, channels, frame
        self.new_source = self.native.new_source

    def push(self, timestamp: int, pcm: Pcm, arrival: float) -> None:
        self.native.push(timestamp, np.ascontiguousarray(pcm, dtype=np.int16), arrival)

    def pop(self, now: float, span: int = 0) -> Pcm | None:
        out = self.native.pop(now, span)
        return None if out is None else np.frombuffer(out, np.int16).reshape(-1, self.channels)

    @property
    def stats(self) -> JitterStats:
        return JitterStats(*self.native.counts())

    @property
    def playing(self) -> bool:
        return self.native.playing

    @property
    def level_s(self) -> float:
        return self.native.level_s

    @property
    def target_s(self) -> float:
        return self.native.target_s

    @property
    def quantum_s(self) -> float:
        return self.native.quantum_s

    @property
    def settled_slack_s(self) -> float | None:
        return self.native.settled_slack_s

    @property
    def start_delay_s(self) -> float:
        return self.native.start_delay_s

    @property
    def tiling_s(self) -> float:
        return self.native.tiling_s

    @property
    def delay_s(self) -> float:
        return self.native.delay_s


def jitter_buffer(rate: int, channels: int, frame: int, native: bool = True
                  ) -> JitterBuffer | NativeJitterBuffer:
    """The jitter buffer in C where it was built (and ``native``), else in Python."""
    if native and channels in (1, 2):
        try:
            return NativeJitterBuffer(rate, channels, frame)
        except ImportError:
            pass
    return JitterBuffer(rate, channels, frame)


AnyJitterBuffer = JitterBuffer | NativeJitterBuffer
