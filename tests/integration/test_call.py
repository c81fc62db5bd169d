"""Two real jcall processes through a real Prosody: dial, answer, reject, hang up."""

from __future__ import annotations

import os
import pty
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jcall.errors import ExitCode

from .jcallproc import REPO, Account, start

HEADER = re.compile(r"^(SEND >{25}|RECV <{25}) : \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$")
STANZA_TIMEOUT = 20.0


def status(proc: object) -> list[str]:
    """Call and connection status lines, without the roster's Adding/Removing lines
    and the end-of-call statistics."""
    return [ln for ln in proc.out_lines  # type: ignore[attr-defined]
            if not ln.startswith(("Adding to roster", "Removing from roster", "Sender: ",
                                  "Receiver: "))]


def session_types(debug_log: str, direction: str) -> list[str]:
    """Gingle message types in a -d log, in order, for one direction (SEND/RECV)."""
    types, current = [], None
    for line in debug_log.splitlines():
        if HEADER.match(line):
            current = line[:4]
        elif current == direction and "http://www.google.com/session'" in line.replace('"', "'"):
            m = re.search(r"type=['\"]([a-z-]+)['\"]", line)
            if m and "<session" in line:
                types.append(m.group(1))
    return types


def jingle_actions(debug_log: str, direction: str) -> list[str]:
    """Jingle actions in a -d log, in order, for one direction (SEND/RECV)."""
    actions, current = [], None
    for line in debug_log.splitlines():
        if HEADER.match(line):
            current = line[:4]
        elif current == direction and "<jingle " in line:
            m = re.search(r"action=['\"]([a-z-]+)['\"]", line)
            if m:
                actions.append(m.group(1))
    return actions


def test_dial_accept_hang_up(accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    bob = Account(accounts["bob"].jid + "/desk", accounts["bob"].password)
    callee = start("bob", bob, server, ca_file, "-d", "listen", "-a", "--once")
    callee.wait_for("logged in...")
    caller = start("alice", accounts["alice"], server, ca_file, "-d", "--signaling", "gingle",
                   "dial", bob.jid, "--duration", "0.5")
    assert caller.finish() == ExitCode.OK, caller.err[-3000:]
    assert callee.finish() == ExitCode.OK, callee.err[-3000:]

    assert caller.out_lines[:3] == ["connecting...", "logging in...", "logged in..."]
    assert status(caller)[3:] == ["calling...", "call answered", "call in progress",
                                  "call destroyed", "logged out..."]
    assert status(callee)[3:] == [
        f"Incoming call from '{caller_jid(callee.out)}'", "call in progress",
        "other side hung up", "call destroyed", "logged out..."]

    # The seed's message flow (gingle.md part B), seen from both ends.
    sent, received = session_types(caller.err, "SEND"), session_types(caller.err, "RECV")
    assert sent[0] == "initiate" and "transport-info" in sent and sent[-1] == "terminate"
    assert received.index("transport-accept") < received.index("accept")
    assert session_types(callee.err, "RECV")[0] == "initiate"
    initiate = caller.err[caller.err.index('type="initiate"'):]
    initiate = initiate[:initiate.index("</session>")]
    assert "http://www.google.com/session/phone" in initiate
    assert '<transport xmlns="http://www.google.com/transport/p2p"' in initiate

    # Log format: libjingle headers, nothing but headers and indented XML, no secrets.
    for line in caller.err_lines:
        assert HEADER.match(line) or line.startswith(" "), line
    assert "## TEXT REMOVED ##" in caller.err
    auth = caller.err[caller.err.index("<auth "):]
    assert auth.splitlines()[1].strip() == "## TEXT REMOVED ##"
    assert accounts["alice"].password not in caller.err


def test_jcalls_choose_jingle_and_ring(accounts: dict[str, Account], server: str,
                                       ca_file: Path) -> None:
    """Both advertise both dialects and XEP-0353 (hashed caps): the caller proposes,
    the callee's device rings and proceeds, and the call is Jingle: the initiate
    offers ICE credentials and candidates on the transport, the callee answers and
    hangs up in Jingle."""
    bob = Account(accounts["bob"].jid + "/hybrid", accounts["bob"].password)
    callee = start("bob", bob, server, ca_file, "-d", "listen", "-a", "--once")
    callee.wait_for("logged in...")
    caller = start("alice", accounts["alice"], server, ca_file, "-d", "dial",
                   accounts["bob"].jid, "--duration", "0.5")
    assert caller.finish() == ExitCode.OK, caller.err[-3000:]
    assert callee.finish() == ExitCode.OK, callee.err[-3000:]
    assert status(caller)[3:] == [f"Found online friend '{bob.jid}'", "calling...",
                                  "ringing...", "call answered", "call in progress",
                                  "call destroyed", "logged out..."]
    sent, received = jingle_actions(caller.err, "SEND"), jingle_actions(caller.err, "RECV")
    assert sent[0] == "session-initiate" and sent[-1] == "session-terminate"
    assert received[:1] == ["session-info"] and "session-accept" in received
    assert session_types(caller.err, "SEND") == []  # no Gingle at all
    initiate = caller.err[caller.err.index('action="session-initiate"'):]
    initiate = initiate[:initiate.index("</jingle>")]
    assert '<description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio"' in initiate
    assert re.search(r'<transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" '
                     r'ufrag="[^"]+" pwd="[^"]{22,}"', initiate)
    assert '<candidate component="1"' in initiate  # (never an empty one: test_session.py)
    assert jingle_actions(callee.err, "SEND")[:1] == ["session-info"]  # <ringing/>
    jmi = re.findall(r'<(propose|ringing|proceed|finish) xmlns="urn:xmpp:jingle-message:0" '
                     r'id="(\d+)"', caller.err)
    assert [a for a, _ in jmi][:1] == ["propose"] and "finish" in [a for a, _ in jmi]
    # (the server writes attributes in any order)
    assert re.findall(r"<(ringing|proceed)\b[^>]*urn:xmpp:jingle-message:0", caller.err) == [
        "ringing", "proceed"]
    sid = re.search(r'action="session-initiate"[^>]*sid="(\d+)"', caller.err)
    assert sid is not None and sid.group(1) == jmi[0][1]  # the proposal's id


def test_a_peer_with_only_google_voice_is_called_in_gingle(
        accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    bob = Account(accounts["bob"].jid + "/gtalk", accounts["bob"].password)
    callee = start("bob", bob, server, ca_file, "-d", "--signaling", "gingle",
                   "listen", "-a", "--once")
    callee.wait_for("logged in...")
    caller = start("alice", accounts["alice"], server, ca_file, "-d", "dial",
                   accounts["bob"].jid, "--duration", "0.3")
    assert caller.finish() == ExitCode.OK, caller.err[-3000:]
    assert callee.finish() == ExitCode.OK, callee.err[-3000:]
    assert session_types(caller.err, "SEND")[0] == "initiate"
    assert jingle_actions(caller.err, "SEND") == []
    assert 'ext="voice-v1"' in callee.err  # (the legacy caps libjingle looks for)


def caller_jid(out: str) -> str:
    m = re.search(r"Incoming call from '([^']+)'", out)
    assert m, out
    return m.group(1)


@pytest.mark.parametrize(("signaling", "ending"), [
    ("gingle", ["call not answered", "call destroyed", "logged out..."]),
    # XEP-0353: the proposal is rejected; no session, so no call to destroy
    ("auto", ["calling...", "ringing...", "call not answered", "logged out..."]),
])
def test_dial_reject(signaling: str, ending: list[str], accounts: dict[str, Account],
                     server: str, ca_file: Path) -> None:
    carol = Account(accounts["carol"].jid + "/busy", accounts["carol"].password)
    callee = start("carol", carol, server, ca_file, "listen", "--reject", "--once")
    callee.wait_for("logged in...")
    caller = start("alice", accounts["alice"], server, ca_file, "--signaling", signaling,
                   "dial", carol.jid)
    assert caller.finish() == ExitCode.REJECTED, caller.err
    assert callee.finish() == ExitCode.OK, callee.err
    assert "call in progress" not in caller.out_lines
    assert status(caller)[-len(ending):] == ending


def test_bare_jid_resolves_to_callable_resource(accounts: dict[str, Account], server: str,
                                                ca_file: Path) -> None:
    dave = Account(accounts["dave"].jid + "/phone", accounts["dave"].password)
    callee = start("dave", dave, server, ca_file, "listen", "-a", "--once")
    callee.wait_for("logged in...")
    caller = start("erin", accounts["erin"], server, ca_file, "dial", accounts["dave"].jid,
                   "--duration", "0.2")
    assert caller.finish() == ExitCode.OK, caller.err
    assert callee.finish() == ExitCode.OK, callee.err
    assert f"Found online friend '{dave.jid}'" in caller.out_lines


def test_dial_offline_bare_jid(accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    caller = start("alice", accounts["alice"], server, ca_file, "dial", accounts["carol"].jid)
    assert caller.finish() == ExitCode.NOT_FOUND
    assert caller.err_lines == [f"Could not find online friend '{accounts['carol'].jid}'"]
    assert "logged out..." in caller.out_lines


def test_dial_offline_full_jid(accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    target = accounts["carol"].jid + "/gone"
    caller = start("alice", accounts["alice"], server, ca_file, "dial", target)
    assert caller.finish() == ExitCode.CALL_FAILED
    assert len(caller.err_lines) == 1, caller.err
    assert caller.err_lines[0].startswith(f"call failed: could not reach '{target}'")


def test_wrong_password(accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    proc = start("alice", accounts["alice"], server, ca_file, "listen", password="wrong")
    assert proc.finish() == ExitCode.AUTH_FAILED
    assert proc.err_lines == [
        "logged out... User is not authorized (Check your username and password)"]


def test_untrusted_certificate(accounts: dict[str, Account], server: str) -> None:
    proc = start("alice", accounts["alice"], server, None, "listen")
    assert proc.finish() == ExitCode.TLS_FAILED
    assert len(proc.err_lines) == 1, proc.err
    assert proc.err_lines[0].startswith("logged out... TLS could not be negotiated")
    assert "Traceback" not in proc.err


def test_unreachable_server(accounts: dict[str, Account], ca_file: Path) -> None:
    from testbed.ports import free_port

    proc = start("alice", accounts["alice"], f"127.0.0.1:{free_port()}", ca_file, "listen")
    assert proc.finish() == ExitCode.CONNECT_FAILED
    assert len(proc.err_lines) == 1, proc.err
    assert proc.err_lines[0].startswith("logged out... Socket error")


def test_ctrl_c_hangs_up_and_listener_keeps_listening(
        accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    bob = Account(accounts["bob"].jid + "/sofa", accounts["bob"].password)
    callee = start("bob", bob, server, ca_file, "listen", "-a")
    callee.wait_for("logged in...")
    for round_ in range(2):
        caller = start("alice", accounts["alice"], server, ca_file, "dial", bob.jid)
        caller.wait_for("call in progress")
        caller.interrupt()
        assert caller.finish() == ExitCode.INTERRUPTED, caller.err
        assert status(caller)[-2:] == ["call destroyed", "logged out..."]
        deadline = time.monotonic() + 5
        while callee.out_lines.count("other side hung up") <= round_:
            assert time.monotonic() < deadline, callee.out
            time.sleep(0.05)
    assert callee.popen.poll() is None  # still listening
    callee.interrupt()
    assert callee.finish() == ExitCode.INTERRUPTED
    assert status(callee)[-1] == "logged out..."


def test_prompt_on_a_terminal(accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    carol = Account(accounts["carol"].jid + "/tty", accounts["carol"].password)
    master, slave = pty.openpty()
    try:
        callee = start("carol", carol, server, ca_file, "listen", "--once", stdin=slave)
        callee.wait_for("logged in...")
        caller = start("alice", accounts["alice"], server, ca_file, "dial", carol.jid,
                       "--duration", "0.2")
        callee.wait_for_prompt("accept? [y/N] ", STANZA_TIMEOUT)
        assert callee.out_partial == \
            f"Incoming call from '{caller_jid(callee.out_partial)}' — accept? [y/N] "
        os.write(master, b"y\n")
        assert caller.finish() == ExitCode.OK, caller.err
        assert callee.finish() == ExitCode.OK, callee.err
        assert "call in progress" in caller.out_lines
    finally:
        os.close(master)
        os.close(slave)


def test_unknown_host(accounts: dict[str, Account], ca_file: Path) -> None:
    """DNS fails inside an empty network namespace: no query leaves the machine."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 for a network namespace")
    ns = f"jcall-nodns-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("JCALL_")}
        env.update(JCALL_PASSWORD="x", PYTHONPATH=str(REPO))
        for server in (["--server", "no-such-host.invalid"], []):
            jid = "alice@no-such-domain.invalid" if not server else accounts["alice"].jid
            proc = subprocess.run(
                ["ip", "netns", "exec", ns, sys.executable, "-m", "jcall", "--jid", jid,
                 *server, "--ca-file", str(ca_file), "--silence", "--discard", "listen"],
                capture_output=True, text=True, env=env, timeout=30)
            assert proc.returncode == ExitCode.UNKNOWN_HOST, proc.stderr
            assert proc.stderr.startswith("logged out... Socket error (unknown host: ")
            assert len(proc.stderr.splitlines()) == 1
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def test_debug_logging_shows_no_credentials(accounts: dict[str, Account], server: str,
                                            ca_file: Path) -> None:
    """JCALL_LOG=debug turns on slixmpp's own stanza log: the SASL exchange in it (the
    base64 PLAIN password, SCRAM's salt, iterations and proofs) is censored."""
    import base64

    alice = accounts["alice"]
    proc = start("alice", alice, server, ca_file, "listen", extra_env={"JCALL_LOG": "debug"})
    try:
        proc.wait_for("logged in...")
    finally:
        proc.interrupt()
        proc.finish()
    user = alice.jid.split("@")[0]
    plain = base64.b64encode(f"\0{user}\0{alice.password}".encode()).decode()
    assert "xmpp-sasl" in proc.err  # (the exchange is logged...)
    assert "## TEXT REMOVED ##" in proc.err  # (...censored)
    for secret in (alice.password, plain, plain[:16]):
        assert secret not in proc.err
    assert not re.search(r"[,>]s=[A-Za-z0-9+/=]{8,}|[,>]i=\d+|[,>]p=[A-Za-z0-9+/=]{8,}",
                         proc.err.replace("\\n", "\n"))
    for b64 in re.findall(r">([A-Za-z0-9+/]{12,}={0,2})<", proc.err):
        decoded = base64.b64decode(b64 + "=" * (-len(b64) % 4)).decode("latin-1")
        assert not re.search(r"(^|,)(s|i|p|v)=", decoded), decoded


@pytest.mark.parametrize("target", ["bob@", "@example.com", "bob\x01@example.com"])
def test_a_malformed_dial_target_is_one_line_and_exit_2_before_connecting(
        accounts: dict[str, Account], target: str) -> None:
    # (--server names a closed port: a connection attempt would be a different error)
    proc = start("alice", accounts["alice"], "127.0.0.1:1", None, "dial", target)
    assert proc.finish() == ExitCode.USAGE
    assert proc.out_lines == []
    [line] = proc.err_lines
    assert line.startswith(f"cannot call: invalid JID {target!r}")
