"""A NAT laboratory of network namespaces (root only): two hosts, each behind its own
NAT, and a "public" namespace holding Prosody and coturn.

::

    h1 10.0.1.2 -- 10.0.1.1 nat1 203.0.113.1 --+
                                                +-- br0 in pub: 203.0.113.10 (Prosody, coturn)
    h2 10.0.2.2 -- 10.0.2.1 nat2 203.0.113.2 --+    sink 203.0.113.254: everyone's default route

The public side uses TEST-NET-3 (RFC 5737), which nothing on this machine routes to;
the sink swallows whatever is sent to an address nobody has (a TURN relay sending to
an unroutable address otherwise loses its allocation, infrastructure.md). Nothing
leaves the namespaces: they have no link to the machine's own interfaces.

NAT kinds (RFC 4787 terms):

- ``CONE``: a home router. Endpoint-independent, port-preserving mapping
  (MASQUERADE), address-and-port-dependent filtering: unsolicited inbound UDP is
  dropped, also before the first outbound packet (plain MASQUERADE would accept it
  and pick a new port for the host's own packets later, breaking hole punching).
- ``SYMMETRIC``: address-and-port-dependent mapping (``MASQUERADE --random-fully``):
  every destination gets a new random port, so only a relay gets through.

Loss: ``iptables -m statistic`` drops a share of the UDP forwarded through a NAT in
both directions (this kernel has no netem).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .prosody import Prosody

SERVER = "203.0.113.10"
SINK = "203.0.113.254"
PUBLIC_PREFIX = 24


class NatKind(Enum):
    CONE = "cone"
    SYMMETRIC = "symmetric"


@dataclass(frozen=True)
class Nat:
    kind: NatKind
    loss_percent: int = 0

    def __str__(self) -> str:
        return self.kind.value + (f"_loss{self.loss_percent}" if self.loss_percent else "")


def available() -> str | None:
    """None when the lab can run here, else why not (for a skip)."""
    if os.geteuid() != 0:
        return "needs root for network namespaces"
    for tool in ("ip", "iptables"):
        if shutil.which(tool) is None:
            return f"needs {tool} (scripts/setup installs it)"
    return None


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, text=True)


class NatLab:
    """Namespaces named ``<prefix>-pub`` etc.; :meth:`destroy` deletes every one it
    made, also after a failure half-way (use it as a context manager)."""

    def __init__(self, prefix: str | None = None) -> None:
        self.prefix = prefix or f"jcnat{os.getpid()}"
        self.made: list[str] = []
        self._hosts: list[str] = []

    def ns(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    @property
    def public(self) -> str:
        return self.ns("pub")

    def host(self, index: int) -> str:
        """The namespace of host 1 or 2."""
        return self.ns(f"h{index}")

    def exec(self, ns: str) -> list[str]:
        """The command prefix that runs a program inside ``ns``."""
        return ["ip", "netns", "exec", ns]

    def _add_ns(self, name: str) -> str:
        ns = self.ns(name)
        _run("ip", "netns", "add", ns)
        self.made.append(ns)
        _run("ip", "-n", ns, "link", "set", "lo", "up")
        return ns

    def _in(self, ns: str, *cmd: str) -> None:
        _run(*self.exec(ns), *cmd)

    # -- the fixed part: public network, servers' namespace, sink -------------------------
    def create(self) -> None:
        pub = self._add_ns("pub")
        _run("ip", "-n", pub, "link", "add", "br0", "type", "bridge")
        _run("ip", "-n", pub, "link", "set", "br0", "up")
        _run("ip", "-n", pub, "addr", "add", f"{SERVER}/{PUBLIC_PREFIX}", "dev", "br0")
        sink = self._add_ns("sink")
        self._wire(sink, "eth0", f"{SINK}/{PUBLIC_PREFIX}", "sink")
        _run("ip", "-n", pub, "route", "add", "default", "via", SINK)

    def _wire(self, ns: str, ifname: str, address: str, port_name: str) -> None:
        """A veth from ``ns`` to the public bridge."""
        pub = self.public
        _run("ip", "link", "add", ifname, "netns", ns, "type", "veth", "peer", "name",
             port_name, "netns", pub)
        _run("ip", "-n", pub, "link", "set", port_name, "master", "br0")
        _run("ip", "-n", pub, "link", "set", port_name, "up")
        _run("ip", "-n", ns, "addr", "add", address, "dev", ifname)
        _run("ip", "-n", ns, "link", "set", ifname, "up")

    # -- a pairing: two NATs and their hosts, made fresh (no conntrack state left) -----
    @contextmanager
    def pairing(self, first: Nat, second: Nat) -> Iterator[None]:
        try:
            for index, nat in ((1, first), (2, second)):
                self._add_site(index, nat)
            yield
        finally:
            self._remove_sites()

    def _add_site(self, index: int, nat: Nat) -> None:
        router = self._add_ns(f"nat{index}")
        host = self._add_ns(f"h{index}")
        self._hosts += [router, host]
        self._wire(router, "wan", f"203.0.113.{index}/{PUBLIC_PREFIX}", f"n{index}")
        _run("ip", "-n", router, "route", "add", "default", "via", SINK)
        _run("ip", "link", "add", "lan", "netns", router, "type", "veth", "peer", "name",
             "eth0", "netns", host)
        _run("ip", "-n", router, "addr", "add", f"10.0.{index}.1/24", "dev", "lan")
        _run("ip", "-n", router, "link", "set", "lan", "up")
        _run("ip", "-n", host, "addr", "add", f"10.0.{index}.2/24", "dev", "eth0")
        _run("ip", "-n", host, "link", "set", "eth0", "up")
        _run("ip", "-n", host, "route", "add", "default", "via", f"10.0.{index}.1")
        self._in(router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        masquerade = ["-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE"]
        if nat.kind is NatKind.SYMMETRIC:
            masquerade.append("--random-fully")
        self._in(router, "iptables", "-w", *masquerade)
        self._in(router, "iptables", "-w", "-A", "INPUT", "-i", "wan", "-p", "udp", "-m",
                 "conntrack", "--ctstate", "NEW", "-j", "DROP")
        self._in(router, "iptables", "-w", "-A", "FORWARD", "-i", "wan", "-m", "conntrack",
                 "--ctstate", "NEW", "-j", "DROP")
        if nat.loss_percent:
            self._in(router, "iptables", "-w", "-I", "FORWARD", "-p", "udp", "-m",
                     "statistic", "--mode", "random", "--probability",
                     f"{nat.loss_percent / 100:.4f}", "-j", "DROP")

    def _remove_sites(self) -> None:
        # The bridge ports first: a namespace's veths vanish some time after it is
        # deleted, and the next pairing reuses their names.
        for index in (1, 2):
            if self.public in self.made:
                subprocess.run(["ip", "-n", self.public, "link", "del", f"n{index}"],
                               check=False, capture_output=True)
        for ns in reversed(self._hosts):
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
            if ns in self.made:
                self.made.remove(ns)
        self._hosts = []

    def destroy(self) -> None:
        self._remove_sites()
        for ns in reversed(self.made):
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
        self.made = []

    def __enter__(self) -> NatLab:
        try:
            self.create()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()


@contextmanager
def public_servers(lab: NatLab, directory: Path, accounts: dict[str, str]
                   ) -> Iterator[Prosody]:
    """coturn (REST credentials) and Prosody handing it out by XEP-0215, both in the
    lab's public namespace on ``SERVER``; stopped (by PID) on leaving."""
    from .coturn import Coturn
    from .prosody import Prosody

    with Coturn(directory / "coturn", secret=secrets.token_hex(16), ip=SERVER,
                netns=lab.public) as turn, \
            Prosody(directory / "prosody", domain="nat.jcall.test", accounts=accounts,
                    extra_modules=["external_services"], extra_config=turn.external_services(),
                    interface=SERVER, port=5222, netns=lab.public) as server:
        yield server


def wait_in(ns: str, probe: str, timeout: float) -> bool:
    """Run the Python ``probe`` (a loop of its own, exit 0 when ready) inside ``ns``."""
    result = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", probe],
                            capture_output=True, timeout=timeout + 5)
    return result.returncode == 0


def tcp_probe(host: str, port: int, timeout: float) -> str:
    return (
        "import socket, sys, time\n"
        f"end = time.monotonic() + {timeout}\n"
        "while time.monotonic() < end:\n"
        "    try:\n"
        f"        socket.create_connection(({host!r}, {port}), timeout=0.2).close()\n"
        "        sys.exit(0)\n"
        "    except OSError:\n"
        "        time.sleep(0.02)\n"
        "sys.exit(1)\n")


def stun_probe(addr: tuple[str, int], timeout: float) -> str:
    """Exit 0 once a STUN Binding request (RFC 8489 section 5) to ``addr`` is answered."""
    return (
        "import os, socket, struct, sys, time\n"
        f"end = time.monotonic() + {timeout}\n"
        "while time.monotonic() < end:\n"
        "    txid = os.urandom(12)\n"
        "    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:\n"
        "        s.settimeout(0.1)\n"
        f"        s.sendto(struct.pack('!HHI', 1, 0, 0x2112A442) + txid, {addr!r})\n"
        "        try:\n"
        "            if s.recv(2048)[8:20] == txid:\n"
        "                sys.exit(0)\n"
        "        except OSError:\n"
        "            time.sleep(0.02)\n"
        "sys.exit(1)\n")
