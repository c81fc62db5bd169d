"""jcall._jitter (the jitter buffer in C) against jcall/rtp/jitterbuffer.py, the
reference: driven through the same randomised sessions, both must play the same
samples and keep the same state and counts, decision by decision."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from jcall.rtp.jitterbuffer import JitterBuffer

from .test_jitterbuffer import voice

native = pytest.importorskip("jcall._jitter")

STATE = ("playing", "level_s", "target_s", "quantum_s", "settled_slack_s", "tiling_s",
         "start_delay_s", "delay_s")


@dataclass
class Session:
    """A peer's stream as the network delivered it, and a sink's decisions."""

    rate: int
    channels: int
    frame: int  # the jitter buffer's
    packet: int  # samples per packet
    seconds: float
    jitter_s: float  # arrival delay, uniform in [0, jitter_s]
    # (for the first burst_s seconds it is burst_jitter_s: the delay must then come down)
    loss: float
    duplicate: float
    ppm: float  # the sender's clock against ours
    period: int  # samples a decision takes (a device's period), or the frame
    pause_at: float | None = None  # the sender stops for a while here
    jump_at: float | None = None  # its timestamps leap ahead here
    new_source_at: float | None = None
    noise: float = 0.0  # how much noise is mixed into the voice
    gaps: bool = False  # 100 ms of digital silence every 250 ms
    first_pop_s: float = 0.0  # the sink's first decision comes this late
    spikes: float = 0.0  # the share of packets held up 80 ms (they come late)
    burst_s: float = 0.0
    burst_jitter_s: float = 0.0
    steps: tuple[tuple[float, float], ...] = ()  # (from when, how much later) packets come
    stalls: tuple[float, ...] = ()  # the sink misses a decision here (a device's xrun)


def arrivals(s: Session, rng: np.random.Generator
             ) -> list[tuple[float, str, int, np.ndarray | None]]:
    """(time, "push"/"new_source", timestamp, pcm) in arrival order."""
    sig = voice(s.seconds + 1, s.rate, seed=int(rng.integers(1000)))
    sig = np.repeat(sig, s.channels, axis=1).astype(np.float64)
    if s.channels == 2:
        sig[:, 1] *= 0.7
    sig += rng.normal(0, s.noise, sig.shape)
    if s.gaps:
        t = np.arange(len(sig)) / s.rate
        sig[(t % 0.25) < 0.1] = 0
    pcm_all = np.clip(np.rint(sig), -32768, 32767).astype(np.int16)
    out: list[tuple[float, str, int, np.ndarray | None]] = []
    ts = int(rng.integers(0, 2**32))
    sent = 0.5
    i = 0
    paused = jumped = renewed = False
    while sent < s.seconds:
        if s.pause_at is not None and not paused and sent >= s.pause_at:
            paused, sent = True, sent + 0.4
            ts = (ts + int(0.4 * s.rate)) % 2**32
        if s.jump_at is not None and not jumped and sent >= s.jump_at:
            jumped, ts = True, (ts + 5 * s.rate) % 2**32
        if s.new_source_at is not None and not renewed and sent >= s.new_source_at:
            renewed, ts = True, int(rng.integers(0, 2**32))
            out.append((sent + 1e-4, "new_source", 0, None))
        pcm = pcm_all[i * s.packet:(i + 1) * s.packet]
        if rng.random() >= s.loss:
            spread = s.burst_jitter_s if sent < 0.5 + s.burst_s else s.jitter_s
            arrival = sent + float(rng.uniform(0, spread)) \
                + sum(late for at, late in s.steps if sent >= at)
            if rng.random() < s.spikes:
                arrival += 0.08
            out.append((arrival, "push", ts, pcm))
            if rng.random() < s.duplicate:
                out.append((arrival + 0.003, "push", ts, pcm))
        i += 1
        ts = (ts + s.packet) % 2**32
        sent += s.packet / s.rate * (1 + s.ppm * 1e-6)
    out.sort(key=lambda e: e[0])
    return out


def run(s: Session, seed: int) -> int:
    """Drive both buffers; returns the decisions compared."""
    rng = np.random.default_rng(seed)
    events = arrivals(s, rng)
    ref = JitterBuffer(s.rate, s.channels, s.frame)
    fast = native.JitterBuffer(s.rate, s.channels, s.frame)
    quantum = s.period / s.rate
    now = 0.5 + s.first_pop_s + float(rng.uniform(0, quantum))
    k = decisions = ahead = 0  # (samples popped beyond what the sink asked)
    stalls = list(s.stalls)
    while now < s.seconds + 0.5:
        if stalls and now >= stalls[0]:  # (a decision that never comes, and time lost)
            stalls.pop(0)
            now += quantum + 0.004
        while k < len(events) and events[k][0] <= now:
            at, kind, ts, pcm = events[k]
            if kind == "new_source":
                ref.new_source()
                fast.new_source()
            else:
                assert pcm is not None
                ref.push(ts, pcm, at)
                fast.push(ts, pcm, at)
            k += 1
        got = ahead
        while got < s.period:  # one decision: a device's period, or a frame
            a = ref.pop(now, s.period)
            b = fast.pop(now, s.period)
            if a is None:
                assert b is None, f"decision at {now}"
                break
            assert b is not None, f"decision at {now}"
            assert np.array_equal(np.frombuffer(b, np.int16).reshape(-1, s.channels), a), \
                f"decision at {now}"
            got += len(a)
        ahead = max(0, got - s.period)
        for name in STATE:
            assert getattr(fast, name) == getattr(ref, name), (name, now)
        assert fast.counts() == tuple(vars(ref.stats).values()), now
        decisions += 1
        # a device's callbacks come a little irregularly
        now += quantum * (1 + float(rng.uniform(-0.05, 0.05)))
    return decisions


SESSIONS = {
    "paced, clean": Session(44100, 1, 441, 441, 3, 0.001, 0, 0, 0, 441),
    "paced, jitter and loss": Session(44100, 1, 441, 441, 4, 0.025, 0.05, 0.02, 0, 441),
    "stereo, untiled packets": Session(44100, 2, 441, 347, 4, 0.008, 0.02, 0, 0, 441),
    "device periods, fast sender": Session(48000, 1, 480, 480, 6, 0.004, 0.01, 0, 900, 1536),
    "device periods, slow sender": Session(48000, 2, 480, 480, 6, 0.004, 0, 0, -900, 256),
    "pause, jump, new source": Session(16000, 1, 160, 320, 6, 0.01, 0.03, 0.01, 300, 160,
                                       pause_at=1.5, jump_at=3.0, new_source_at=4.5),
    "noisy, heavy loss": Session(8000, 1, 80, 160, 4, 0.03, 0.2, 0, 0, 80, noise=2000),
"silences, late sink": Session(48000, 1, 480, 480, 8, 0.002, 0.03, 0, 0, 768,
                                   gaps=True, first_pop_s=0.3, burst_s=2,
                                   burst_jitter_s=0.05),
    "late spikes": Session(48000, 1, 480, 480, 5, 0.003, 0, 0, 0, 480, spikes=0.03),
    "level shifts of the path delay": Session(48000, 1, 480, 480, 7, 0.0005, 0.01, 0, 0, 256,
                                              steps=((1.5, 0.0053), (3.0, 0.010),
                                                     (4.5, -0.0153), (5.5, 0.004))),
    "level shifts through jitter": Session(48000, 1, 480, 480, 7, 0.0045, 0, 0, 0, 256,
                                           steps=((1.5, 0.006), (3.0, 0.012),
                                                  (4.5, -0.018), (5.5, 0.005))),
    "a device that misses callbacks": Session(48000, 2, 480, 480, 8, 0.001, 0, 0, 0, 256,
                                              stalls=(2.0, 2.5, 4.0, 6.0, 6.1)),
    "a device that misses callbacks, sender steps": Session(
        48000, 1, 480, 480, 8, 0.0005, 0.01, 0, 300, 1024, stalls=(2.0, 4.0, 6.5),
        steps=((3.0, -0.0053), (5.0, 0.0107))),
    "jitter burst, then calm": Session(44100, 2, 441, 441, 8, 0.002, 0.01, 0, 0, 441,
                                       burst_s=2, burst_jitter_s=0.06),
}


@pytest.mark.parametrize("name", SESSIONS)
@pytest.mark.parametrize("seed", range(3))
def test_native_buffer_plays_what_the_reference_plays(name: str, seed: int) -> None:
    assert run(SESSIONS[name], seed) > 100


def test_native_buffer_checks_its_arguments() -> None:
    with pytest.raises(ValueError):
        native.JitterBuffer(48000, 3, 480)
    jb = native.JitterBuffer(48000, 2, 480)
    with pytest.raises(ValueError):
        jb.push(0, b"\x00\x00", 1.0)  # half a stereo frame
    assert jb.pop(1.0) is None
