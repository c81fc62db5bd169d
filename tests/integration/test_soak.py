"""A real soak (issue 12, item 7): two jcall processes in one call for ``JCALL_SOAK_S``
seconds (15 in CI; ``JCALL_SOAK_S=600`` for the ten-minute run), L16 both ways.
Memory and descriptors are sampled from /proc while it runs; the audio must arrive
sample-exact at the end, which leaves no room for a delay that grows (that takes
stretched or dropped audio) nor for anything lost."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from jcall.audio.files import write_wav
from jcall.errors import ExitCode

from .jcallproc import Account, JcallProcess, start
from .test_media import received, speechlike

SOAK_S = float(os.environ.get("JCALL_SOAK_S", "15"))
RATE = 16000
SAMPLE_EVERY_S = 2.5


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))


def descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_a_long_call_keeps_memory_descriptors_and_delay_flat(
        tmp_path: Path, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    a_in = np.tile(speechlike(6.0, RATE, 1), (int(SOAK_S / 6) + 1, 1))[:int(SOAK_S * RATE)]
    b_in = np.tile(speechlike(6.0, RATE, 2), (int(SOAK_S / 6) + 1, 1))[:int(SOAK_S * RATE)]
    write_wav(tmp_path / "a.wav", a_in, RATE)
    write_wav(tmp_path / "b.wav", b_in, RATE)
    bob = Account(f"{accounts['bob'].jid}/soak", accounts["bob"].password)
    callee = start("bob", bob, server, ca_file, "--codec", "L16/16000", "--stats-json",
                   str(tmp_path / "b.json"), "listen", "-a", "--once",
                   audio=("--input", str(tmp_path / "b.wav"),
                          "--output", str(tmp_path / "b_got.wav")))
    caller: JcallProcess | None = None
    samples: list[tuple[float, list[int], list[int]]] = []
    try:
        callee.wait_for("logged in...")
        caller = start("alice", accounts["alice"], server, ca_file, "--codec", "L16/16000",
                       "--stats-json", str(tmp_path / "a.json"), "dial", bob.jid,
                       "--duration", str(SOAK_S + 0.6),
                       audio=("--input", str(tmp_path / "a.wav"),
                              "--output", str(tmp_path / "a_got.wav")))
        start_at = caller.wait_for("call in progress")
        procs = (caller, callee)
        while caller.popen.poll() is None and time.monotonic() - start_at < SOAK_S - 1:
            samples.append((time.monotonic() - start_at,
                            [rss_kb(p.popen.pid) for p in procs],
                            [descriptors(p.popen.pid) for p in procs]))
            time.sleep(SAMPLE_EVERY_S)
        assert caller.finish(timeout=SOAK_S + 20) == ExitCode.OK, caller.err
        assert callee.finish() == ExitCode.OK, callee.err
    finally:
        for proc in (callee, caller):
            if proc is not None and proc.popen.poll() is None:
                proc.popen.kill()
    print(f"soak {SOAK_S:g} s: (t, RSS KiB caller/callee, fds) {samples}")
    assert len(samples) >= SOAK_S / SAMPLE_EVERY_S - 3
    # Memory: flat once the call has settled (from the second sample on).
    for side in (0, 1):
        settled = [rss[side] for _, rss, _ in samples[1:]]
        assert max(settled) - settled[0] < 4096, [rss for _, rss, _ in samples]
    # Descriptors: the same all call long (once media runs: the first sample comes as
    # the call goes into progress).
    assert len({tuple(fds) for _, _, fds in samples[1:]}) == 1, [f for _, _, f in samples]
    for sent, got_file, stats_file in ((a_in, "b_got.wav", "b.json"),
                                       (b_in, "a_got.wav", "a.json")):
        stats = json.loads((tmp_path / stats_file).read_text())["received"]
        assert stats["lost"] == 0 and stats["concealed_ms"] == 0, stats
        assert stats["expanded_ms"] == 0 and stats["accelerated_ms"] == 0, stats
        got = received(tmp_path / got_file)
        assert np.array_equal(got[:len(sent)], sent), stats
