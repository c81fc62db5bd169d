"""STUN and TURN servers for whole jcall calls: discovered from Prosody (XEP-0215,
``external_services`` with coturn's REST secret), named on the command line (coturn
with a static user, over UDP and TCP), relay-only, and a black-holed STUN server
that must not delay a call."""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jcall.errors import ExitCode

from .jcallproc import Account, JcallProcess, start

USERS = {"alice": "alice-ext-1", "bob": "bob-ext-2"}


@pytest.fixture(scope="module")
def rest_turn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """coturn that takes only time-limited REST credentials (use-auth-secret)."""
    if shutil.which("turnserver") is None:
        pytest.fail("coturn is not installed: run scripts/setup (apt-get install coturn)")
    from testbed.coturn import Coturn

    turn = Coturn(tmp_path_factory.mktemp("coturn-rest"), secret=secrets.token_hex(16))
    turn.start()
    yield turn
    turn.stop()


@pytest.fixture(scope="module")
def discovering(tmp_path_factory: pytest.TempPathFactory, rest_turn: Any) -> Iterator[Any]:
    """A second Prosody whose external_services point at the REST coturn."""
    from testbed.prosody import Prosody

    server = Prosody(tmp_path_factory.mktemp("prosody-ext"), domain="ext.jcall.test",
                     accounts=dict(USERS), extra_modules=["external_services"],
                     extra_config=rest_turn.external_services())
    server.start()
    yield server
    server.stop()


def stats(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def call(caller_args: tuple[str, ...], callee_args: tuple[str, ...], *, server: str,
         ca_file: Path, alice: Account, bob: Account, tmp_path: Path,
         duration: str = "1.0") -> tuple[JcallProcess, JcallProcess, dict[str, Any],
                                         dict[str, Any]]:
    bob = Account(bob.jid + "/servers", bob.password)
    callee = start("bob", bob, server, ca_file, "--ice-loopback",
                   "--stats-json", str(tmp_path / "bob.json"), *callee_args,
                   "listen", "-a", "--once")
    callee.wait_for("logged in...")
    caller = start("alice", alice, server, ca_file, "--ice-loopback",
                   "--stats-json", str(tmp_path / "alice.json"), *caller_args,
                   "dial", bob.jid, "--duration", duration)
    try:
        assert caller.finish(30) == ExitCode.OK, caller.err[-2000:]
        assert callee.finish(30) == ExitCode.OK, callee.err[-2000:]
    finally:
        caller.popen.kill()
        callee.popen.kill()
    return caller, callee, stats(tmp_path / "alice.json"), stats(tmp_path / "bob.json")


def test_discovered_turn_with_rest_credentials_carries_a_relay_only_call(
        discovering: Any, tmp_path: Path) -> None:
    """Neither side names a server: both ask Prosody (XEP-0215), get coturn with
    time-limited credentials, and offer nothing but their relays."""
    alice, bob = (Account(discovering.jid(u), p) for u, p in USERS.items())
    _, _, a, b = call(("--relay-only",), ("--relay-only",), server=discovering.server,
                      ca_file=discovering.ca_file, alice=alice, bob=bob, tmp_path=tmp_path)
    assert a["path"]["local_type"] == "relay" and b["path"]["local_type"] == "relay", (a, b)
    assert a["received"]["packets"] > 50 and b["received"]["packets"] > 50


def test_no_discover_with_relay_only_and_no_turn_is_a_usage_error(
        discovering: Any) -> None:
    alice = Account(discovering.jid("alice"), USERS["alice"])
    proc = start("alice", alice, discovering.server, discovering.ca_file, "--relay-only",
                 "--no-discover", "listen")
    assert proc.finish(20) == ExitCode.USAGE
    assert proc.err_lines == ["--relay-only needs a TURN server: give --turn (the account's "
                              "server offers none)"]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_a_turn_server_on_the_command_line_with_a_static_user(
        coturn: Any, accounts: dict[str, Account], server: str, ca_file: Path,
        tmp_path: Path, transport: str) -> None:
    host, port = coturn.address
    turn = f"{coturn.user}:{coturn.password}@{host}:{port}?transport={transport}"
    _, _, a, b = call(("--relay-only", "--turn", turn), (), server=server, ca_file=ca_file,
                      alice=accounts["alice"], bob=accounts["bob"], tmp_path=tmp_path)
    assert a["path"]["local_type"] == "relay", a
    assert b["path"]["remote_type"] in ("relay", "prflx"), b
    assert a["received"]["packets"] > 50 and b["received"]["packets"] > 50


def test_a_black_holed_stun_server_does_not_delay_the_call(
        accounts: dict[str, Account], server: str, ca_file: Path, tmp_path: Path) -> None:
    """aioice alone waited 5 s for the STUN answer before offering anything."""
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))
    try:
        stun = ("--stun", f"127.0.0.1:{hole.getsockname()[1]}")
        bob = Account(accounts["bob"].jid + "/hole", accounts["bob"].password)
        callee = start("bob", bob, server, ca_file, "--ice-loopback", *stun,
                       "listen", "-a", "--once")
        callee.wait_for("logged in...")
        caller = start("alice", accounts["alice"], server, ca_file, "--ice-loopback", *stun,
                       "dial", bob.jid, "--duration", "0.2")
        try:
            calling = caller.wait_for("calling...")
            in_progress = caller.wait_for("call in progress")
            assert in_progress - calling < 1.0, in_progress - calling
            assert caller.finish(20) == ExitCode.OK, caller.err[-2000:]
            assert callee.finish(20) == ExitCode.OK, callee.err[-2000:]
        finally:
            caller.popen.kill()
            callee.popen.kill()
        hole.settimeout(1.0)
        assert hole.recv(2048)  # the STUN server was asked
    finally:
        hole.close()


def test_a_bad_server_spec_is_a_usage_error(accounts: dict[str, Account], server: str,
                                            ca_file: Path) -> None:
    t0 = time.monotonic()
    proc = start("alice", accounts["alice"], server, ca_file, "--turn", "user@host", "listen")
    assert proc.finish(20) == ExitCode.USAGE
    assert "Error: invalid TURN server 'user@host': credentials are USER:PASS@" in proc.err
    assert time.monotonic() - t0 < 5
