"""Ringing and leaving, with real jcall processes through a real Prosody: a call nobody
answers, a second call while busy, and Ctrl-C/SIGTERM at any point (exit 130/143)."""

from __future__ import annotations

import os
import pty
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from jcall.errors import ExitCode

from .jcallproc import Account, JcallProcess, start

STANZA_TIMEOUT = 20.0


@contextmanager
def terminal() -> Iterator[int]:
    """A pty whose slave end is a jcall's stdin: it asks before taking a call."""
    master, slave = pty.openpty()
    try:
        yield slave
    finally:
        os.close(master)
        os.close(slave)


def resource(account: Account, name: str) -> Account:
    return Account(f"{account.jid}/{name}", account.password)


def hung_up_and_logged_out(proc: JcallProcess) -> None:
    lines = [ln for ln in proc.out_lines if not ln.startswith(("Sender: ", "Receiver: "))]
    assert lines[-1] == "logged out...", proc.out


@pytest.mark.parametrize("signaling", ["gingle", "jingle"])
def test_a_call_nobody_answers_is_declined_after_the_ring_timeout(
        signaling: str, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    """Jingle between two jcalls rings with XEP-0353, Gingle with a session."""
    carol = resource(accounts["carol"], f"away-{signaling}")
    with terminal() as tty:
        callee = start("carol", carol, server, ca_file, "listen", "--once",
                       "--ring-timeout", "1.5", stdin=tty)
        callee.wait_for("logged in...")
        caller = start("alice", accounts["alice"], server, ca_file, "dial", carol.jid,
                       "--signaling", signaling)
        asked = callee.wait_for_prompt("accept? [y/N] ", STANZA_TIMEOUT)
        declined = callee.wait_for_start("Rejected call from '", 10)
        assert 1.3 < declined - asked < 3.0
        assert callee.out_lines[-1].endswith("': not answered"), callee.out
        assert caller.finish() == ExitCode.REJECTED, caller.err
        assert "call not answered" in caller.out_lines
        assert "call in progress" not in caller.out_lines
        assert callee.finish() == ExitCode.OK, callee.err


def test_the_caller_gives_up_after_its_ring_timeout(
        accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    carol = resource(accounts["carol"], "slow")
    with terminal() as tty:
        callee = start("carol", carol, server, ca_file, "listen", "--once", stdin=tty)
        callee.wait_for("logged in...")
        began = time.monotonic()
        caller = start("alice", accounts["alice"], server, ca_file, "dial", carol.jid,
                       "--ring-timeout", "2", "--signaling", "gingle")
        callee.wait_for_prompt("accept? [y/N] ", STANZA_TIMEOUT)
        assert caller.finish() == ExitCode.REJECTED, caller.err
        assert time.monotonic() - began < 2 + STANZA_TIMEOUT
        assert "call not answered" in caller.out_lines
        callee.wait_for("other side hung up", 10)
        assert callee.finish() == ExitCode.REJECTED, callee.err  # (--once: it rang out)


def test_a_second_call_is_refused_as_busy_and_the_first_goes_on(
        accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    carol = resource(accounts["carol"], "busy-line")
    callee = start("carol", carol, server, ca_file, "listen", "-a")
    try:
        callee.wait_for("logged in...")
        first = start("alice", accounts["alice"], server, ca_file, "dial", carol.jid,
                      "--duration", "4")
        first.wait_for("call in progress", STANZA_TIMEOUT)
        second = start("dave", accounts["dave"], server, ca_file, "dial", carol.jid)
        assert second.finish() == ExitCode.REJECTED, second.err
        assert "call not answered" in second.out_lines
        assert any(ln.startswith(f"Rejected call from '{accounts['dave'].jid}")
                   and ln.endswith("': busy") for ln in callee.out_lines), callee.out
        assert first.finish() == ExitCode.OK, first.err  # its full 4 s, hung up by itself
        assert "other side hung up" not in first.out_lines
        assert callee.out_lines.count("call in progress") == 1
    finally:
        callee.interrupt()
        assert callee.finish() == ExitCode.INTERRUPTED, callee.err
    hung_up_and_logged_out(callee)


def test_ctrl_c_while_it_rings_hangs_up_and_exits_130(
        accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    carol = resource(accounts["carol"], "ringing")
    with terminal() as tty:
        callee = start("carol", carol, server, ca_file, "listen", "--once", stdin=tty)
        callee.wait_for("logged in...")
        caller = start("alice", accounts["alice"], server, ca_file, "dial", carol.jid,
                       "--signaling", "gingle")
        callee.wait_for_prompt("accept? [y/N] ", STANZA_TIMEOUT)
        caller.interrupt()
        assert caller.finish() == ExitCode.INTERRUPTED, caller.err
        hung_up_and_logged_out(caller)
        callee.wait_for("other side hung up", 10)
        assert callee.finish() == ExitCode.REJECTED, callee.err


def test_sigterm_during_a_call_hangs_up_and_exits_143(
        accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    carol = resource(accounts["carol"], "term")
    callee = start("carol", carol, server, ca_file, "listen", "-a", "--once")
    callee.wait_for("logged in...")
    caller = start("alice", accounts["alice"], server, ca_file, "dial", carol.jid)
    caller.wait_for("call in progress", STANZA_TIMEOUT)
    callee.wait_for("call in progress", STANZA_TIMEOUT)
    caller.popen.send_signal(signal.SIGTERM)
    assert caller.finish() == ExitCode.TERMINATED, caller.err
    assert "call destroyed" in caller.out_lines
    hung_up_and_logged_out(caller)
    assert callee.finish() == ExitCode.OK, callee.err
    assert "other side hung up" in callee.out_lines


def test_a_second_ctrl_c_leaves_at_once(
        accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    """The callee is stopped (SIGSTOP), so the hang-up's acknowledgement never comes:
    the first Ctrl-C waits for it, the second does not."""
    carol = resource(accounts["carol"], "frozen")
    callee = start("carol", carol, server, ca_file, "listen", "-a", "--once")
    try:
        callee.wait_for("logged in...")
        caller = start("alice", accounts["alice"], server, ca_file, "dial", carol.jid)
        caller.wait_for("call in progress", STANZA_TIMEOUT)
        callee.popen.send_signal(signal.SIGSTOP)
        caller.interrupt()
        time.sleep(0.5)
        assert caller.popen.poll() is None  # (still waiting for the acknowledgement)
        second = time.monotonic()
        caller.interrupt()
        assert caller.finish(5) == ExitCode.INTERRUPTED, caller.err
        assert time.monotonic() - second < 0.5
    finally:
        callee.popen.send_signal(signal.SIGCONT)
        callee.interrupt()
        callee.finish()
