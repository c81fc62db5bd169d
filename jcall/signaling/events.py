"""Events the pure session core hands to the orchestrator (which ``match``es them)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .gingle import Candidate, PayloadType, SessionMessage


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
    """A message to send as ``<iq type="set">`` to ``to``; ``tag`` identifies its reply."""

    tag: int
    to: str
    message: SessionMessage
    needs_reply: bool


@dataclass(frozen=True)
class IncomingCall:
    peer: str
    payloads: tuple[PayloadType, ...]


@dataclass(frozen=True)
class RemoteCandidates:
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True)
class CallAccepted:
    payloads: tuple[PayloadType, ...]


@dataclass(frozen=True)
class SessionEnded:
    """``reason``: the Gingle reason of a terminate/reject, or the XMPP error condition
    of the reply that ended the session (ERROR_REPLY)."""

    cause: EndCause
    reason: str | None = None
    detail: str = ""


Event = IncomingCall | RemoteCandidates | CallAccepted | SessionEnded
