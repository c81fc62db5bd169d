"""Events the pure session core hands to the orchestrator (which ``match``es them)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .model import Candidate, Info, Message, PayloadType, Reason


class EndCause(Enum):
    """Why a session ended."""

    LOCAL_HANGUP = "local-hangup"
    LOCAL_REJECT = "local-reject"
    REMOTE_HANGUP = "remote-hangup"
    REMOTE_REJECT = "remote-reject"
    TIMEOUT = "timeout"
    ERROR_REPLY = "error-reply"
    CROSSED = "crossed"  # the peer called us as we called it, and its call won


@dataclass(frozen=True)
class Outgoing:
    """A message to send as ``<iq type="set">`` to ``to`` (in the session's dialect);
    ``tag`` identifies its reply."""

    tag: int
    to: str
    message: Message
    needs_reply: bool


@dataclass(frozen=True)
class IncomingCall:
    """``peer`` calls us, offering ``payloads``."""

    peer: str
    payloads: tuple[PayloadType, ...]


@dataclass(frozen=True)
class RemoteCandidates:
    """The peer sent transport candidates."""

    candidates: tuple[Candidate, ...]


@dataclass(frozen=True)
class CallAccepted:
    """The peer accepted, choosing ``payloads``."""

    payloads: tuple[PayloadType, ...]


@dataclass(frozen=True)
class PeerInfo:
    """The peer announced a change of its call state (ringing, mute...)."""

    info: Info


@dataclass(frozen=True)
class SessionEnded:
    """``reason``: the reason of a terminate or reject (either side's); ``condition``:
    the XMPP error condition of the reply that ended the session (ERROR_REPLY)."""

    cause: EndCause
    reason: Reason | None = None
    detail: str = ""
    condition: str | None = None


Event = IncomingCall | RemoteCandidates | CallAccepted | PeerInfo | SessionEnded
