"""Datagrams from anyone who learns a port: RTP sprayed at every UDP port of a real
jcall from before its call connects until it ends (issue 12, item 2). Only the
peer's validated address is media: the call stays sample-exact."""

from __future__ import annotations

import json
import os
import pty
import re
import socket
import threading
import time
from pathlib import Path

import numpy as np

from jcall.audio.codecs import ULAW_TABLE, ulaw_encode
from jcall.audio.files import write_wav
from jcall.errors import ExitCode
from jcall.rtp.packet import RtpPacket

from .jcallproc import Account, start
from .test_call import STANZA_TIMEOUT
from .test_media import received, speechlike

RATE = 8000


def udp_ports(pid: int) -> set[tuple[str, int]]:
    """The IPv4 UDP addresses the process ``pid`` has bound (from /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if m := re.fullmatch(r"socket:\[(\d+)\]", link):
            inodes.add(m.group(1))
    bound = set()
    with open(f"/proc/{pid}/net/udp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ip_hex, port_hex = fields[1].split(":")
                ip = socket.inet_ntoa(bytes.fromhex(ip_hex)[::-1])
                bound.add((ip, int(port_hex, 16)))
    return bound


class Sprayer:
    """Loud PCMU from a stranger's socket at each of the victim's ports: one lone
    packet, then a flood, with an SSRC of its own."""

    def __init__(self, pid: int) -> None:
        self.pid, self.sent = pid, 0
        self._stop = threading.Event()
        self._socks: dict[str, socket.socket] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sprayer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self._socks.values():
            sock.close()

    def _send(self, target: tuple[str, int], seq: int) -> None:
        ip = "127.0.0.1" if target[0] == "0.0.0.0" else target[0]
        sock = self._socks.get(ip)
        if sock is None:
            sock = self._socks[ip] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((ip, 0))
        packet = RtpPacket(0, seq & 0xFFFF, 160 * seq, 0xBAD0BAD, bytes(160))  # 0: loudest
        try:
            sock.sendto(bytes(packet), (ip, target[1]))
            self.sent += 1
        except OSError:
            pass  # the port closed meanwhile

    def _run(self) -> None:
        seq = 0
        while not self._stop.is_set():
            try:
                ports = udp_ports(self.pid)
            except OSError:
                return  # it exited
            for target in ports:
                self._send(target, seq)
            seq += 1
            time.sleep(0.005)


def test_rtp_from_a_stranger_is_never_played(tmp_path: Path, accounts: dict[str, Account],
                                             server: str, ca_file: Path) -> None:
    seconds = 3.0
    a_in = speechlike(seconds, RATE, 1)
    write_wav(tmp_path / "a.wav", a_in, RATE)
    write_wav(tmp_path / "b.wav", speechlike(seconds, RATE, 2), RATE)
    bob = Account(f"{accounts['bob'].jid}/strays", accounts["bob"].password)
    master, slave = pty.openpty()
    caller = None
    callee = start("bob", bob, server, ca_file, "--stats-json", str(tmp_path / "b.json"),
                   "listen", "--once", stdin=slave, audio=(
                       "--input", str(tmp_path / "b.wav"),
                       "--output", str(tmp_path / "b_got.wav")))
    try:
        callee.wait_for("logged in...")
        with Sprayer(callee.popen.pid) as sprayer:
            # (Gingle: a session, and so sockets, exist while it rings; XEP-0353 rings
            # before there is a session, with no socket for a stranger to hit)
            caller = start("alice", accounts["alice"], server, ca_file, "--codec", "PCMU",
                           "--signaling", "gingle", "dial", bob.jid,
                           "--duration", str(seconds + 0.6), audio=(
                               "--input", str(tmp_path / "a.wav"), "--discard"))
            # Ringing: alice is bob's contact, so the callee's sockets are open and
            # checked; the stranger's packets reach them long before the call connects.
            callee.wait_for_prompt("accept? [y/N] ", STANZA_TIMEOUT)
            time.sleep(0.5)
            before = sprayer.sent
            os.write(master, b"y\n")
            assert caller.finish() == ExitCode.OK, caller.err
            assert callee.finish() == ExitCode.OK, callee.err
            during = sprayer.sent - before
    finally:
        os.close(master)
        os.close(slave)
        for proc in (callee, caller):
            if proc is not None and proc.popen.poll() is None:
                proc.popen.kill()
    assert before >= 50 and during >= 500, (before, during)
    stats = json.loads((tmp_path / "b.json").read_text())["received"]
    got = received(tmp_path / "b_got.wav")
    g711 = ULAW_TABLE[ulaw_encode(a_in[:, 0])].reshape(-1, 1)
    assert np.array_equal(got[:len(g711)], g711), stats
    assert stats["concealed_ms"] == 0, stats
    assert stats["foreign"] == 0 and stats["ssrc_changes"] == 0, stats
    assert stats["stray"] >= 0.5 * (before + during), stats
