"""A media path that dies mid-call (issue 11, item 5): consent freshness (RFC 7675)
shows "media lost" within 3 s, "media restored" when the path comes back, and ends
the call with terminate when consent expires 30 s after the last answer."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from jcall.errors import ExitCode
from jcall.transport.consent import EXPIRY_S, LOST_AFTER_S

from .jcallproc import Account, JcallProcess, start

SECTION = re.compile(r"^(SEND|RECV) [<>]{25} : ", re.M)


def sent_candidate_ports(debug_log: str) -> set[int]:
    """The ports of the candidates a process sent, from its -d log."""
    ports: set[int] = set()
    parts = SECTION.split(debug_log)
    for direction, body in zip(parts[1::2], parts[2::2], strict=True):
        if direction == "SEND":
            for cand in re.findall(r"<candidate\b[^>]*>", body, re.S):
                m = re.search(r'port="(\d+)"', cand)
                if m:
                    ports.add(int(m.group(1)))
    return ports


@contextmanager
def udp_blocked(ports: set[int]) -> Iterator[None]:
    """Drop loopback UDP to these ports (iptables), and always remove the rules."""
    rules = [["INPUT", "-i", "lo", "-p", "udp", "--dport", str(p), "-j", "DROP"]
             for p in sorted(ports)]
    added = []
    try:
        for rule in rules:
            subprocess.run(["iptables", "-w", "-I", *rule], check=True)
            added.append(rule)
        yield
    finally:
        for rule in added:
            subprocess.run(["iptables", "-w", "-D", *rule], check=False)


def pair(accounts: dict[str, Account], server: str, ca_file: Path, resource: str,
         duration: str) -> tuple[JcallProcess, JcallProcess]:
    bob = Account(f"{accounts['bob'].jid}/{resource}", accounts["bob"].password)
    here = ("--ice-address", "127.0.0.1")
    callee = start("bob", bob, server, ca_file, "-d", *here, "listen", "-a", "--once")
    callee.wait_for("logged in...")
    caller = start("alice", accounts["alice"], server, ca_file, "-d", *here, "dial", bob.jid,
                   "--duration", duration)
    return caller, callee


def test_a_blocked_path_is_lost_within_three_seconds_then_restored(
        accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    if os.geteuid() != 0 or shutil.which("iptables") is None:
        pytest.skip("needs root and iptables to block the path")
    caller, callee = pair(accounts, server, ca_file, "blocked", "9")
    try:
        caller.wait_for("call in progress")
        callee.wait_for("call in progress")
        time.sleep(1.0)
        ports = sent_candidate_ports(caller.err) | sent_candidate_ports(callee.err)
        assert len(ports) == 2, ports
        with udp_blocked(ports):
            t0 = time.monotonic()
            lost = caller.wait_for("media lost", LOST_AFTER_S + 2)
            callee.wait_for("media lost", LOST_AFTER_S + 2)
            assert lost - t0 <= 3.0, lost - t0  # (the target: noticed within 3 s)
            time.sleep(max(0.0, t0 + 4.5 - time.monotonic()))
        t1 = time.monotonic()
        restored = caller.wait_for("media restored", 3)
        callee.wait_for("media restored", 3)
        assert restored - t1 < 1.5, restored - t1
        assert caller.finish(20) == ExitCode.OK, caller.err[-2000:]
        assert callee.finish(20) == ExitCode.OK
    finally:
        caller.popen.kill()
        callee.popen.kill()


def test_a_killed_peer_is_lost_then_consent_expiry_ends_the_call(
        accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    caller, callee = pair(accounts, server, ca_file, "killed", "120")
    try:
        caller.wait_for("call in progress")
        callee.wait_for("call in progress")
        time.sleep(1.0)
        callee.popen.send_signal(signal.SIGKILL)
        t0 = time.monotonic()
        lost = caller.wait_for("media lost", LOST_AFTER_S + 2)
        assert lost - t0 <= 3.0, lost - t0
        assert caller.finish(EXPIRY_S + 10) == ExitCode.CALL_FAILED
        ended = time.monotonic() - t0
        # Expiry counts from the last consent answer, which came at most a second or
        # so before the kill (checks go out every second while media is quiet, and
        # every 4-6 s while it flows): so 30 s from the kill, or a few less.
        assert EXPIRY_S - 6.5 <= ended <= EXPIRY_S + 2, ended
        failure = [ln for ln in caller.err_lines if ln.startswith("call failed")]
        assert failure == [f"call failed: media path to '{callee_jid(caller)}' lost: consent "
                           "expired: no answer from the peer for 30 s (RFC 7675)"]
        parts = SECTION.split(caller.err)
        sent = [body for d, body in zip(parts[1::2], parts[2::2], strict=True) if d == "SEND"]
        assert any(re.search(r"(type|action)=['\"](session-)?terminate['\"]", body)
                   for body in sent)
    finally:
        caller.popen.kill()
        callee.popen.kill()


def callee_jid(caller: JcallProcess) -> str:
    m = re.search(r"to='([^']+/killed)'|to=\"([^\"]+/killed)\"", caller.err)
    assert m, "no stanza to the callee"
    return m.group(1) or m.group(2)
