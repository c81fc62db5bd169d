"""What the phone, its calls and its XMPP client have to tell the user: typed events.

The orchestration (``xmpp/client.py``, ``phone.py``, ``call.py``) emits these and
prints nothing; a reporter (``reporters.py``) presents them: today's status lines
(gingle.md part D), the live status line, the statistics file, the call console
(ARCHITECTURE.md section 4).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .transport.events import PathInfo

# -- the account ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Connecting:
    """The connection to the XMPP server is being made."""


@dataclass(frozen=True)
class LoggingIn:
    """Connected; TLS and authentication follow."""


@dataclass(frozen=True)
class LoggedIn:
    """Authenticated and bound (RFC 6120 section 7) as ``jid``; presence sent."""

    jid: str


@dataclass(frozen=True)
class LoggedOut:
    """Logged out: by us (``reason`` None) or by losing the server for good."""

    reason: str | None = None


@dataclass(frozen=True)
class ServerLost:
    """The connection dropped; calls go on while it is being re-established."""

    reason: str


@dataclass(frozen=True)
class Reconnected:
    """Back on the server after an outage."""

    resumed: bool  # XEP-0198 resumed the stream (else a new session was bound)


@dataclass(frozen=True)
class StanzaLog:
    """Text for the ``-d`` stanza log (libjingle's debug format)."""

    text: str


@dataclass(frozen=True)
class RosterChange:
    """A contact became callable (``added``) or stopped being."""

    jid: str
    added: bool


@dataclass(frozen=True)
class FoundFriend:
    """A bare JID resolved to this callable resource."""

    jid: str


# -- one call ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calling:
    """Our call to ``peer`` went out."""

    peer: str


@dataclass(frozen=True)
class Ringing:
    """The callee's device rings."""

    peer: str


@dataclass(frozen=True)
class Incoming:
    """A call (or a XEP-0353 proposal) from ``peer`` rings here; ``asking``: the user
    is about to be asked whether to take it."""

    peer: str
    asking: bool = False


class Refusal(enum.Enum):
    BUSY = "busy"
    NO_CODEC = "no codec in common"
    NO_TERMINAL = "not a terminal to ask on"
    UNANSWERED = "not answered"


@dataclass(frozen=True)
class Refused:
    """An incoming call refused without the user saying so."""

    peer: str
    why: Refusal


@dataclass(frozen=True)
class TakingCrossing:
    """The one being dialed called us at the same time: its call is the one."""

    peer: str


@dataclass(frozen=True)
class Answered:
    """``peer`` accepted our call."""

    peer: str


@dataclass(frozen=True)
class InProgress:
    """Accepted, with a media path: the call is up."""

    peer: str
    path: PathInfo | None


@dataclass(frozen=True)
class MediaLost:
    """The media path stopped carrying packets (consent or ICE lost it)."""


@dataclass(frozen=True)
class MediaRestored:
    """The media path carries packets again, over ``path``."""

    path: PathInfo


@dataclass(frozen=True)
class NotAnswered:
    """Our call rang out: nobody answered within the ring timeout."""


@dataclass(frozen=True)
class HungUp:
    """The other side ended the call (or gave up while it rang)."""

    peer: str


class Failure(enum.Enum):
    NO_PATH = "no media path"
    PATH_LOST = "media path lost"
    ICE_TIMEOUT = "no ICE path in time"
    UNREACHABLE = "peer unreachable"
    SIGNALLING = "signalling failed"
    MEDIA = "media failed"  # ``detail`` is the whole line (a device or file error)
    SERVER_LOST = "server lost"
    PEER_OFFLINE = "peer went offline"


@dataclass(frozen=True)
class CallFailed:
    """The call with ``peer`` ended in a failure (``why``, with ``detail``)."""

    why: Failure
    peer: str
    detail: str = ""


@dataclass(frozen=True)
class NoAudio:
    """Media runs but nothing arrives; ``google_callee``: the peer is a Google ICE
    libnice callee, which is known not to send (gingle.md part G)."""

    peer: str
    google_callee: bool


@dataclass(frozen=True)
class Snapshot:
    """Live statistics of a call in progress (``MediaSession.snapshot`` plus the path)."""

    peer: str
    stats: dict[str, Any]


@dataclass(frozen=True)
class CallStats:
    """The final statistics of a call that had media."""

    peer: str
    stats: dict[str, Any]


@dataclass(frozen=True)
class Destroyed:
    """The call is over and everything of it released."""

    peer: str


Event = (Connecting | LoggingIn | LoggedIn | LoggedOut | ServerLost | Reconnected | StanzaLog
         | RosterChange | FoundFriend | Calling | Ringing | Incoming | Refused | TakingCrossing
         | Answered | InProgress | MediaLost | MediaRestored | NotAnswered | HungUp
         | CallFailed | NoAudio | Snapshot | CallStats | Destroyed)

Report = Callable[[Event], None]


def ignore(event: Event) -> None:
    """A report that presents nothing (tests, library use)."""
