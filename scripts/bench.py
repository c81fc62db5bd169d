"""jcall benchmarks on loopback through a private Prosody; prints a table.

Every jcall process writes timestamped events (``JCALL_TRACE``, jcall/trace.py) with
CLOCK_MONOTONIC, the clock all processes on the machine share, so events of the
caller and the callee can be subtracted directly.

* **start-up** -- wall time of ``jcall --version``, ``--help`` and a usage error, each a
  fresh interpreter, beside ``python -c 'import click'`` in the same run (issue 14
  asks for at most twice the latter) and ``python -c pass``, the interpreter's own
  start with its site-packages' .pth files: the floor under every row of Python
  processes, the set-up from process start included. Every jcall runs as installed:
  with Python's bytecode caches (written once first), whatever
  PYTHONDONTWRITEBYTECODE says here.

Setup and mouth-to-ear run once per signalling dialect (``--signaling gingle`` and
``--signaling jingle``, between jcalls), the rows side by side.

* **setup** -- from the caller sending its initiate to the callee's first audio frame
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
* **dead STUN** -- "calling..." -> "call in progress" at the caller, both sides with
  ``--stun`` pointing at a UDP port that never answers, against no STUN server,
  interleaved in one run; the penalty is the difference of the medians (and p95s).
* **dead path** -- the callee is killed (SIGKILL) 2 s into a call (7 s for the first
  few): until the caller prints "media lost"; for those first calls also until consent
  expiry ends the call, from the kill and from the last consent answer the caller got
  (or the nomination, which counts as one; trace events).
* **server loss** -- the private Prosody is stopped 2 s into a call and started again
  5 s later on the same data: from its listening again to each side's "reconnected"
  line; the call must still be in progress afterwards and end normally.
* **NAT lab** (root; scripts/testbed/natlab.py) -- per NAT pairing, "calling..." ->
  "call in progress" at the caller behind one NAT calling a callee behind another,
  STUN/TURN discovered from Prosody (XEP-0215); and with ``--no-discover`` behind two
  cone NATs (no path can exist), from the caller's last candidate exchange (sent or
  received, trace events) to the failure, on whichever side declared it first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
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

from testbed.devicebench import bench_devices  # noqa: E402
from testbed.process import cpu_seconds  # noqa: E402
from testbed.prosody import Prosody  # noqa: E402

from jcall.audio.codecs import ULAW_TABLE, ulaw_encode  # noqa: E402
from jcall.audio.files import read_wav, write_wav  # noqa: E402


def installed_env(**extra: str) -> dict[str, str]:
    """The environment of a jcall as installed: Python's bytecode caches in use (pip
    compiles them at install; an environment that forbids writing them would make
    every start-up compile jcall's ~100 modules again)."""
    env = dict(os.environ, **extra)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def warm_caches() -> None:
    """Write the bytecode caches, and jcall's cache of dataclass methods
    (jcall/methodcache.py), once before anything is timed."""
    subprocess.run([sys.executable, "-c", "from jcall import methodcache; "
                    "methodcache.install(); "
                    "import jcall.cli, jcall.phone, jcall.media, "
                    "jcall.console, jcall.reporters, jcall.prompt, jcall.audio.device"],
                   cwd=ROOT, env=installed_env(PYTHONPATH=str(ROOT)), check=True)


class Proc:
    def __init__(self, jid: str, password: str, server: Prosody, args: list[str],
                 trace: Path | None = None, netns: str | None = None) -> None:
        env = installed_env(JCALL_PASSWORD=password, PYTHONUNBUFFERED="1",
                            PYTHONPATH=str(ROOT))
        if trace is not None:
            env["JCALL_TRACE"] = str(trace)
        self.started = time.monotonic()
        inside = ["ip", "netns", "exec", netns] if netns else []
        self.popen = subprocess.Popen(
            [*inside, sys.executable, "-m", "jcall", "--jid", jid, "--server", server.server,
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
        return cpu_seconds(Path(f"/proc/{self.popen.pid}/stat"))

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

    def proc(self, user: str, args: list[str], resource: str = "", trace: bool = False,
             netns: str | None = None) -> tuple[Proc, Path]:
        self.n += 1
        path = self.tmp / f"trace-{self.n}.jsonl"
        jid = self.server.jid(user) + (f"/{resource}" if resource else "")
        return Proc(jid, self.users[user], self.server, args, path if trace else None,
                    netns), path


DIALECTS = ("gingle", "jingle")  # jcall <-> jcall, each forced by --signaling


def bench_setup(lab: Lab, calls: int, signaling: str) -> dict[str, list[float]]:
    callee, callee_trace = lab.proc("bob", ["--silence", "--discard", "listen", "-a"],
                                    f"setup-{signaling}", trace=True)
    setup, start_to_progress, calling_to_progress = [], [], []
    try:
        callee.wait_for("logged in...")
        for _ in range(calls):
            caller, caller_trace = lab.proc(
                "alice", ["--tone", "440", "--discard", "--signaling", signaling, "dial",
                          lab.server.jid("bob") + f"/setup-{signaling}", "--duration", "0.3"],
                trace=True)
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


def bench_mouth_to_ear(lab: Lab, calls: int, codec: str, signaling: str) -> list[float]:
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
            "alice", ["--input", str(wav_in), "--discard", "--codec", codec,
                      "--signaling", signaling, "dial",
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


def bench_cli(runs: int) -> dict[str, list[float]]:
    """Wall time of commands that should answer at once, beside ``import click`` in
    the same run (each a fresh interpreter, as a shell starts it)."""
    commands = {
        # (the floor: the interpreter and its site-packages' .pth files, as every
        # Python command here pays them)
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import click'": [sys.executable, "-c", "import click"],
        "jcall --version": [sys.executable, "-m", "jcall", "--version"],
        "jcall --help": [sys.executable, "-m", "jcall", "--help"],
        "jcall dial (usage error)": [sys.executable, "-m", "jcall", "dial"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            t0 = time.monotonic()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=False, cwd=ROOT, env=installed_env(PYTHONPATH=str(ROOT)))
            times[name].append(1000 * (time.monotonic() - t0))
    return times


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


def _progress_time(lab: Lab, caller_args: list[str], callee_args: list[str],
                   resource: str) -> float:
    """One call: the caller's "calling..." -> "call in progress", in ms."""
    callee, _ = lab.proc("bob", [*callee_args, "--silence", "--discard", "listen", "-a",
                                 "--once"], resource)
    try:
        callee.wait_for("logged in...")
        caller, _ = lab.proc("alice", [*caller_args, "--silence", "--discard", "dial",
                                       lab.server.jid("bob") + "/" + resource,
                                       "--duration", "0.2"])
        progress = caller.wait_for("call in progress")
        if caller.finish() != 0:
            raise RuntimeError("call failed")
        return 1000 * (progress - caller.lines["calling..."])
    finally:
        callee.stop()


def bench_dead_stun(lab: Lab, calls: int) -> dict[str, list[float]]:
    """Setup with a black-holed STUN server on both sides, against none, interleaved."""
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))
    stun = ["--stun", f"127.0.0.1:{hole.getsockname()[1]}"]
    plain, dead = [], []
    try:
        for i in range(calls):
            plain.append(_progress_time(lab, [], [], f"plain{i}"))
            dead.append(_progress_time(lab, stun, stun, f"dead{i}"))
    finally:
        hole.close()
    return {"no STUN server": plain, "black-holed STUN server": dead}


def bench_dead_path(lab: Lab, kills: int, expiries: int) -> dict[str, list[float]]:
    """kill -9 of the callee mid-call: until the caller says "media lost"; for the
    first ``expiries`` calls also until consent expiry ends the call, from the kill
    and from the last consent answer the caller got (RFC 7675: 30 s)."""
    notice, from_kill, from_answer = [], [], []
    for i in range(kills):
        callee, _ = lab.proc("bob", ["--silence", "--discard", "listen", "-a", "--once"],
                             f"kill{i}")
        callee.wait_for("logged in...")
        caller, trace = lab.proc("alice", ["--tone", "440", "--discard", "dial",
                                           lab.server.jid("bob") + f"/kill{i}"], trace=True)
        try:
            caller.wait_for("call in progress")
            time.sleep(7.0 if i < expiries else 2.0)  # (past a regular consent check)
            callee.popen.kill()
            killed = time.monotonic()
            notice.append(1000 * (caller.wait_for("media lost", 10) - killed))
            if i < expiries:
                if caller.finish() != 9:
                    raise RuntimeError("the call did not end as failed")
                evs = events(trace)
                failed = first(evs, "call_failed")
                answers = [float(e["t"]) for e in evs  # type: ignore[arg-type]
                           if e["event"] in ("consent_answer", "ice_connected")]
                from_kill.append(failed - killed)
                from_answer.append(failed - max(a for a in answers if a < killed))
        finally:
            caller.stop()
            callee.stop()
    return {"kill -9 -> 'media lost' at the caller (ms)": notice,
            "kill -9 -> consent expiry ends the call (s)": from_kill,
            "last consent answer -> call ended (s)": from_answer}


def bench_server_loss(lab: Lab, trials: int, outage_s: float = 5.0) -> dict[str, list[float]]:
    """The server stopped for ``outage_s`` mid-call: from its return to each side's
    "reconnected" line (stream resumption cannot work across a restart: a fresh
    session on the same full JID)."""
    back: dict[str, list[float]] = {"caller": [], "callee": []}
    for i in range(trials):
        callee, _ = lab.proc("bob", ["--silence", "--discard", "listen", "-a", "--once"],
                             f"loss{i}")
        callee.wait_for("logged in...")
        caller, _ = lab.proc("alice", ["--tone", "440", "--discard", "dial",
                                       lab.server.jid("bob") + f"/loss{i}",
                                       "--duration", "12"], f"loss{i}")
        try:
            caller.wait_for("call in progress")
            time.sleep(2.0)
            lab.server.stop()
            time.sleep(outage_s)
            lab.server.launch()
            returned = time.monotonic()
            for name, proc in (("caller", caller), ("callee", callee)):
                back[name].append(proc.wait_for("reconnected (new session)", 20) - returned)
            if caller.finish() != 0 or "call destroyed" not in caller.lines:
                raise RuntimeError("the call did not survive the outage")
        finally:
            caller.stop()
            callee.stop()
    return {f"server back -> {side} reconnected (s)": v for side, v in back.items()}


def bench_nat(tmp: Path, calls: int) -> tuple[dict[str, list[float]], list[float]]:
    """Setup across the NAT lab per pairing (STUN/TURN discovered from Prosody), and
    the no-path failure: host candidates only (--no-discover) behind two NATs."""
    import testbed.natlab as natlab

    why = natlab.available()
    if why is not None:
        print(f"NAT lab skipped: {why}", file=sys.stderr)
        return {}, []
    users = {"alice": secrets.token_urlsafe(12), "bob": secrets.token_urlsafe(12)}
    cone, sym = natlab.NatKind.CONE, natlab.NatKind.SYMMETRIC
    out: dict[str, list[float]] = {}
    no_path: list[float] = []
    with natlab.NatLab() as nat, natlab.public_servers(nat, tmp / "nat", users) as server:
        lab = Lab(server, users, tmp)
        for loss in (0, 5):
            for a, b in ((cone, cone), (cone, sym), (sym, sym)):
                first_nat, second_nat = natlab.Nat(a, loss), natlab.Nat(b, loss)
                times = []
                with nat.pairing(first_nat, second_nat):
                    for i in range(calls):
                        times.append(_nat_call(lab, nat, f"n{i}"))
                out[f"{first_nat} -> {second_nat}"] = times
        with nat.pairing(natlab.Nat(cone), natlab.Nat(cone)):
            for i in range(max(1, calls // 3)):
                no_path.append(_nat_no_path(lab, nat, f"np{i}"))
    return out, no_path


def _nat_call(lab: Lab, nat: object, resource: str) -> float:
    callee, _ = lab.proc("bob", ["--silence", "--discard", "listen", "-a", "--once"],
                         resource, netns=nat.host(2))  # type: ignore[attr-defined]
    caller = None
    try:
        callee.wait_for("logged in...")
        caller, _ = lab.proc("alice", ["--silence", "--discard", "dial",
                                       lab.server.jid("bob") + "/" + resource,
                                       "--duration", "0.2"],
                             netns=nat.host(1))  # type: ignore[attr-defined]
        progress = caller.wait_for("call in progress", 30)
        if caller.finish() != 0:
            raise RuntimeError("NAT call failed")
        return 1000 * (progress - caller.lines["calling..."])
    finally:
        for proc in (caller, callee):
            if proc is not None:
                proc.stop()


def _nat_no_path(lab: Lab, nat: object, resource: str) -> float:
    """Seconds from the last candidate exchange to the failure, on whichever side
    declared it first (both run the same clock; the other then sees a hang-up)."""
    args = ["--no-discover", "--silence", "--discard"]
    callee, callee_trace = lab.proc("bob", [*args, "listen", "-a", "--once"], resource,
                                    trace=True, netns=nat.host(2))  # type: ignore[attr-defined]
    caller = None
    try:
        callee.wait_for("logged in...")
        caller, trace = lab.proc("alice", [*args, "dial",
                                           lab.server.jid("bob") + "/" + resource],
                                 trace=True, netns=nat.host(1))  # type: ignore[attr-defined]
        if caller.finish() != 9:
            raise RuntimeError("a call without a path did not fail")
        evs = events(trace)
        exchanges = [float(e["t"]) for e in evs  # type: ignore[arg-type]
                     if e["event"] in ("remote_candidates", "sent_candidates",
                                       "sent_transport-info")]
        failed = [float(e["t"]) for e in evs + events(callee_trace)  # type: ignore[arg-type]
                  if e["event"] == "call_failed"]
        return min(failed) - max(exchanges)
    finally:
        for proc in (caller, callee):
            if proc is not None:
                proc.stop()


def bench_gingle_peer(lab: Lab, calls: int) -> dict[str, list[float]]:
    return asyncio.run(_gingle_peer_calls(lab, calls))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cli-runs", type=int, default=20)
    parser.add_argument("--setup-calls", type=int, default=20)
    parser.add_argument("--m2e-calls", type=int, default=10)
    parser.add_argument("--cpu-seconds", type=float, default=20.0)
    parser.add_argument("--gingle-peer-calls", type=int, default=10)
    parser.add_argument("--dead-stun-calls", type=int, default=10)
    parser.add_argument("--nat-calls", type=int, default=10)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--expiries", type=int, default=3)
    parser.add_argument("--server-losses", type=int, default=5)
    parser.add_argument("--device-seconds", type=float, default=120.0)
    parser.add_argument("--device-xruns", type=int, default=0,
                        help="xruns to cause during the device call (JACK stopped 12 ms)")
    every = ("cli", "setup", "m2e", "cpu", "devices", "gingle-peer", "dead-stun",
             "dead-path", "server-loss", "nat")
    parser.add_argument("--only", choices=every, help="run one benchmark instead of all")
    args = parser.parse_args()
    runs = {args.only} if args.only else set(every)
    warm_caches()
    users = {u: secrets.token_urlsafe(12) for u in ("alice", "bob", "carol", "erin")}
    with tempfile.TemporaryDirectory(prefix="jcall-bench-") as tmp, \
            Prosody(Path(tmp) / "prosody", accounts=users) as server:
        lab = Lab(server, users, Path(tmp))
        cli = bench_cli(args.cli_runs) if "cli" in runs else {}
        setup = ({f"{k}, {dialect}": v for dialect in DIALECTS
                  for k, v in bench_setup(lab, args.setup_calls, dialect).items()}
                 if "setup" in runs else {})
        m2e = ({f"{codec}, {dialect}": bench_mouth_to_ear(lab, args.m2e_calls, codec, dialect)
                for codec in ("L16/44100", "PCMU") for dialect in DIALECTS}
               if "m2e" in runs else {})
        cpu = bench_cpu(lab, args.cpu_seconds) if "cpu" in runs else None
        devices = (bench_devices(lambda user, a: lab.proc(user, a, "dev")[0],
                                 server.jid("bob") + "/dev", Path(tmp), args.device_seconds,
                                 args.device_xruns)
                   if "devices" in runs else None)
        gpeer = (bench_gingle_peer(lab, args.gingle_peer_calls) if "gingle-peer" in runs
                 else {})
        stun = bench_dead_stun(lab, args.dead_stun_calls) if "dead-stun" in runs else {}
        dead = (bench_dead_path(lab, args.kills, args.expiries) if "dead-path" in runs
                else {})
        loss = (bench_server_loss(lab, args.server_losses) if "server-loss" in runs
                else {})
        nat, no_path = bench_nat(Path(tmp), args.nat_calls) if "nat" in runs else ({}, [])

    print(f"\n{'measure':<76} {'n':>5} {'median':>8} {'p95':>8} {'max':>8}  target")
    click_ms = statistics.median(cli["python -c 'import click'"]) if cli else 0.0
    rows = [(f"start-up: {k} (ms)", v, "" if k.startswith("python") else
             f"median <= {2 * click_ms:.0f}") for k, v in cli.items()]
    rows += [(f"setup: {k} (ms)", v, "p95 <= 50" if "initiate" in k
              else "median <= 300" if "process start" in k else "")
             for k, v in setup.items()]
    rows += [(f"mouth-to-ear {codec}, file -> file (ms)", v,
              "p95 <= 40" if codec.startswith("L16") else "") for codec, v in m2e.items()]
    rows += [(f"libnice GOOGLE peer: {k} (ms)", v, "p95 <= 100") for k, v in gpeer.items()]
    rows += [(f"calling... -> in progress, {k} (ms)", v, "") for k, v in stun.items()]
    rows += [(k, v, {"(ms)": "<= 3000", "(s)": "30 +- 1"}.get(k[-4:] if k.endswith("(ms)")
                                                            else k[-3:], ""))
             for k, v in dead.items() if v]
    rows += [(k, v, "<= 15") for k, v in loss.items()]
    rows += [(f"NAT lab calling... -> in progress, {k} (ms)", v, "") for k, v in nat.items()]
    if no_path:
        rows.append(("NAT lab, no path: last candidate exchange -> failure (s)", no_path,
                     "<= 10"))
    for name, values, target in rows:
        print(f"{name:<76} {len(values):>5} {statistics.median(values):8.1f} "
              f"{pct(values, 0.95):8.1f} {max(values):8.1f}  {target}")
    if len(stun) == 2:
        without, with_dead = list(stun.values())
        penalty = statistics.median(with_dead) - statistics.median(without)
        p95 = pct(with_dead, 0.95) - pct(without, 0.95)
        print(f"{'dead-STUN penalty (same run): median, p95 (ms)':<76} "
              f"{'':>5} {penalty:8.1f} {p95:8.1f} {'':>8}  <= 250")
    if cpu is not None:
        print(f"{'CPU per endpoint, L16/44.1 kHz, idle subtracted':<76} "
              f"caller {cpu['caller']:.2f} %, callee {cpu['callee']:.2f} % of one core "
              f"(idle process {cpu['idle logged-in process']:.2f} %, {cpu['seconds']:.0f} s)"
              "  target <= 2 %")
    if devices is not None:
        print_devices(devices)
    return 0


def print_devices(d: dict[str, object]) -> None:
    """The device-path rows (scripts/testbed/devicebench.py)."""
    cpu: dict[str, float] = d["cpu"]  # type: ignore[assignment]
    bare = cpu["bare"]
    caused = f", {d['caused_xruns']} xruns caused" if d.get("caused_xruns") else ""
    mode = "real-time" if d["realtime"] else "not real-time (refused here)"
    print(f"\nDevice path: JACK dummy 48 kHz, 256-frame periods, {mode}, "
          f"{d['window_s']:.0f} s window{caused}")
    print(f"{'CPU, bare sounddevice duplex stream, Python callback (% of a core)':<76} "
          f"{bare:8.2f}  (xruns after start-up: {d['bare_xruns']})")
    for end in ("caller", "callee"):
        print(f"{'CPU, jcall ' + end + ', device to device (% of a core)':<76} "
              f"{cpu[end]:8.2f}  ratio {cpu[end] / bare:.2f}  target ratio <= 1.5")
    for name, threads in d["threads"].items():  # type: ignore[attr-defined]
        busy = sorted(((v, k) for k, v in threads.items() if v >= 0.01), reverse=True)
        print(f"  {name} by thread (%): " + ", ".join(f"{k} {v:.2f}" for v, k in busy))
    for direction, found in d["latency"].items():  # type: ignore[attr-defined]
        values = [ms for _, ms in found]
        if not values:
            print(f"mouth-to-ear {direction}: no block found")
            continue
        first = [ms for t, ms in found if t < 20]
        last = [ms for t, ms in found if t > found[-1][0] - 20]
        growth = statistics.median(last) - statistics.median(first)
        print(f"{'mouth-to-ear through the devices, ' + direction + ' (ms)':<76} "
              f"{len(values):>5} {statistics.median(values):8.1f} {pct(values, 0.95):8.1f} "
              f"{max(values):8.1f}  p95 <= 40")
        print(f"{'  growth: median of the last 20 s - of the first 20 s (ms)':<76} "
              f"{'':>5} {growth:8.1f}")
    for name, stats in zip(("caller", "callee"), d["stats"], strict=True):  # type: ignore[call-overload]
        devs = {k: stats[k]["xruns"] for k in ("input_device", "output_device")
                if k in stats}
        r = stats["received"]
        print(f"  {name}: xruns {devs}, jitter buffer {r['jitter_buffer_delay_ms']:.0f} ms, "
              f"concealed {r['concealed_ms']:.0f} ms, expanded {r['expanded_ms']:.0f} ms, "
              f"accelerated {r['accelerated_ms']:.0f} ms")


if __name__ == "__main__":
    sys.exit(main())
