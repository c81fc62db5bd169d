"""A private coturn (STUN/TURN over UDP and TCP) on loopback, with one long-term-credential
user, or with a shared secret for time-limited REST credentials (what Prosody's
``external_services`` hands out, XEP-0215).

Facts behind the config: ../shared/reference/infrastructure.md (coturn section):
always ``-c``; relaying to 127.x needs ``allow-loopback-peers``, which needs ``no-cli``;
no trailing comments on option lines.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import struct
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .ports import free_port
from .process import Service

CONFIG_TEMPLATE = """\
listening-ip={ip}
listening-port={port}
relay-ip={ip}
min-port={min_port}
max-port={max_port}
no-tls
no-dtls
no-cli
{loopback}realm=jcall.test
fingerprint
{auth}
pidfile={dir}/turnserver.pid
userdb={dir}/turndb
log-file=stdout
simple-log
"""


@dataclass
class Coturn(Service):
    directory: Path
    user: str = "jcall"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    secret: str | None = None  # REST credentials (use-auth-secret) instead of the user
    port: int = 0
    ip: str = "127.0.0.1"
    netns: str | None = None  # run inside this network namespace (natlab.py)
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> tuple[str, int]:
        return (self.ip, self.port)

    def external_services(self, ttl: int = 600) -> str:
        """Prosody config pointing its ``external_services`` (XEP-0215) at this server:
        STUN, and TURN with REST credentials from ``secret`` (call after ``start()``)."""
        assert self.secret is not None and self.port, "a started REST-mode coturn"
        where = f'transport = "udp", host = "{self.ip}", port = {self.port}'
        return (f'external_services = {{\n'
                f'  {{ type = "stun", {where} }};\n'
                f'  {{ type = "turn", {where}, secret = "{self.secret}", ttl = {ttl} }};\n}}')

    def start(self, timeout: float = 10.0) -> None:
        if shutil.which("turnserver") is None:
            raise RuntimeError("coturn is not installed (apt-get install coturn)")
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port(socket.SOCK_DGRAM) if self.netns is None else 3478
        # A relay port range of its own per instance (tests may run side by side).
        base = 20000 + (os.getpid() * 97 + self.port) % 30000
        config = self.directory / "turnserver.conf"
        # One auth mode per instance: with both, the secret silently wins.
        auth = (f"use-auth-secret\nstatic-auth-secret={self.secret}" if self.secret
                else f"lt-cred-mech\nuser={self.user}:{self.password}")
        # Relaying to 127.x peers needs allow-loopback-peers (which needs no-cli).
        loopback = "allow-loopback-peers\n" if self.ip.startswith("127.") else ""
        config.write_text(CONFIG_TEMPLATE.format(
            ip=self.ip, port=self.port, min_port=base, max_port=base + 200, auth=auth,
            dir=self.directory, loopback=loopback))
        inside = ["ip", "netns", "exec", self.netns] if self.netns else []
        self.process = subprocess.Popen(
            [*inside, "turnserver", "-c", str(config)], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        if self.netns:
            from .natlab import stun_probe, wait_in
            if not wait_in(self.netns, stun_probe(self.address, timeout), timeout):
                self.stop()
                raise RuntimeError("turnserver did not answer STUN")
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"turnserver exited with {self.process.returncode}")
            if _answers_stun(self.address):
                return
        self.stop()
        raise RuntimeError("turnserver did not answer STUN")


def _answers_stun(addr: tuple[str, int]) -> bool:
    """One STUN Binding request (RFC 8489 section 5); True if it is answered."""
    txid = secrets.token_bytes(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.1)
        sock.sendto(struct.pack("!HHI", 0x0001, 0, 0x2112A442) + txid, addr)
        try:
            data = sock.recv(2048)
        except OSError:
            return False
    return data[8:20] == txid
