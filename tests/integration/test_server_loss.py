"""The server goes away mid-call and comes back (issue 12, item 4): a private Prosody
is stopped for 5 s during a call between two jcalls and started again. Media keeps
flowing, both jcalls reconnect within 15 s of the server's return, the call can still
be hung up cleanly, and ``listen`` keeps listening for the next call."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from jcall.audio.codecs import ULAW_TABLE, ulaw_encode
from jcall.audio.files import write_wav
from jcall.errors import ExitCode

from .conftest import ACCOUNTS, OUTSIDERS
from .jcallproc import Account, start
from .test_media import received, speechlike

OUTAGE_S = 5.0
RECONNECT_TARGET_S = 15.0
RATE = 8000


@pytest.fixture
def private_prosody(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from testbed.prosody import Prosody

    server = Prosody(tmp_path_factory.mktemp("prosody-restart"), accounts=dict(ACCOUNTS),
                     outsiders=OUTSIDERS)
    server.start()
    yield server
    server.stop()


def test_a_call_survives_a_server_restart_and_listen_keeps_listening(
        tmp_path: Path, private_prosody: object) -> None:
    server = private_prosody
    domain, address = server.domain, server.server  # type: ignore[attr-defined]
    ca_file = server.ca_file  # type: ignore[attr-defined]
    seconds = 12.0
    a_in = speechlike(seconds, RATE, 1)
    write_wav(tmp_path / "a.wav", a_in, RATE)
    write_wav(tmp_path / "b.wav", speechlike(seconds, RATE, 2), RATE)
    bob = Account(f"bob@{domain}/outage", ACCOUNTS["bob"])
    alice = Account(f"alice@{domain}/outage", ACCOUNTS["alice"])
    callee = start("bob", bob, address, ca_file, "--stats-json", str(tmp_path / "b.json"),
                   "listen", "-a", audio=("--input", str(tmp_path / "b.wav"),
                                          "--output", str(tmp_path / "b_got.wav")))
    caller = second = None
    try:
        callee.wait_for("logged in...")
        caller = start("alice", alice, address, ca_file, "--codec", "PCMU",
                       "--stats-json", str(tmp_path / "a.json"), "dial", bob.jid,
                       "--duration", str(seconds + 0.6), audio=("--input", str(tmp_path / "a.wav"),
                                                          "--discard"))
        caller.wait_for("call in progress")
        time.sleep(1.0)
        server.stop()  # type: ignore[attr-defined]
        for side in (caller, callee):
            side.wait_for_error("reconnecting", 5.0)
        time.sleep(OUTAGE_S)
        server.launch()  # type: ignore[attr-defined]
        back = time.monotonic()
        delays = [side.wait_for_start("reconnected", timeout=RECONNECT_TARGET_S + 5) - back
                  for side in (caller, callee)]
        assert max(delays) <= RECONNECT_TARGET_S, delays
        print(f"reconnected {delays[0]:.2f} s / {delays[1]:.2f} s after the server's return")
        assert caller.finish(timeout=seconds + 10) == ExitCode.OK, caller.err
        # The hang-up reached the callee over the new sessions: no time-out, no failure.
        callee.wait_for("other side hung up", timeout=5)
        callee.wait_for("call destroyed", timeout=5)
        assert "call failed" not in callee.err + caller.err
        stats = json.loads((tmp_path / "b.json").read_text())["received"]
        got = received(tmp_path / "b_got.wav")
        g711 = ULAW_TABLE[ulaw_encode(a_in[:, 0])].reshape(-1, 1)
        # Every sample of the caller's voice arrived, through the outage.
        assert stats["lost"] == 0 and stats["concealed_ms"] == 0, stats
        assert np.array_equal(got[:len(g711)], g711)

        # Still listening: a second call goes through.
        second = start("alice", alice, address, ca_file, "dial", bob.jid, "--duration", "0.3")
        assert second.finish() == ExitCode.OK, second.err
        assert callee.popen.poll() is None
    finally:
        for proc in (caller, callee, second):
            if proc is not None and proc.popen.poll() is None:
                proc.popen.kill()


def client_port(pid: int, server_port: int) -> int:
    """The local port of the process's TCP connection to the server."""
    out = subprocess.run(["ss", "-Htnp", "state", "established", "dport", "=",
                          f":{server_port}"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if f"pid={pid}," in line:
            return int(line.split()[2].rsplit(":", 1)[1])
    raise AssertionError(f"no connection of {pid} to port {server_port}: {out}")


def test_a_broken_connection_resumes_the_stream_mid_call(
        tmp_path: Path, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    """The connection breaks while the server stays up: the stream is resumed
    (XEP-0198 on Prosody's mod_smacks), nothing is lost, the call goes on."""
    bob = Account(f"{accounts['bob'].jid}/resume", accounts["bob"].password)
    callee = start("bob", bob, server, ca_file, "listen", "-a", "--once")
    caller = None
    try:
        callee.wait_for("logged in...")
        caller = start("alice", accounts["alice"], server, ca_file, "dial", bob.jid,
                       "--duration", "4")
        callee.wait_for("call in progress")
        port = client_port(callee.popen.pid, int(server.rsplit(":", 1)[1]))
        subprocess.run(["ss", "-K", "src", "127.0.0.1", "sport", "=", f":{port}"],
                       check=True, capture_output=True)
        broken = time.monotonic()
        resumed = callee.wait_for("reconnected (stream resumed)", timeout=10) - broken
        print(f"stream resumed {resumed:.2f} s after the connection broke")
        assert caller.finish() == ExitCode.OK, caller.err
        assert callee.finish() == ExitCode.OK, callee.err
        assert "other side hung up" in callee.out_lines
        assert "call failed" not in callee.err + caller.err
    finally:
        for proc in (caller, callee):
            if proc is not None and proc.popen.poll() is None:
                proc.popen.kill()
