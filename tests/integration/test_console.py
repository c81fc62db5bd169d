"""``jcall console`` driven for real: typed into a pty (readline, as a person would)
or piped, against the real Prosody and a second jcall."""

from __future__ import annotations

import os
import time
import wave
from pathlib import Path

import numpy as np

from jcall.audio.level import dbfs
from jcall.errors import ExitCode

from .jcallproc import Account, JcallProcess, start

STANZA_TIMEOUT = 20.0


def shown_after(proc: JcallProcess, mark: int, text: str, timeout: float = 15.0) -> int:
    """Wait for a stdout line equal to ``text`` after line ``mark``; its index."""
    proc._wait(lambda: text in proc.out_lines[mark:], repr(text), timeout)
    return proc.out_lines.index(text, mark)


def at_prompt(proc: JcallProcess, timeout: float = 15.0) -> None:
    """Wait until the console's prompt ends the screen: readline is reading what is
    typed (the prompt is drawn from then on, prompt.py)."""
    proc._wait(lambda: proc.out_partial.endswith("> "), "the prompt", timeout)


def levels(path: Path, window_s: float = 0.1) -> list[float]:
    """dBFS of each ``window_s`` of a WAV file."""
    with wave.open(str(path)) as wav:
        rate = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
        pcm = pcm.reshape(-1, wav.getnchannels())
    n = int(rate * window_s)
    return [dbfs(pcm[i:i + n]) for i in range(0, len(pcm) - n + 1, n)]


def runs(loud: list[bool]) -> list[tuple[bool, int]]:
    """(loud?, length) runs of consecutive windows."""
    out: list[tuple[bool, int]] = []
    for flag in loud:
        if out and out[-1][0] == flag:
            out[-1] = (flag, out[-1][1] + 1)
        else:
            out.append((flag, 1))
    return out


def test_a_person_at_the_console(accounts: dict[str, Account], server: str, ca_file: Path,
                                 tmp_path: Path) -> None:
    """roster, call, mute/unmute (the peer hears the tone stop and come back), stats,
    hangup; then an incoming call accepted; an unknown command; quit."""
    heard = tmp_path / "bob.wav"
    bob = Account(accounts["bob"].jid + "/desk", accounts["bob"].password)
    alice = Account(accounts["alice"].jid + "/console", accounts["alice"].password)
    callee = start("bob", bob, server, ca_file, "listen", "-a", "--once",
                   audio=("--silence", "--output", str(heard)))
    callee.wait_for("logged in...")
    me = start("alice", alice, server, ca_file, "console",
               audio=("--tone", "440", "--discard"), terminal=True)
    me.wait_for("logged in...")
    me.wait_for(f"Adding to roster: {bob.jid}", STANZA_TIMEOUT)

    mark = len(me.out_lines)
    at_prompt(me)  # (typed sooner, the kernel echoes it: not what is asserted here)
    me.type("roster\n")
    at = shown_after(me, mark, f"{bob.jid} - available")
    assert any(line.startswith("Roster contains ") and line.endswith(" callable")
               for line in me.out_lines[mark:at]), me.out_lines[mark:]

    me.type(f"call {accounts['bob'].jid}\n")
    me.wait_for(f"Found online friend '{bob.jid}'", STANZA_TIMEOUT)
    me.wait_for("call in progress", STANZA_TIMEOUT)
    callee.wait_for("call in progress", STANZA_TIMEOUT)
    time.sleep(1.5)
    me.type("mute\n")
    me.wait_for("muted")
    time.sleep(1.5)
    me.type("unmute\n")
    me.wait_for("unmuted")
    time.sleep(1.5)
    mark = len(me.out_lines)
    me.type("stats\n")
    me._wait(lambda: any(line.startswith("Receiver: ") for line in me.out_lines[mark:]),
             "stats", 5)
    sender = next(line for line in me.out_lines[mark:] if line.startswith("Sender: ssrc="))
    assert int(sender.rsplit("packets=", 1)[1]) > 100, sender  # (4.5 s of 10 ms packets)
    me.type("hangup\n")
    me.wait_for("call destroyed", 10)
    assert callee.finish() == ExitCode.OK, callee.err
    assert "other side hung up" in callee.out_lines

    # The peer heard the tone, then about 1.5 s of silence, then the tone again.
    pattern = runs([level > -30 for level in levels(heard)])
    loud_runs = [i for i, (loud, n) in enumerate(pattern) if loud and n >= 8]
    assert len(loud_runs) >= 2, pattern
    gap = pattern[loud_runs[0] + 1:loud_runs[-1]]
    silent = sum(n for loud, n in gap if not loud)
    assert 10 <= silent <= 20, pattern  # (100 ms windows; muting takes effect in 0.3 s)
    assert all(level < -50 for level in levels(heard)[
        sum(n for _, n in pattern[:loud_runs[0] + 1]) + 3:][:silent - 6]), pattern

    # A call to the console: the question, answered by typing.
    caller = start("bob", accounts["bob"], server, ca_file, "dial", alice.jid,
                   "--duration", "1")
    me.wait_for_prompt("accept? [y/N] ", STANZA_TIMEOUT)
    me.type("accept\n")
    assert caller.finish() == ExitCode.OK, caller.err
    assert "call in progress" in caller.out_lines

    mark = len(me.out_lines)
    me.type("dance\n")
    shown_after(me, mark, "Available commands:")
    me.wait_for_error("unknown command 'dance'")
    me.type("quit\n")
    assert me.finish() == ExitCode.OK, me.err
    assert me.out_lines[-1] == "logged out...", me.out_lines[-5:]


def test_commands_from_a_pipe(accounts: dict[str, Account], server: str,
                              ca_file: Path) -> None:
    """Without a terminal the console reads plain lines (scripts), and the end of the
    input quits."""
    reader, writer = os.pipe()
    try:
        me = start("carol", accounts["carol"], server, ca_file, "console", stdin=reader)
        os.close(reader)
        me.wait_for("logged in...")
        os.write(writer, b"hangup\ncall\nroster\n")
        me.wait_for_start("Roster contains ")
        me.wait_for_error("call takes one JID")  # (stderr is read by its own thread)
        assert me.err_lines[:2] == ["'hangup' is not available now (idle)",
                                    "call takes one JID: call <jid>"], me.err
        assert me.out_lines.count("Available commands:") == 2
        assert "  call <jid>     Call a contact (a bare JID: its best callable resource)." \
            in me.out_lines
    finally:
        os.close(writer)
    assert me.finish() == ExitCode.OK, me.err
    assert me.out_lines[-1] == "logged out..."
    assert "\x1b" not in me.raw_out


def test_dial_on_a_terminal_reads_the_in_call_commands(
        accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    bob = Account(accounts["bob"].jid + "/incall", accounts["bob"].password)
    callee = start("bob", bob, server, ca_file, "listen", "-a", "--once")
    callee.wait_for("logged in...")
    me = start("alice", accounts["alice"], server, ca_file, "dial", bob.jid, terminal=True)
    me.wait_for("call in progress", STANZA_TIMEOUT)
    me.type("mute\n")
    me.wait_for("muted")
    me.type("call someone@example.com\n")  # (not while dialing)
    me.wait_for_error("'call' is not available now (in call)")
    me.type("hangup\n")
    assert me.finish() == ExitCode.OK, me.err
    assert "call destroyed" in me.out_lines
    assert callee.finish() == ExitCode.OK, callee.err
    assert "other side hung up" in callee.out_lines


def test_a_second_ctrl_c_leaves_the_terminal_as_it_was(
        accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    """readline puts the terminal in raw mode while it waits for a line; leaving by
    Ctrl-C twice (the second while the hang-up waits for a stopped peer) must put the
    terminal's settings back. (The first Ctrl-C's clean-up usually restores them
    already; the second's own restore covers a second Ctrl-C that comes first.
    Without the restore in prompt.py this test fails.)"""
    import signal
    import termios

    bob = Account(accounts["bob"].jid + "/frozen2", accounts["bob"].password)
    callee = start("bob", bob, server, ca_file, "listen", "-a", "--once")
    me = None
    try:
        callee.wait_for("logged in...")
        me = start("alice", accounts["alice"], server, ca_file, "console", terminal=True)
        me.wait_for("logged in...")
        assert me.terminal is not None
        me.type(f"call {bob.jid}\n")
        me.wait_for("call in progress", STANZA_TIMEOUT)
        time.sleep(0.3)  # (the prompt is back: readline waits, the terminal is raw)
        assert not termios.tcgetattr(me.terminal)[3] & termios.ICANON
        tty = os.dup(me.terminal)  # (the reader closes its own at the end)
        try:
            callee.popen.send_signal(signal.SIGSTOP)
            me.interrupt()
            time.sleep(0.5)
            assert me.popen.poll() is None  # (still waiting for the acknowledgement)
            me.interrupt()
            assert me.finish(5) == ExitCode.INTERRUPTED, me.err
            settings = termios.tcgetattr(tty)
        finally:
            os.close(tty)
        assert settings[3] & termios.ICANON and settings[3] & termios.ECHO
    finally:
        callee.popen.send_signal(signal.SIGCONT)
        callee.interrupt()
        callee.finish()
