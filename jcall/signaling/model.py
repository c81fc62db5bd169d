"""Signalling as values that belong to neither dialect (shared/ARCHITECTURE.md section 2).

The session machine (``session.py``) reads and writes only these; ``gingle.py`` and
``jingle.py`` translate them to and from their XML. The vocabulary is XEP-0166's where
the two dialects agree in meaning (actions, reasons) and RFC 8445's for candidates,
which both dialects carry: Gingle's p2p ``preference`` becomes an RFC priority, and
Jingle's per-transport ``ufrag``/``pwd`` is copied to each candidate, as Gingle has it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, StrEnum, auto


class Dialect(Enum):
    """Which signalling a session speaks: Google's session protocol or XEP-0166."""

    GINGLE = "gingle"
    JINGLE = "jingle"


class SignalingMode(Enum):
    """``--signaling``: a dialect, or each peer's (Jingle where it has both)."""

    AUTO = "auto"
    GINGLE = "gingle"
    JINGLE = "jingle"

    @property
    def dialects(self) -> frozenset[Dialect]:
        """What jcall advertises and answers in this mode."""
        if self is SignalingMode.AUTO:
            return frozenset(Dialect)
        return frozenset({Dialect(self.value)})


class Action(Enum):
    """What a message does. Gingle's ``candidates`` is ``TRANSPORT_INFO`` in its bare
    form (:attr:`Message.bare_candidates`); Jingle's ``session-terminate`` before an
    accept is read as ``TERMINATE`` and written for ``REJECT``."""

    INITIATE = auto()
    ACCEPT = auto()
    REJECT = auto()
    TERMINATE = auto()
    INFO = auto()
    TRANSPORT_INFO = auto()
    TRANSPORT_ACCEPT = auto()
    OTHER = auto()  # an action jcall does not follow: refused once the session is known


class Reason(StrEnum):
    """Why a session ends (XEP-0166 section 7.4 names; each codec maps its own)."""

    SUCCESS = "success"
    DECLINE = "decline"
    BUSY = "busy"
    CANCEL = "cancel"
    GONE = "gone"
    INCOMPATIBLE_PARAMETERS = "incompatible-parameters"
    CONNECTIVITY_ERROR = "connectivity-error"
    FAILED_TRANSPORT = "failed-transport"
    FAILED_APPLICATION = "failed-application"
    MEDIA_ERROR = "media-error"
    TIMEOUT = "timeout"
    EXPIRED = "expired"
    UNSUPPORTED_APPLICATIONS = "unsupported-applications"
    GENERAL_ERROR = "general-error"


def reason_named(name: str) -> Reason:
    """The reason of a XEP-0166 condition name; one jcall does not know is a general
    error (the session ends all the same)."""
    try:
        return Reason(name)
    except ValueError:
        return Reason.GENERAL_ERROR


class Info(StrEnum):
    """Call state a peer announces mid-session (XEP-0167 section 7)."""

    RINGING = "ringing"
    ACTIVE = "active"
    MUTE = "mute"
    UNMUTE = "unmute"
    HOLD = "hold"
    UNHOLD = "unhold"
    UNKNOWN = "unknown"  # a payload this side does not know: refused (unsupported-info)


class Fault(Enum):
    """Why a peer's message is refused; each dialect answers with its own stanza error
    (``gingle.ERRORS``, ``jingle.ERRORS``)."""

    MALFORMED = auto()
    UNKNOWN_SESSION = auto()
    OUT_OF_ORDER = auto()
    TIE_BREAK = auto()
    UNSUPPORTED = auto()  # an action or form jcall does not follow
    UNSUPPORTED_INFO = auto()
    NOT_ACCEPTABLE = auto()  # well-formed, but past what jcall takes (e.g. too many candidates)


class CandidateType(StrEnum):
    """RFC 8445 section 5.1.1 candidate types."""

    HOST = "host"
    SRFLX = "srflx"
    PRFLX = "prflx"
    RELAY = "relay"


RTP_COMPONENT = 1  # RFC 8445 section 4: component 1 is RTP; jcall sends no separate RTCP
TYPE_PREFERENCE = {CandidateType.HOST: 126, CandidateType.PRFLX: 110,
                   CandidateType.SRFLX: 100, CandidateType.RELAY: 0}
LOCAL_PREF_MAX = 65535


def priority(ctype: CandidateType, local: float = 1.0, component: int = RTP_COMPONENT) -> int:
    """RFC 8445 section 5.1.2.1, with the local preference given as a fraction of its
    range (Gingle's p2p ``preference`` is one)."""
    local_pref = max(0, min(LOCAL_PREF_MAX, round(local * LOCAL_PREF_MAX)))
    return (1 << 24) * TYPE_PREFERENCE[ctype] + (1 << 8) * local_pref + (256 - component)


def local_preference(priority: int) -> float:
    """The local preference of an RFC 8445 priority, as a fraction (:func:`priority`)."""
    return ((priority >> 8) & LOCAL_PREF_MAX) / LOCAL_PREF_MAX


@dataclass(frozen=True)
class Credentials:
    """ICE username fragment and password (RFC 8445 section 5.3)."""

    ufrag: str
    pwd: str


@dataclass(frozen=True)
class Candidate:
    """One transport address of a peer (RFC 8445 section 5.1), with the credentials
    that checks to it use. ``network`` is libjingle's interface index."""

    address: str
    port: int
    ufrag: str = ""
    pwd: str = ""
    type: CandidateType = CandidateType.HOST
    component: int = RTP_COMPONENT
    protocol: str = "udp"
    priority: int = 0
    foundation: str = ""
    generation: int = 0
    network: int = 0
    related: tuple[str, int] | None = None

    @property
    def credentials(self) -> Credentials:
        return Credentials(self.ufrag, self.pwd)


@dataclass(frozen=True)
class PayloadType:
    """An RTP payload type offered or answered (Gingle's phone ``<payload-type>``,
    XEP-0167 section 5)."""

    id: int
    name: str = ""
    clockrate: int = 0
    bitrate: int = 0
    channels: int = 1


@dataclass(frozen=True)
class Message:
    """One signalling message of a session.

    ``payloads`` is None when the message carries no description, an empty tuple for
    an empty one (an old Google Talk client). ``credentials`` is the sender's ICE
    credentials where the dialect carries them apart from candidates (Jingle).
    ``content`` names the one audio stream (Jingle's content name; Gingle has none).
    ``initiator`` is None where the dialect leaves it out (Jingle after the initiate).
    """

    action: Action
    sid: str
    initiator: str | None
    payloads: tuple[PayloadType, ...] | None = None
    has_transport: bool = False
    credentials: Credentials | None = None
    candidates: tuple[Candidate, ...] = field(default=())
    bare_candidates: bool = False  # Gingle's compatibility form ("candidates" messages)
    reason: Reason | None = None
    info: tuple[Info, ...] = ()
    content: str | None = None
