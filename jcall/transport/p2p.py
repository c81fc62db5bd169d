"""Gingle p2p candidates <-> ICE candidates (gingle.md A.5, A.6 and F).

jcall speaks RFC 8445 ICE inside the p2p transport: every candidate carries the same
ICE ufrag in ``username`` and pwd in ``password``. A peer whose candidates carry
*different* usernames speaks Google ICE (one credential per port, no
MESSAGE-INTEGRITY), which aioice cannot do; that is detected here and reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..signaling.gingle import Candidate

# Gingle candidate type <-> RFC 8445 candidate type, and libjingle's preferences.
GINGLE_TO_ICE = {"local": "host", "stun": "srflx", "relay": "relay"}
ICE_TO_GINGLE = {v: k for k, v in GINGLE_TO_ICE.items()}
PREFERENCE = {"host": 1.0, "srflx": 0.9, "relay": 0.5, "prflx": 0.9}
LOCAL_PREF_MAX = 65535  # RFC 8445 section 5.1.2.1


class GoogleIceError(ValueError):
    """The peer's candidates use per-candidate credentials (Google ICE)."""


@dataclass(frozen=True)
class IceCredentials:
    ufrag: str
    pwd: str


@dataclass(frozen=True)
class IceCandidateSpec:
    """What aioice needs to build a remote candidate."""

    host: str
    port: int
    type: str
    priority: int


def remote_credentials(candidates: list[Candidate] | tuple[Candidate, ...],
                       known: IceCredentials | None) -> IceCredentials | None:
    """The peer's ICE credentials, consistent across all its candidates.

    Raises GoogleIceError when a candidate carries other credentials than the rest.
    """
    creds = known
    for cand in candidates:
        mine = IceCredentials(cand.username, cand.password)
        if creds is None:
            creds = mine
        elif mine != creds:
            raise GoogleIceError(
                f"candidate {cand.address}:{cand.port} has username {cand.username!r}, "
                f"others {creds.ufrag!r}: the peer speaks Google ICE")
    return creds


def ice_type(gingle_type: str) -> str:
    """RFC 8445's name for a Gingle candidate type (an unknown one as it is)."""
    return GINGLE_TO_ICE.get(gingle_type, gingle_type)


def usable(cand: Candidate) -> bool:
    """jcall carries one RTP component over UDP; other candidates are ignored."""
    return cand.name == "rtp" and cand.protocol == "udp" and cand.type in GINGLE_TO_ICE


def priority(ice_type: str, preference: float, component: int = 1) -> int:
    """RFC 8445 section 5.1.2.1, with the p2p preference as the local preference."""
    type_pref = {"host": 126, "prflx": 110, "srflx": 100, "relay": 0}[ice_type]
    local_pref = max(0, min(LOCAL_PREF_MAX, round(preference * LOCAL_PREF_MAX)))
    return (1 << 24) * type_pref + (1 << 8) * local_pref + (256 - component)


def to_ice(cand: Candidate) -> IceCandidateSpec:
    ice_type = GINGLE_TO_ICE[cand.type]
    return IceCandidateSpec(cand.address, cand.port, ice_type, priority(ice_type, cand.preference))


def to_gingle(host: str, port: int, ice_type: str, creds: IceCredentials,
              network: int) -> Candidate:
    return Candidate(
        address=host, port=port, username=creds.ufrag, password=creds.pwd, name="rtp",
        preference=PREFERENCE.get(ice_type, 0.5), protocol="udp", generation=0,
        type=ICE_TO_GINGLE.get(ice_type, "local"), network=network,
    )
