"""The live call status, with real jcall processes through a real Prosody: the status
line on a terminal (a pty), none off one, and --stats-interval snapshots."""

from __future__ import annotations

import itertools
import json
import math
import re
import time
from pathlib import Path

import pytest

from jcall.audio.files import TONE_LEVEL
from jcall.errors import ExitCode

from .jcallproc import Account, start

STANZA_TIMEOUT = 20.0
TONE = ("--tone", "440", "--discard")
LIVE = re.compile(r"\r(\d\d:\d\d) (\S+) in ([#-]{8}) out ([#-]{8}) (host>host (?:Google|RFC) ICE) "
                  r"rtt (-|\d+ms) loss (\d+\.\d)% jitter \d+\.\dms buffer \d+ms\x1b\[K")


def test_a_terminal_shows_a_live_status_line_that_gives_way_to_other_lines(
        accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    bob = Account(accounts["bob"].jid + "/status", accounts["bob"].password)
    callee = start("bob", bob, server, ca_file, "listen", "-a", "--once", audio=TONE)
    callee.wait_for("logged in...")
    caller = start("alice", accounts["alice"], server, ca_file, "dial", bob.jid,
                   "--duration", "3.5", "--signaling", "gingle", "--ice", "google", audio=TONE,
                   terminal=True)
    assert caller.finish() == ExitCode.OK, caller.err
    assert callee.finish() == ExitCode.OK, callee.err
    shown = LIVE.findall(caller.raw_out)
    assert len(shown) >= 3, caller.raw_out  # (once a second)
    times = [m[0] for m in shown]
    assert times == sorted(times) and times[-1] in ("00:02", "00:03")
    last = shown[-1]
    assert last[2].startswith("#####") and last[3].startswith("#####")  # the tone, both ways
    assert last[4] == "host>host Google ICE"
    assert last[5] != "-"  # Google ICE's pings measure the round trip
    assert last[6] == "0.0"
    # The line is wiped before the next status line is written over it (the end of
    # call statistics, or a roster change that came first).
    assert re.search(r"\x1b\[K\r\x1b\[K(Sender: |Removing from roster: )", caller.raw_out), \
        caller.raw_out[-400:]
    assert caller.out_lines[-1] == "logged out..."


def test_off_a_terminal_there_are_plain_lines_only(
        accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    bob = Account(accounts["bob"].jid + "/plain", accounts["bob"].password)
    callee = start("bob", bob, server, ca_file, "listen", "-a", "--once")
    callee.wait_for("logged in...")
    caller = start("alice", accounts["alice"], server, ca_file, "dial", bob.jid,
                   "--duration", "1.5")
    assert caller.finish() == ExitCode.OK, caller.err
    assert callee.finish() == ExitCode.OK, callee.err
    for proc in (caller, callee):
        assert "call in progress" in proc.out_lines
        assert "\x1b" not in proc.raw_out and "\r" not in proc.raw_out and "\a" not in proc.raw_out


def test_stats_interval_rewrites_a_live_snapshot_and_the_final_file_lists_them(
        accounts: dict[str, Account], server: str, ca_file: Path, tmp_path: Path) -> None:
    """Jingle (RFC ICE): the round trip comes from the first consent check (4-6 s)."""
    stats = tmp_path / "stats.json"
    bob = Account(accounts["bob"].jid + "/snap", accounts["bob"].password)
    callee = start("bob", bob, server, ca_file, "listen", "-a", "--once", audio=TONE)
    callee.wait_for("logged in...")
    caller = start("alice", accounts["alice"], server, ca_file, "dial", bob.jid,
                   "--duration", "6.5", "--stats-json", str(stats), "--stats-interval", "0.5",
                   "--signaling", "jingle", audio=TONE)
    caller.wait_for("call in progress", STANZA_TIMEOUT)
    deadline = time.monotonic() + 3
    live = None
    while live is None:
        assert time.monotonic() < deadline, "no live snapshot"
        if stats.exists():
            live = json.loads(stats.read_text())
        time.sleep(0.1)
    assert live["live"] is True and live["codec"].startswith("L16")
    assert caller.finish() == ExitCode.OK, caller.err
    assert callee.finish() == ExitCode.OK, callee.err
    final = json.loads(stats.read_text())
    assert "live" not in final and final["signaling"] == "jingle"
    snaps = final["snapshots"]
    assert 11 <= len(snaps) <= 14, [s["duration_s"] for s in snaps]
    gaps = [b["duration_s"] - a["duration_s"] for a, b in itertools.pairwise(snaps)]
    assert all(0.45 < gap < 0.6 for gap in gaps), gaps
    tone_dbfs = 20 * math.log10(TONE_LEVEL / math.sqrt(2))  # a sine's RMS
    for level in snaps[-1]["levels"].values():  # the tone sent, and the peer's played
        assert level == pytest.approx(tone_dbfs, abs=0.5)
    assert snaps[0]["rtt_ms"] is None and snaps[-1]["rtt_ms"] is not None
    # The round trip of a consent check. The peer's media thread (both ends of its audio
    # are files) reads the socket every 100 ms, so the answer may wait that long there;
    # ours is timed at its kernel arrival, not when our thread reads it.
    assert 0 <= snaps[-1]["rtt_ms"] < 150
    assert final["duration_s"] >= 6.5 and final["rtt_ms"] is not None
