"""jcall benchmarks on loopback through a private Prosody; prints a table.

Every jcall process writes timestamped events (``JCALL_TRACE``, jcall/trace.py) with
CLOCK_MONOTONIC, the clock all processes on the machine share, so events of the
caller and the callee can be subtracted directly.

* **setup** -- from the caller sending ``initiate`` to the callee's first audio frame
  played (the due time of the first playout frame that carried received audio); the
  callee auto-accepts. Also: caller process start -> "call in progress" (imports,
  TLS login, presence, gathering, signalling, ICE) and "calling..." -> "call in
  progress" (signalling and ICE), from the caller's status lines as this harness reads
  them.
* **mouth-to-ear** -- the caller sends a WAV file, the callee writes a WAV file; both
  are paced by absolute deadlines on CLOCK_MONOTONIC. Sample ``i`` of the input
  enters at ``source_start + i/rate`` (a frame is sent only once its last sample has
  entered, as with a microphone); sample ``m`` of the output leaves at
  ``sink_start + m/rate`` (each frame's content is decided only by the packets that
  had arrived by its due time; if the callee's media started after the caller's
  first packets came, its file's timeline begins where playout would have begun,
  so that start is not counted as network delay). Each 100 ms block of the input is
  located in the output by exact match (for PCMU, of the input's G.711 round trip),
  giving one latency per block; a block that was concealed or stretched is not found
  and not counted.
* **CPU** -- utime+stime from /proc of caller and callee over the middle of a 20 s
  L16/44.1 kHz call, minus what an idle logged-in jcall used over the same time,
  per second of call, per endpoint.
* **Gingle peer** -- a libpurple-like peer (tests/integration/purplepeer.py: slixmpp
  signalling as libpurple's google_session.c does it, a real libnice 0.1.21 in GOOGLE
  mode for ICE and media) calls a listening jcall, PCMU. From the peer sending
  ``initiate`` to the first audio at each end: at jcall, the due time of its first
  playout frame that carried the peer's audio; at the peer, the arrival of jcall's
  first RTP packet at libnice (the peer has no playout; the arrival is the earliest
  it could play). The peer sends from the moment libnice selects a pair.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from testbed.prosody import Prosody  # noqa: E402

from jcall.audio.codecs import ULAW_TABLE, ulaw_encode  # noqa: E402
from jcall.audio.files import read_wav, write_wav  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


class Proc:
    def __init__(self, jid: str, password: str, server: Prosody, args: list[str],
                 trace: Path | None = None) -> None:
        env = dict(os.environ, JCALL_PASSWORD=password, PYTHONUNBUFFERED="1",
                   PYTHONPATH=str(ROOT))
        if trace is not None:
            env["JCALL_TRACE"] = str(trace)
        self.started = time.monotonic()
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "jcall", "--jid", jid, "--server", server.server,
             "--ca-file", str(server.ca_file), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: dict[str, float] = {}
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            with self.cond:
                self.lines.setdefault(line.rstrip("\n"), time.monotonic())
                self.cond.notify_all()

    def wait_for(self, line: str, timeout: float = 20.0) -> float:
        with self.cond:
            if not self.cond.wait_for(lambda: line in self.lines or self.popen.poll()
                                      is not None, timeout) or line not in self.lines:
                err = self.popen.stderr.read() if self.popen.stderr else ""
                raise RuntimeError(f"no {line!r}: {sorted(self.lines)} {err}")
            return self.lines[line]

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime

    def finish(self) -> int:
        return self.popen.wait(60)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            self.popen.wait(10)


def events(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def first(evs: list[dict[str, object]], name: str) -> float:
    return float(next(e["t"] for e in evs if e["event"] == name))  # type: ignore[arg-type]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def speechlike(seconds: float, rate: int) -> np.ndarray:
    rng = np.random.default_rng(4)
    t = np.arange(int(seconds * rate)) / rate
    phase = 2 * np.pi * np.cumsum(120 + 40 * np.sin(2 * np.pi * 0.5 * t)) / rate
    x = sum(np.sin(k * phase + rng.uniform(0, 6)) / k for k in range(1, 10))
    y = 8000 * x * (0.5 + 0.5 * np.abs(np.sin(2 * np.pi * 2.3 * t))) + rng.normal(0, 300, len(t))
    return np.clip(np.rint(y), -32768, 32767).astype(np.int16).reshape(-1, 1)


def locate(block: np.ndarray, out: np.ndarray, guess: int) -> int | None:
    """Where ``block`` starts in ``out`` (exact match), searching near ``guess``."""
    lo, hi = max(0, guess - 4000), min(len(out) - len(block), guess + 4000)
    if hi <= lo:
        return None
    window = np.lib.stride_tricks.sliding_window_view(out[lo:hi + len(block)], len(block))
    hits = np.nonzero((window == block).all(axis=1))[0]
    return lo + int(hits[0]) if len(hits) else None


class Lab:
    def __init__(self, server: Prosody, users: dict[str, str], tmp: Path) -> None:
        self.server, self.users, self.tmp = server, users, tmp
        self.n = 0

    def proc(self, user: str, args: list[str], resource: str = "", trace: bool = False
             ) -> tuple[Proc, Path]:
        self.n += 1
        path = self.tmp / f"trace-{self.n}.jsonl"
        jid = self.server.jid(user) + (f"/{resource}" if resource else "")
        return Proc(jid, self.users[user], self.server, args, path if trace else None), path


def bench_setup(lab: Lab, calls: int) -> dict[str, list[float]]:
    callee, callee_trace = lab.proc("bob", ["--silence", "--discard", "listen", "-a"],
                                    "setup", trace=True)
    setup, start_to_progress, calling_to_progress = [], [], []
    try:
        callee.wait_for("logged in...")
        for _ in range(calls):
            caller, caller_trace = lab.proc("alice", ["--tone", "440", "--discard", "dial",
                                                      lab.server.jid("bob") + "/setup",
                                                      "--duration", "0.3"], trace=True)
            progress = caller.wait_for("call in progress")
            if caller.finish() != 0:
                raise RuntimeError("setup call failed")
            t_init = first(events(caller_trace), "sent_initiate")
            played = [float(e["t"]) for e in events(callee_trace)  # type: ignore[arg-type]
                      if e["event"] == "first_audio_played" and float(e["t"]) > t_init]  # type: ignore[arg-type]
            setup.append(1000 * (min(played) - t_init))
            start_to_progress.append(1000 * (progress - caller.started))
            calling_to_progress.append(1000 * (progress - caller.lines["calling..."]))
    finally:
        callee.stop()
    return {"initiate -> first frame played at callee": setup,
            "caller process start -> call in progress": start_to_progress,
            "caller calling... -> call in progress": calling_to_progress}


def bench_mouth_to_ear(lab: Lab, calls: int, codec: str) -> list[float]:
    rate = 44100 if codec.startswith("L16") else 8000
    exact = codec.startswith("L16")
    sent = speechlike(3.0, rate)
    wav_in = lab.tmp / f"in-{rate}.wav"
    write_wav(wav_in, sent, rate)
    # What must come out: the input itself, or for PCMU (deterministic) its G.711 round
    # trip, so every block can be located by exact match.
    in1 = sent[:, 0] if exact else ULAW_TABLE[ulaw_encode(sent[:, 0])]
    latencies: list[float] = []
    for i in range(calls):
        wav_out = lab.tmp / f"out-{i}.wav"
        callee, callee_trace = lab.proc(
            "bob", ["--silence", "--output", str(wav_out), "listen", "-a", "--once"],
            f"m2e{i}", trace=True)
        callee.wait_for("logged in...")
        caller, caller_trace = lab.proc(
            "alice", ["--input", str(wav_in), "--discard", "--codec", codec, "dial",
                      lab.server.jid("bob") + f"/m2e{i}", "--duration", "3.4"], trace=True)
        if caller.finish() != 0 or callee.finish() != 0:
            raise RuntimeError("mouth-to-ear call failed")
        source = next(e for e in events(caller_trace) if e["event"] == "source_start")
        sink = next(e for e in events(callee_trace) if e["event"] == "sink_start")
        out, _ = read_wav(wav_out)
        out1 = out[:, 0]
        block = rate // 10
        offset_guess = int((float(sink["t"]) - float(source["t"])) * -rate)  # type: ignore[arg-type]
        for start in range(block, len(in1) - 2 * block, block):
            guess = start + offset_guess + int(0.03 * rate)
            found = locate(in1[start:start + block], out1, max(0, guess))
            if found is None:
                continue
            enters = float(source["t"]) + start / rate  # type: ignore[arg-type]
            leaves = float(sink["t"]) + found / rate  # type: ignore[arg-type]
            latencies.append(1000 * (leaves - enters))
    return latencies


def bench_cpu(lab: Lab, seconds: float = 20.0) -> dict[str, float]:
    wav = lab.tmp / "cpu.wav"
    write_wav(wav, speechlike(seconds + 2, 44100), 44100)
    idle, _ = lab.proc("alice", ["--silence", "--discard", "listen"], "idle")
    callee, _ = lab.proc("bob", ["--input", str(wav), "--output", str(lab.tmp / "cpu-out.wav"),
                                 "listen", "-a", "--once"], "cpu")
    try:
        idle.wait_for("logged in...")
        callee.wait_for("logged in...")
        caller, _ = lab.proc("carol", ["--input", str(wav), "--output",
                                       str(lab.tmp / "cpu-out2.wav"), "--codec", "L16/44100",
                                       "dial", lab.server.jid("bob") + "/cpu",
                                       "--duration", str(seconds + 1)])
        caller.wait_for("call in progress")
        time.sleep(1.0)  # let both ends settle into the call
        t0, c0 = time.monotonic(), [p.cpu() for p in (caller, callee, idle)]
        time.sleep(seconds - 1.0)
        t1, c1 = time.monotonic(), [p.cpu() for p in (caller, callee, idle)]
        caller.finish()
        callee.finish()
    finally:
        idle.stop()
        callee.stop()
    wall = t1 - t0
    idle_rate = (c1[2] - c0[2]) / wall
    return {"caller": 100 * ((c1[0] - c0[0]) / wall - idle_rate),
            "callee": 100 * ((c1[1] - c0[1]) / wall - idle_rate),
            "idle logged-in process": 100 * idle_rate, "seconds": wall}


async def _gingle_peer_calls(lab: Lab, calls: int) -> dict[str, list[float]]:
    from jcall.signaling.gingle import PayloadType
    from tests.integration import purplepeer
    from tests.integration.nice import recorded

    pcmu = PayloadType(0, "PCMU", 8000)
    tone = (np.sin(2 * np.pi * 440 * np.arange(160) / 8000) * 8000).astype(np.int16)
    payload = ulaw_encode(tone).tobytes()
    packets = [bytes([0x80, 0, k >> 8, k & 0xFF]) + (k * 160).to_bytes(4, "big")
               + (0xBE7C).to_bytes(4, "big") + payload for k in range(150)]
    callee, callee_trace = lab.proc("bob", ["--ice-address", "127.0.0.1", "--tone", "440",
                                            "--discard", "listen", "-a"], "gpeer", trace=True)
    at_jcall, at_peer = [], []
    try:
        await asyncio.to_thread(callee.wait_for, "logged in...")
        for i in range(calls):
            peer = await purplepeer.start(lab.server.jid("erin") + f"/bench{i}",
                                          lab.users["erin"], lab.server.server,
                                          lab.server.ca_file, nice_controlling=True)
            try:
                got = lab.tmp / f"gpeer-{i}.bin"
                await peer.nice.record(got)
                peer.nice.play(packets, lab.tmp / f"gpeer-play-{i}.bin", 0.02, on_selected=True)
                t_init = time.monotonic()
                await peer.call(lab.server.jid("bob") + "/gpeer", (pcmu,))
                await asyncio.wait_for(peer.accepted, 15)
                await peer.nice.wait_for("selected", component=1)
                await asyncio.sleep(0.6)
                await peer.hangup()
                await asyncio.sleep(0.2)
                played = [float(e["t"]) for e in events(callee_trace)  # type: ignore[arg-type]
                          if e["event"] == "first_audio_played"
                          and float(e["t"]) > t_init]  # type: ignore[arg-type]
                heard = recorded(got)
                if not played or not heard:
                    raise RuntimeError("the Gingle peer call carried no audio")
                at_jcall.append(1000 * (min(played) - t_init))
                at_peer.append(1000 * (heard[0][0] - t_init))
            finally:
                await peer.close()
    finally:
        callee.stop()
    return {"initiate -> first audio played at jcall": at_jcall,
            "initiate -> first jcall audio at the peer": at_peer}


def bench_gingle_peer(lab: Lab, calls: int) -> dict[str, list[float]]:
    return asyncio.run(_gingle_peer_calls(lab, calls))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setup-calls", type=int, default=20)
    parser.add_argument("--m2e-calls", type=int, default=10)
    parser.add_argument("--cpu-seconds", type=float, default=20.0)
    parser.add_argument("--gingle-peer-calls", type=int, default=10)
    parser.add_argument("--only", choices=("setup", "m2e", "cpu", "gingle-peer"),
                        help="run one benchmark instead of all of them")
    args = parser.parse_args()
    runs = {args.only} if args.only else {"setup", "m2e", "cpu", "gingle-peer"}
    users = {u: secrets.token_urlsafe(12) for u in ("alice", "bob", "carol", "erin")}
    with tempfile.TemporaryDirectory(prefix="jcall-bench-") as tmp, \
            Prosody(Path(tmp) / "prosody", accounts=users) as server:
        lab = Lab(server, users, Path(tmp))
        setup = bench_setup(lab, args.setup_calls) if "setup" in runs else {}
        m2e = ({codec: bench_mouth_to_ear(lab, args.m2e_calls, codec)
                for codec in ("L16/44100", "PCMU")} if "m2e" in runs else {})
        cpu = bench_cpu(lab, args.cpu_seconds) if "cpu" in runs else None
        gpeer = (bench_gingle_peer(lab, args.gingle_peer_calls) if "gingle-peer" in runs
                 else {})

    print(f"\n{'measure':<64} {'n':>5} {'median':>8} {'p95':>8} {'max':>8}  target")
    rows = [(f"setup: {k} (ms)", v, "p95 <= 50" if "initiate" in k else "")
            for k, v in setup.items()]
    rows += [(f"mouth-to-ear {codec}, file -> file (ms)", v,
              "p95 <= 40" if codec.startswith("L16") else "") for codec, v in m2e.items()]
    rows += [(f"libnice GOOGLE peer: {k} (ms)", v, "p95 <= 100") for k, v in gpeer.items()]
    for name, values, target in rows:
        print(f"{name:<64} {len(values):>5} {statistics.median(values):8.1f} "
              f"{pct(values, 0.95):8.1f} {max(values):8.1f}  {target}")
    if cpu is None:
        return 0
    print(f"{'CPU per endpoint, L16/44.1 kHz, idle subtracted':<64} "
          f"caller {cpu['caller']:.2f} %, callee {cpu['callee']:.2f} % of one core "
          f"(idle process {cpu['idle logged-in process']:.2f} %, {cpu['seconds']:.0f} s)"
          "  target <= 2 %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
