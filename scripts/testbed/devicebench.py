"""The device-path benchmark (issue 14 item 4): a jcall-to-jcall call through sound
devices on a private JACK server (dummy backend, 48 kHz, 256-frame periods), beside a
bare sounddevice duplex stream with a Python callback at the same settings, in the
same run.

* **CPU** -- utime+stime (/proc) of each jcall and of the bare stream's process over
  the same window in the middle of the call, in % of one core.
* **mouth-to-ear** -- our own JACK clients feed a speech-like signal into each jcall's
  capture port and record each jcall's playback port, on JACK's one clock (frame
  times; see Rig for why two clients). Each 100 ms block fed into one end is located
  in the other end's playback by cross-correlation (not bit-exact where a codec or a
  resampler is on the way): one latency per block and direction. The
  growth is the median of the last 20 s minus that of the first 20 s.
* **xruns** -- PortAudio's over/underruns after start-up, from --stats-json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .jack import JackServer
from .process import cpu_seconds

RATE = 48000
PERIOD = 256
BLOCK = RATE // 10
MAX_LAG = int(0.3 * RATE)

BARE = """
import sys, time
import sounddevice as sd
counts = [0, 0]  # frames, xruns after the first half second (as jcall counts them)
def callback(indata, outdata, frames, when, status):
    outdata[:] = indata
    if status and counts[0] >= int(sys.argv[2]) // 2:
        counts[1] += 1
    counts[0] += frames
with sd.Stream(samplerate=int(sys.argv[2]), channels=1, dtype="int16", latency="low",
               callback=callback):
    time.sleep(float(sys.argv[1]))
print(counts[1])
"""


def speech(seconds: float, seed: int) -> np.ndarray:
    """A speech-like float signal (harmonics of a gliding pitch, syllable envelope,
    noise): broadband, so that its cross-correlation has one sharp peak."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    pitch = 110 + 30 * seed + 40 * np.sin(2 * np.pi * 0.4 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    x = sum(np.sin(k * phase + rng.uniform(0, 6)) / k for k in range(1, 12))
    envelope = 0.4 + 0.6 * np.abs(np.sin(2 * np.pi * (1.7 + 0.3 * seed) * t))
    y = 0.12 * x * envelope + rng.normal(0, 0.01, len(t))
    return y.astype(np.float32)


@dataclass
class Rig:
    """Our JACK clients, on one clock: a feeder that plays signal i into port out_i
    (the capture port of end i) and one recorder per end, of its playback port. The
    feeder and the recorders are apart: a client that both feeds the ends and records
    them closes a cycle in JACK's graph, and JACK breaks a cycle by running one edge a
    period late -- a delay of the rig, not of jcall, present or not from run to run.
    One recorder per end, not one for all: JACK wakes a client once every client it
    reads from has run, and the end that runs last wakes it -- a futex wake-up in that
    end's own thread every period, which one end paid and the others not. So each end
    (both jcalls and the bare stream) sits in the same place of the graph: fed by the
    feeder, read by its own recorder. Every period runs feeder, then the ends, then
    the recorders. Blocks are placed by the JACK frame time of their period (counted
    from where feeding began)."""

    signals: list[np.ndarray]
    recorded: list[list[tuple[int, np.ndarray]]] = field(default_factory=list)
    feed_from: int | None = None  # the JACK frame time where feeding (and recording) began
    client: Any = None  # the feeder (also used to look up and connect ports)
    recorders: list[Any] = field(default_factory=list)

    def start(self) -> None:
        import jack

        self.client = jack.Client("jcall-bench-feed", no_start_server=True)
        self.outs = [self.client.outports.register(f"feed_{i}")
                     for i in range(len(self.signals))]
        self.client.set_process_callback(self._feed)
        self.client.activate()
        self.ins = []
        for i in range(len(self.signals)):
            recorder = jack.Client(f"jcall-bench-rec{i}", no_start_server=True)
            self.ins.append(recorder.inports.register("rec"))
            self.recorded.append([])
            recorder.set_process_callback(lambda frames, i=i: self._record(i))
            recorder.activate()
            self.recorders.append(recorder)

    def connect(self, i: int, end: str) -> None:
        """Make the PortAudio client ``end`` end i: the feeder's signal i instead of
        what PortAudio connected to its capture port, and its playback recorded (its
        playback stays connected to the system's ports too, as PortAudio left it)."""
        for src in list(self.client.get_all_connections(f"{end}:in_0")):
            self.client.disconnect(src, f"{end}:in_0")
        self.client.connect(self.outs[i], f"{end}:in_0")
        self.client.connect(f"{end}:out_0", self.ins[i])

    def _feed(self, frames: int) -> None:
        start, now = self.feed_from, self.client.last_frame_time
        for i, port in enumerate(self.outs):
            out = port.get_array()
            if start is None or now < start:
                out[:] = 0
                continue
            sig = self.signals[i]
            out[:] = sig[(now - start + np.arange(frames)) % len(sig)]

    def _record(self, i: int) -> None:
        start, now = self.feed_from, self.recorders[i].last_frame_time
        if start is not None and now >= start:
            self.recorded[i].append((now - start, self.ins[i].get_array().copy()))

    def feed(self) -> None:
        self.feed_from = self.client.frame_time + PERIOD  # (a period on: not mid-period)

    def heard(self, i: int) -> np.ndarray:
        """What end i played, sample k at frame time feed_from + k."""
        blocks = self.recorded[i]
        out = np.zeros(max((at + len(b) for at, b in blocks), default=0), dtype=np.float32)
        for at, block in blocks:
            out[at:at + len(block)] = block
        return out

    def close(self) -> None:
        for client in (self.client, *self.recorders):
            client.deactivate()
            client.close()


def latencies(fed: np.ndarray, heard: np.ndarray, seconds: float) -> list[tuple[float, float]]:
    """(time into the call s, latency ms) of each 100 ms block of ``fed`` found in
    ``heard`` by cross-correlation within 0..300 ms (both counted from the frame
    where feeding began)."""
    out = []
    n = len(heard)
    for start in range(BLOCK, min(len(fed), int(seconds * RATE)) - BLOCK, BLOCK):
        block = fed[start:start + BLOCK]
        window = heard[start:start + BLOCK + MAX_LAG]
        if len(window) < BLOCK + MAX_LAG or start + BLOCK + MAX_LAG > n:
            break
        size = 1 << (len(window) + BLOCK).bit_length()
        corr = np.fft.irfft(np.fft.rfft(window, size) * np.conj(np.fft.rfft(block, size)),
                            size)[:MAX_LAG]
        energy = np.sqrt(np.convolve(window ** 2, np.ones(BLOCK), "valid")[:MAX_LAG]) + 1e-9
        score = corr / energy / (np.sqrt(np.sum(block ** 2)) + 1e-9)
        lag = int(np.argmax(score))
        if score[lag] > 0.8:  # (a block concealed or stretched is not counted)
            out.append((start / RATE, 1000 * lag / RATE))
    return out


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds of each of a process's threads: the main thread's, and the others'
    by thread id (PortAudio's callback thread is one of them)."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            seconds = cpu_seconds(task / "stat")
        except OSError:  # (the thread ended)
            continue
        name = "main" if task.name == str(pid) else "thread " + task.name
        out[name] = out.get(name, 0.0) + seconds
    return out


def wait_clients(client: Any, count: int, known: set[str],
                 timeout: float = 20.0) -> list[str]:
    """The names of ``count`` PortAudio JACK clients not in ``known``, once they have
    both ports."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        names = {p.name.split(":")[0] for p in client.get_ports()
                 if p.name.startswith("PortAudio")}
        new = sorted(n for n in names - known
                     if {f"{n}:in_0", f"{n}:out_0"} <= {p.name for p in client.get_ports()})
        if len(new) >= count:
            return new[:count]
        time.sleep(0.05)
    raise RuntimeError("the jcalls' sound devices did not appear on the JACK server")


def bench_devices(start_jcall: Callable[[str, list[str]], Any], callee_jid: str,
                  tmp: Path, seconds: float, xruns: int = 0) -> dict[str, Any]:
    """``start_jcall(user, args)`` starts a jcall (the bench's Proc) for the account
    ``user``; the callee listens as ``callee_jid``. ``xruns``: how many xruns to cause
    (the JACK server stopped for 12 ms), spread over the middle of the call, between
    the two 20 s stretches whose delays the growth compares."""
    jack = JackServer(f"jcall-bench-{os.getpid()}", rate=RATE, period=PERIOD)
    jack.start()
    old = {k: os.environ.get(k) for k in jack.env}
    os.environ.update(jack.env)  # (for our JACK client, the jcalls and the bare stream)
    # (the bare stream is end 2: fed and recorded as the jcalls are, not measured)
    rig = Rig([speech(seconds + 5, 1), speech(seconds + 5, 2), speech(seconds + 5, 3)])
    callee = caller = bare = None
    try:
        rig.start()
        callee = start_jcall("bob", ["--stats-json", str(tmp / "dev-b.json"),
                                     "listen", "-a", "--once"])
        callee.wait_for("logged in...")
        caller = start_jcall("alice", ["--stats-json", str(tmp / "dev-a.json"), "dial",
                                       callee_jid, "--duration", str(seconds + 4)])
        caller.wait_for("call in progress")
        ends = wait_clients(rig.client, 2, set())
        for i, name in enumerate(ends):
            rig.connect(i, name)
        bare = subprocess.Popen([sys.executable, "-c", BARE, str(seconds + 2), str(RATE)],
                                env=dict(os.environ), stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        rig.connect(2, wait_clients(rig.client, 1, set(ends))[0])
        rig.feed()
        time.sleep(2.0)  # (start-up of the bare stream; the call settles)
        pids = {"caller": caller.popen.pid, "callee": callee.popen.pid, "bare": bare.pid}
        stat_files = {k: Path(f"/proc/{p}/stat") for k, p in pids.items()}
        t0, c0 = time.monotonic(), {k: cpu_seconds(stat) for k, stat in stat_files.items()}
        th0 = {k: thread_cpu_seconds(p) for k, p in pids.items()}
        end = t0 + seconds - 4.0
        for n in range(xruns):  # (between the first and the last 20 s of the call)
            time.sleep(max(0.0, t0 + 20.0 + (n + 1) * (seconds - 44.0) / (xruns + 1)
                           - time.monotonic()))
            jack.stall(0.012)
        time.sleep(max(0.0, end - time.monotonic()))
        t1, c1 = time.monotonic(), {k: cpu_seconds(stat) for k, stat in stat_files.items()}
        th1 = {k: thread_cpu_seconds(p) for k, p in pids.items()}
        if caller.finish() != 0 or callee.finish() != 0:
            raise RuntimeError("the device call failed")
        bare_out, _ = bare.communicate(timeout=30)
    finally:
        rig.close()
        for proc in (caller, callee):
            if proc is not None:
                proc.stop()
        if bare is not None and bare.poll() is None:
            bare.kill()
            bare.wait()
        jack.stop()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    cpu = {k: 100 * (c1[k] - c0[k]) / (t1 - t0) for k in pids}
    threads = {k: {name: round(100 * (th1[k][name] - th0[k].get(name, 0.0)) / (t1 - t0), 2)
                   for name in th1[k]} for k in pids}
    heard = [rig.heard(i) for i in range(2)]
    # Signal i went into end i; end 1 - i plays it.
    found = {f"end {i} -> end {1 - i}": latencies(rig.signals[i], heard[1 - i], seconds)
             for i in range(2)}
    stats = [json.loads((tmp / f"dev-{n}.json").read_text()) for n in "ab"]
    return {"cpu": cpu, "threads": threads, "latency": found, "stats": stats, "window_s": t1 - t0,
            "bare_xruns": int(bare_out.strip() or -1), "caused_xruns": xruns,
            "realtime": jack.realtime}
