"""The peer's candidates as aioice needs them, and ours as the session sends them
(RFC 8445 section 5.1; gingle.md A.5, A.6 and F). Pure.

jcall speaks RFC 8445 ICE in both dialects: every candidate carries the same ICE
ufrag and pwd (Gingle puts them on each p2p candidate, Jingle on the transport). A
peer whose candidates carry *different* credentials speaks Google ICE (one credential
per port, no MESSAGE-INTEGRITY), which aioice cannot do; that is detected here and
reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..signaling.model import (
    RTP_COMPONENT,
    Candidate,
    CandidateType,
    Credentials,
    local_preference,
    priority,
)

__all__ = ["Credentials", "GoogleIceError", "IceCandidateSpec", "local_candidate",
           "preference", "remote_credentials", "to_ice", "usable"]


class GoogleIceError(ValueError):
    """The peer's candidates use per-candidate credentials (Google ICE)."""


@dataclass(frozen=True)
class IceCandidateSpec:
    """What aioice needs to build a remote candidate."""

    host: str
    port: int
    type: str
    priority: int


def remote_credentials(candidates: Sequence[Candidate],
                       known: Credentials | None) -> Credentials | None:
    """The peer's ICE credentials, consistent across all its candidates.

    Raises GoogleIceError when a candidate carries other credentials than the rest.
    """
    creds = known
    for cand in candidates:
        mine = cand.credentials
        if creds is None:
            creds = mine
        elif mine != creds:
            raise GoogleIceError(
                f"candidate {cand.address}:{cand.port} has username {cand.ufrag!r}, "
                f"others {creds.ufrag!r}: the peer speaks Google ICE")
    return creds


def usable(cand: Candidate) -> bool:
    """jcall carries one RTP component over UDP; other candidates are ignored."""
    return cand.component == RTP_COMPONENT and cand.protocol == "udp"


def preference(cand: Candidate) -> float:
    """A candidate's rank among its type as libjingle's p2p ``preference`` (0..1)."""
    return local_preference(cand.priority)


def to_ice(cand: Candidate) -> IceCandidateSpec:
    prio = cand.priority or priority(cand.type)
    return IceCandidateSpec(cand.address, cand.port, str(cand.type), prio)


def local_candidate(host: str, port: int, ice_type: str, creds: Credentials, network: int,
                    prio: int = 0, foundation: str = "",
                    related: tuple[str, int] | None = None) -> Candidate:
    """One of ours for the session: ``prio`` as the ICE agent computed it (RFC 8445
    section 5.1.2), or the type's with the highest local preference."""
    ctype = CandidateType(ice_type)
    return Candidate(address=host, port=port, ufrag=creds.ufrag, pwd=creds.pwd, type=ctype,
                     priority=prio or priority(ctype), foundation=foundation,
                     network=network, related=related)
