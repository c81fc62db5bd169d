"""The command line as a person types it (issue 14 item 6): call options after the
command as well as before it, one definition each, and inputs checked in the order a
person would fix them (what was typed, then the sound devices, then the network)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from jcall.errors import ExitCode

from .jcallproc import REPO, Account, start

NO_SOUND = {"JACK_NO_START_SERVER": "1", "JACK_DEFAULT_SERVER": "jcall-none"}


def test_call_options_work_after_the_command(tmp_path: Path, accounts: dict[str, Account],
                                             server: str, ca_file: Path) -> None:
    bob = Account(accounts["bob"].jid + "/after", accounts["bob"].password)
    callee = start("bob", bob, server, ca_file, "listen", "-a", "--once",
                   "--stats-json", str(tmp_path / "b.json"), "--signaling", "gingle")
    caller = None
    try:
        callee.wait_for("logged in...")
        # given before and after the command: the one after it wins
        caller = start("alice", accounts["alice"], server, ca_file, "--codec", "PCMA",
                       "dial", bob.jid, "--codec", "PCMU", "--duration", "0.3",
                       "--stats-json", str(tmp_path / "a.json"))
        assert caller.finish() == ExitCode.OK, caller.err
        assert callee.finish() == ExitCode.OK, callee.err
    finally:
        for proc in (caller, callee):
            if proc is not None and proc.popen.poll() is None:
                proc.popen.kill()
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "ab")
    assert a["codec"] == b["codec"] == "PCMU/8000"
    assert b["signaling"] == "gingle"  # (the callee's own option, after its command)


def jcall(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os
    full = {k: v for k, v in os.environ.items() if not k.startswith("JCALL_")}
    full.update(env or {}, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "jcall", *args], capture_output=True,
                          text=True, env=full, timeout=30, stdin=subprocess.DEVNULL)


def test_every_command_lists_the_call_options() -> None:
    for command in ("dial", "listen"):
        out = jcall(command, "--help").stdout
        for option in ("--codec", "--input", "--signaling", "--stats-json", "--jid"):
            assert option in out, (command, option)


def test_a_missing_input_file_is_named_before_the_missing_sound_card(tmp_path: Path) -> None:
    """Without a sound card and without --output: the file is what to fix first."""
    missing = tmp_path / "missing.wav"
    got = jcall("--jid", "alice@example.com", "dial", "bob@example.com",
                "--input", str(missing), env=NO_SOUND)
    assert got.returncode == ExitCode.ERROR, got.stderr
    assert got.stderr.splitlines() == [f"input file not found: {missing}"]


def test_a_malformed_account_jid_is_named_before_the_missing_sound_card() -> None:
    got = jcall("listen", "--jid", "bob@", env=NO_SOUND)
    assert got.returncode == ExitCode.USAGE, got.stderr
    assert len(got.stderr.splitlines()) == 1
    assert got.stderr.startswith("invalid JID 'bob@'")
