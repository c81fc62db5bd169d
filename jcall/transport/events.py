"""What a media transport reports, as values (pure): the path media takes and the
events of finding, losing and regaining it (shared/ARCHITECTURE.md section 1)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

Address = tuple[str, int]


class IceFlavor(Enum):
    RFC = "RFC ICE"  # RFC 8445, between jcalls and with RFC ICE peers
    GOOGLE = "Google ICE"  # libjingle's p2p checks (gingle.md part F)


class IceMode(Enum):
    """``--ice``: a flavour, or chosen per peer from what it shows."""

    AUTO = "auto"
    RFC = "rfc"
    GOOGLE = "google"


@dataclass(frozen=True)
class PathInfo:
    """The media path: local and remote address with their candidate types."""

    local: Address
    local_type: str  # host, srflx, relay (RFC 8445 names)
    remote: Address
    remote_type: str  # host, srflx, relay, prflx
    flavor: IceFlavor

    def as_dict(self) -> dict[str, str]:
        """For ``--stats-json``: the path's kinds and ends."""
        return {"local": f"{self.local[0]}:{self.local[1]}", "local_type": self.local_type,
                "remote": f"{self.remote[0]}:{self.remote[1]}", "remote_type": self.remote_type,
                "ice": self.flavor.value}

    def __str__(self) -> str:
        return (f"{self.local[0]}:{self.local[1]} ({self.local_type}) -> "
                f"{self.remote[0]}:{self.remote[1]} ({self.remote_type}), {self.flavor.value}")


@dataclass(frozen=True)
class Connected:
    """ICE found a working path."""

    path: PathInfo


@dataclass(frozen=True)
class Failed:
    """No path could be found, or it failed for good."""

    reason: str


@dataclass(frozen=True)
class Lost:
    """The path stopped answering (consent or keepalives, RFC 7675)."""


@dataclass(frozen=True)
class Restored:
    """A lost path answers again."""

    path: PathInfo


TransportEvent = Connected | Failed | Lost | Restored


CANDIDATE_TYPES = ("host", "srflx", "prflx", "relay")  # RFC 8445 section 5.1.1, in order


def no_path(tried: set[str], offered: set[str], unchecked: dict[str, int]) -> str:
    """Why no path: the candidate types each side offered ("tried host, srflx; peer
    offered host"), and how many of the peer's went unchecked, by reason."""
    def names(types: set[str]) -> str:
        return ", ".join(t for t in CANDIDATE_TYPES if t in types) or "nothing"

    text = f"tried {names(tried)}; peer offered {names(offered)}"
    if unchecked:
        text += " (not checked: " + ", ".join(f"{n} {why}" for why, n in
                                               sorted(unchecked.items())) + ")"
    return text
