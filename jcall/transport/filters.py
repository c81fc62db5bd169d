"""Which remote candidate addresses jcall may send connectivity checks to, and which
datagrams are the peer's media. Pure.

Every remote candidate makes jcall send checks there, so a caller can aim jcall's
checks at third parties (the STUN amplification and "voice hammer" attacks of ICE's
security considerations, RFC 8445 section 19) or at services on jcall's own machine.
So addresses that can be nobody's media endpoint are never checked: unspecified
(0.0.0.0/8, ::), multicast, the limited broadcast 255.255.255.255 and the reserved
240.0.0.0/4; and loopback and link-local ones only where the user allowed them
(``--ice-loopback``, or a loopback or link-local ``--ice-address``). IPv4-mapped IPv6
addresses are judged as the IPv4 address they carry. The count of candidates per
session is bounded where they arrive (``signaling/session.py``).

A port that jcall advertised is open to anyone who learned it, so a datagram is media
only when it comes from where the checks proved the peer to be (the model is pion/ice's
``handleInboundPacket``, and RFC 8445 section 11: media flows on the selected pair):
before a pair is selected, from a remote address that answered or sent an
authenticated check on that local socket; once one is, from the selected pair alone.
Everything else is counted and never decoded, so a stray packet can neither be played
nor make the receiver latch onto its SSRC (:class:`MediaGate`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from ..signaling.model import Candidate


@dataclass(frozen=True)
class AddressPolicy:
    """Which kinds of local and remote addresses candidates may use."""

    allow_loopback: bool = False
    allow_link_local: bool = False

    @classmethod
    def for_local(cls, addresses: Iterable[str] | None, loopback: bool = False
                  ) -> AddressPolicy:
        """What the user's own choices allow: ``--ice-loopback``, and the kinds of
        address named by ``--ice-address`` (one who binds to loopback talks to it)."""
        ips = [ipaddress.ip_address(a) for a in addresses or ()]
        return cls(allow_loopback=loopback or any(ip.is_loopback for ip in ips),
                   allow_link_local=any(ip.is_link_local for ip in ips))


def refusal(address: str, policy: AddressPolicy) -> str | None:
    """Why ``address`` must not be checked, or None when it may be."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified or (ip.version == 4 and ip in _THIS_NETWORK):
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip.version == 4 and ip == _BROADCAST:
        return "broadcast"
    if ip.is_loopback:
        return None if policy.allow_loopback else "loopback"
    if ip.is_link_local:
        return None if policy.allow_link_local else "link-local"
    if ip.version == 4 and ip in _RESERVED:
        return "reserved"
    return None


def checkable(candidates: Iterable[Candidate], policy: AddressPolicy
              ) -> tuple[list[Candidate], list[tuple[Candidate, str]]]:
    """(the candidates that may be checked, the others with the reason)."""
    kept: list[Candidate] = []
    refused: list[tuple[Candidate, str]] = []
    for cand in candidates:
        why = refusal(cand.address, policy)
        if why is None:
            kept.append(cand)
        else:
            refused.append((cand, why))
    return kept, refused


Source = tuple[Hashable, tuple[str, int]]  # (the local socket, the remote address)


@dataclass
class MediaGate:
    """Whether a datagram that is not STUN may be the peer's media, by where it came
    from: a local socket (anything hashable that names it) and a remote address."""

    validated: set[Source] = field(default_factory=set)
    selected: Source | None = None
    stray: int = 0  # datagrams refused

    def validate(self, local: Hashable, remote: tuple[str, int]) -> None:
        """A check on this pair succeeded, or an authenticated one came over it."""
        self.validated.add((local, remote))

    def select(self, local: Hashable, remote: tuple[str, int]) -> None:
        self.selected = (local, remote)
        self.validated.add(self.selected)

    def admits(self, local: Hashable, remote: tuple[str, int]) -> bool:
        source = (local, remote)
        if source == self.selected or (self.selected is None and source in self.validated):
            return True
        self.stray += 1
        return False


_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_BROADCAST = ipaddress.ip_address("255.255.255.255")
_RESERVED = ipaddress.ip_network("240.0.0.0/4")
