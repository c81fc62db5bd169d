"""Which contacts can take a call: pure bookkeeping of presence and voice capability.

A resource is *callable* when its presence is available and it advertises voice,
either through the legacy caps ``ext="voice-v1"`` (Google Talk, libjingle, libpurple)
or by the ``http://www.google.com/xmpp/protocol/voice/v1`` disco feature
(gingle.md parts D and E; XEP-0115 section 1.2 for the legacy ``ext`` form).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

VOICE_EXT = "voice-v1"
VOICE_FEATURE = "http://www.google.com/xmpp/protocol/voice/v1"


class Change(Enum):
    ADDED = auto()
    REMOVED = auto()


@dataclass(frozen=True)
class Resource:
    jid: str
    priority: int
    seen: int  # order of arrival; later presence wins ties
    status: str = ""


def bare(jid: str) -> str:
    return jid.split("/", 1)[0]


class Contacts:
    """Callable resources by bare JID."""

    def __init__(self) -> None:
        self._callable: dict[str, Resource] = {}
        self._counter = 0

    def available(self, jid: str, *, voice: bool, priority: int = 0,
                  status: str = "") -> Change | None:
        """A presence (or a disco answer) for full ``jid``; returns what changed."""
        was = jid in self._callable
        if not voice:
            return self.unavailable(jid)
        self._counter += 1
        self._callable[jid] = Resource(jid, priority, self._counter, status)
        return None if was else Change.ADDED

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
