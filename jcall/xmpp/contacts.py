"""Which contacts can take a call, and in which dialect: pure bookkeeping of presence
and voice capability.

A resource is *callable* when its presence is available and it advertises voice:
Google voice through the legacy caps ``ext="voice-v1"`` (Google Talk, libjingle,
libpurple) or the ``http://www.google.com/xmpp/protocol/voice/v1`` disco feature
(gingle.md parts D and E; XEP-0115 section 1.2 for the legacy ``ext`` form), or
Jingle RTP audio over ICE-UDP by the disco features of XEP-0167 section 11 and
XEP-0176 section 12 (learned through XEP-0115 hashed caps).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

from ..signaling.model import Dialect

VOICE_EXT = "voice-v1"
VOICE_FEATURE = "http://www.google.com/xmpp/protocol/voice/v1"
# What a Jingle audio call needs of the peer (XEP-0166 section 11, XEP-0167 section 11,
# XEP-0176 section 12).
JINGLE_FEATURES = ("urn:xmpp:jingle:1", "urn:xmpp:jingle:apps:rtp:1",
                   "urn:xmpp:jingle:apps:rtp:audio", "urn:xmpp:jingle:transports:ice-udp:1")


def dialects_of(features: frozenset[str] | set[str], exts: list[str] | None = None
                ) -> frozenset[Dialect]:
    """The dialects a resource's disco features (and legacy caps exts) show."""
    out = set()
    if VOICE_FEATURE in features or VOICE_EXT in (exts or []):
        out.add(Dialect.GINGLE)
    if all(f in features for f in JINGLE_FEATURES):
        out.add(Dialect.JINGLE)
    return frozenset(out)


class Change(Enum):
    ADDED = auto()
    REMOVED = auto()


@dataclass(frozen=True)
class Resource:
    """One online resource of a contact, as its presence described it."""

    jid: str
    priority: int
    seen: int  # order of arrival; later presence wins ties
    status: str = ""
    dialects: frozenset[Dialect] = frozenset({Dialect.GINGLE})


def bare(jid: str) -> str:
    return jid.split("/", 1)[0]


class Contacts:
    """Callable resources by bare JID."""

    def __init__(self) -> None:
        self._callable: dict[str, Resource] = {}
        self._counter = 0

    def available(self, jid: str, *, dialects: frozenset[Dialect], priority: int = 0,
                  status: str = "") -> Change | None:
        """A presence (or a disco answer) for full ``jid`` showing ``dialects``; returns
        what changed."""
        was = jid in self._callable
        if not dialects:
            return self.unavailable(jid)
        self._counter += 1
        self._callable[jid] = Resource(jid, priority, self._counter, status, dialects)
        return None if was else Change.ADDED

    def dialects(self, jid: str) -> frozenset[Dialect]:
        """What the callable resource ``jid`` speaks (nothing if it is not callable)."""
        res = self._callable.get(jid)
        return res.dialects if res is not None else frozenset()

    def unavailable(self, jid: str) -> Change | None:
        return Change.REMOVED if self._callable.pop(jid, None) else None

    def is_callable(self, jid: str) -> bool:
        return jid in self._callable

    def callable(self) -> list[Resource]:
        return sorted(self._callable.values(), key=lambda r: r.jid)

    def best(self, bare_jid: str) -> str | None:
        """The callable resource of ``bare_jid`` with the highest priority, the most
        recently seen among equals; None when it has none."""
        mine = [r for r in self._callable.values() if bare(r.jid) == bare_jid]
        if not mine:
            return None
        return max(mine, key=lambda r: (r.priority, r.seen)).jid
