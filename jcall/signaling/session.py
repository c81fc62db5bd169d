"""The Google session state machine, as a table (gingle.md parts A and E).

Theory of operation
-------------------
A :class:`Session` is one call's signalling, pure: messages and local decisions go in
with the current time, and out come :class:`~.events.Outgoing` messages (to be sent as
``<iq type="set">``) and events for the orchestrator. Every state change is looked up in
``TRANSITIONS`` keyed by (role, state, input); a remote input with no entry raises
:class:`RemoteProtocolError` with ``not-allowed`` (the caller answers the iq with it), a
local input with no entry raises :class:`LocalProtocolError`.

Besides the table the session keeps three pieces of bookkeeping:

* **dialect** -- ``STANDARD`` (libjingle 0.4: ``transport-info``/``transport-accept``) or
  ``COMPAT`` (``candidates`` messages, no ``transport-accept``), decided by the peer:
  an ``initiate`` without ``<transport>`` or a ``candidates`` message before any
  ``transport-accept`` switches to ``COMPAT``; candidates already sent are re-sent.
* **held candidates** -- the initiator keeps its candidates until the ``initiate`` is
  acknowledged, since a server may reorder stanzas to the peer.
* **pending replies** -- every message whose failure ends the session (``initiate``,
  ``accept``, ``reject``, ``terminate``, ``info``) must get a result within
  ``REPLY_TIMEOUT_S``; errors and silence for ``transport-*``/``candidates`` are ignored,
  as libjingle does, because libpurple never answers them.

Glare -- two parties calling each other at once -- is settled where initiates arrive
(:class:`SessionManager`) by XEP-0166 section 7.2.16's tie-break, which needs no
extra message and gives both sides the same answer: the initiate with the lower
session id (compared as octets), or for equal ids the one from the lower JID, stands.
Its recipient takes it and its own session yields (``YIELD``); the other side answers
the losing initiate with ``conflict``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum, auto

from ..errors import LocalProtocolError, RemoteProtocolError
from .events import (
    CallAccepted,
    EndCause,
    Event,
    IncomingCall,
    Outgoing,
    RemoteCandidates,
    SessionEnded,
)
from .gingle import Candidate, MessageType, PayloadType, Reason, SessionMessage

log = logging.getLogger(__name__)

REPLY_TIMEOUT_S = 15.0  # libjingle's session timeout for unanswered iqs
IGNORED_AFTER_S = 1.0  # a best-effort message unanswered this long was ignored
# Each remote candidate costs checks sent wherever it points: a bound per component
# (candidate name) and session, beyond which the message is refused, not checked.
MAX_REMOTE_CANDIDATES = 20

# An empty <description> comes from an old Google Talk client (gingle.md part E).
OLD_GTALK_PAYLOADS = (
    PayloadType(id=103, name="ISAC", clockrate=16000),
    PayloadType(id=0, name="PCMU", clockrate=8000),
)


class Role(Enum):
    INITIATOR = auto()
    RESPONDER = auto()


class State(Enum):
    INIT = auto()
    SENT_INITIATE = auto()
    RECEIVED_INITIATE = auto()
    ACTIVE = auto()
    ENDED = auto()


class Dialect(Enum):
    STANDARD = auto()
    COMPAT = auto()


class Input(Enum):
    SEND_INITIATE = auto()
    SEND_ACCEPT = auto()
    SEND_REJECT = auto()
    SEND_TERMINATE = auto()
    RECV_INITIATE = auto()
    RECV_ACCEPT = auto()
    RECV_REJECT = auto()
    RECV_TERMINATE = auto()
    RECV_TRANSPORT_INFO = auto()
    RECV_CANDIDATES = auto()
    RECV_TRANSPORT_ACCEPT = auto()
    RECV_INFO = auto()
    REPLY_FAILED = auto()  # error reply or no reply to a message that needs one
    YIELD = auto()  # our initiate lost a tie-break to the peer's (glare)

    @property
    def is_remote(self) -> bool:
        return self.name.startswith("RECV_")


_I, _R = Role.INITIATOR, Role.RESPONDER
_LIVE = {_I: (State.SENT_INITIATE, State.ACTIVE), _R: (State.RECEIVED_INITIATE, State.ACTIVE)}


def _build_table() -> dict[tuple[Role, State, Input], State]:
    table = {
        (_I, State.INIT, Input.SEND_INITIATE): State.SENT_INITIATE,
        (_R, State.INIT, Input.RECV_INITIATE): State.RECEIVED_INITIATE,
        (_I, State.SENT_INITIATE, Input.RECV_ACCEPT): State.ACTIVE,
        (_I, State.SENT_INITIATE, Input.RECV_REJECT): State.ENDED,
        (_R, State.RECEIVED_INITIATE, Input.SEND_ACCEPT): State.ACTIVE,
        (_R, State.RECEIVED_INITIATE, Input.SEND_REJECT): State.ENDED,
        (_I, State.SENT_INITIATE, Input.YIELD): State.ENDED,
    }
    for role, states in _LIVE.items():
        for state in states:
            table[(role, state, Input.SEND_TERMINATE)] = State.ENDED
            table[(role, state, Input.RECV_TERMINATE)] = State.ENDED
            table[(role, state, Input.REPLY_FAILED)] = State.ENDED
            for same in (Input.RECV_TRANSPORT_INFO, Input.RECV_CANDIDATES, Input.RECV_INFO):
                table[(role, state, same)] = state
            if role is _I:  # only the responder accepts the transport
                table[(role, state, Input.RECV_TRANSPORT_ACCEPT)] = state
    return table


TRANSITIONS: dict[tuple[Role, State, Input], State] = _build_table()

_RECV_INPUT = {
    MessageType.INITIATE: Input.RECV_INITIATE,
    MessageType.ACCEPT: Input.RECV_ACCEPT,
    MessageType.REJECT: Input.RECV_REJECT,
    MessageType.TERMINATE: Input.RECV_TERMINATE,
    MessageType.TRANSPORT_INFO: Input.RECV_TRANSPORT_INFO,
    MessageType.CANDIDATES: Input.RECV_CANDIDATES,
    MessageType.TRANSPORT_ACCEPT: Input.RECV_TRANSPORT_ACCEPT,
    MessageType.INFO: Input.RECV_INFO,
}

# Messages whose error or missing reply ends the session; the others are best effort.
_REPLY_REQUIRED = {
    MessageType.INITIATE, MessageType.ACCEPT, MessageType.REJECT,
    MessageType.TERMINATE, MessageType.INFO,
}


@dataclass
class _Pending:
    type: MessageType
    deadline: float


def initiate_stands(sid: str, jid: str, other_sid: str, other_jid: str) -> bool:
    """Whether an initiate (``sid`` from ``jid``) overrules one crossing it: the lower
    session id in "i;octet" order (RFC 4790 section 9.3), or for equal ids the lower
    JID (XEP-0166 section 7.2.16)."""
    mine, theirs = sid.encode(), other_sid.encode()
    if mine != theirs:
        return mine < theirs
    return jid.encode() < other_jid.encode()


def _candidate_key(c: Candidate) -> tuple[str, str, int, str]:
    return (c.name, c.address, c.port, c.protocol)


class Session:
    """One Gingle session. Time is always passed in (seconds, any monotonic origin)."""

    def __init__(self, *, role: Role, sid: str, initiator: str, peer: str) -> None:
        self.role = role
        self.sid = sid
        self.initiator = initiator
        self.peer = peer
        self.state = State.INIT
        self.dialect = Dialect.STANDARD
        self.payloads: tuple[PayloadType, ...] = ()
        self._transport_accepted = False
        self._initiate_acked = role is Role.RESPONDER
        self._held: list[Candidate] = []
        self._sent: list[Candidate] = []
        self._remote_seen: set[tuple[str, str, int, str]] = set()
        self._remote_generation = 0
        self._pending: dict[int, _Pending] = {}
        # best-effort messages (candidates, transport-accept) awaiting an answer: sent at
        self._best_effort: dict[int, tuple[MessageType, float]] = {}
        self.candidates_delivered = False  # the peer acknowledged candidates of ours
        self._next_tag = 1
        self._outbox: list[Outgoing] = []
        self._events: list[Event] = []
        self.crossed: Session | None = None  # ours, which this (the peer's) call overruled
        self._yielded = False

    # -- queues ---------------------------------------------------------------------
    def outgoing(self) -> list[Outgoing]:
        """Drain the messages to send, in order."""
        out, self._outbox = self._outbox, []
        return out

    def events(self) -> list[Event]:
        """Drain the events for the orchestrator, in order."""
        out, self._events = self._events, []
        return out

    @property
    def ended(self) -> bool:
        return self.state is State.ENDED

    @property
    def awaiting_replies(self) -> bool:
        """True while a message that needs a reply (e.g. our terminate) has none yet."""
        return bool(self._pending)

    # -- the table ------------------------------------------------------------------
    def _transition(self, inp: Input) -> State:
        key = (self.role, self.state, inp)
        new = TRANSITIONS.get(key)
        if new is None:
            msg = f"{inp.name} not allowed in {self.role.name} {self.state.name}"
            if inp.is_remote:
                raise RemoteProtocolError(msg, condition="not-allowed")
            raise LocalProtocolError(msg, condition="not-allowed")
        if new is not self.state:
            log.debug("session %s: %s -> %s (%s)", self.sid, self.state.name, new.name, inp.name)
        self.state = new
        return new

    def _send(self, mtype: MessageType, now: float, **fields: object) -> None:
        tag, self._next_tag = self._next_tag, self._next_tag + 1
        msg = SessionMessage(type=mtype, sid=self.sid, initiator=self.initiator, **fields)  # type: ignore[arg-type]
        needs_reply = mtype in _REPLY_REQUIRED
        if needs_reply:
            self._pending[tag] = _Pending(mtype, now + REPLY_TIMEOUT_S)
        else:
            self._best_effort[tag] = (mtype, now)
        self._outbox.append(Outgoing(tag=tag, to=self.peer, message=msg, needs_reply=needs_reply))

    def _end(self, cause: EndCause, reason: str | None = None, detail: str = "") -> None:
        self._held.clear()
        self._events.append(SessionEnded(cause=cause, reason=reason, detail=detail))

    # -- local decisions ------------------------------------------------------------
    def initiate(self, payloads: tuple[PayloadType, ...], now: float) -> None:
        """Send ``initiate`` with the phone description and an empty p2p transport."""
        self._transition(Input.SEND_INITIATE)
        self.payloads = payloads
        self._send(MessageType.INITIATE, now, description=payloads, has_transport=True)

    def accept(self, payloads: tuple[PayloadType, ...], now: float) -> None:
        self._transition(Input.SEND_ACCEPT)
        self.payloads = payloads
        self._send(MessageType.ACCEPT, now, description=payloads)

    def reject(self, now: float, reason: str = Reason.DECLINE) -> None:
        self._transition(Input.SEND_REJECT)
        self._send(MessageType.REJECT, now, reason=reason)
        self._end(EndCause.LOCAL_REJECT, reason)

    def terminate(self, now: float, reason: str = Reason.SUCCESS) -> None:
        """Hang up. A no-op on a session that has already ended."""
        if self.state is State.ENDED:
            return
        self._transition(Input.SEND_TERMINATE)
        self._send(MessageType.TERMINATE, now, reason=reason)
        self._end(EndCause.LOCAL_HANGUP, reason)

    def yield_to_peer(self, now: float) -> None:
        """The peer's crossing initiate overruled ours (glare): end without a word,
        since the peer answers ours with ``conflict``; should it take ours after all,
        :meth:`handle_reply` ends it with a terminate."""
        self._transition(Input.YIELD)
        self._yielded = True
        if self._initiate_acked:
            self._send(MessageType.TERMINATE, now, reason=Reason.SUCCESS)
        self._end(EndCause.CROSSED, detail="the peer's crossing call overruled ours")

    def add_local_candidates(self, candidates: list[Candidate], now: float) -> None:
        """Send candidates in the peer's dialect, or hold them until the initiate is acked."""
        if self.state is State.ENDED or not candidates:
            return
        if not self._initiate_acked:
            self._held.extend(candidates)
            return
        self._send_candidates(list(candidates), now)

    def _send_candidates(self, candidates: list[Candidate], now: float) -> None:
        self._sent.extend(candidates)
        if self.dialect is Dialect.COMPAT:
            self._send(MessageType.CANDIDATES, now, candidates=tuple(candidates))
        else:
            self._send(MessageType.TRANSPORT_INFO, now, has_transport=True,
                       candidates=tuple(candidates))

    # -- the peer ---------------------------------------------------------------------
    def receive(self, msg: SessionMessage, sender: str, now: float) -> None:
        """Apply a message from the peer; raises RemoteProtocolError when it is invalid."""
        if (msg.sid, msg.initiator) != (self.sid, self.initiator) or sender != self.peer:
            raise RemoteProtocolError("unknown session", condition="bad-request")
        inp = _RECV_INPUT.get(msg.type)
        if inp is None:  # redirect, update: known, but not something jcall can follow
            raise RemoteProtocolError(f"'{msg.type}' is not supported",
                                      condition="feature-not-implemented")
        if inp is Input.RECV_INITIATE and msg.description is None:
            raise RemoteProtocolError("initiate without a phone description")
        self._check_candidate_count(msg.candidates)
        self._transition(inp)
        self._apply(msg, now)
        self._take_candidates(msg.candidates)

    def _apply(self, msg: SessionMessage, now: float) -> None:
        match msg.type:
            case MessageType.INITIATE:
                self.payloads = msg.description or OLD_GTALK_PAYLOADS
                if msg.has_transport:
                    self._send(MessageType.TRANSPORT_ACCEPT, now, has_transport=True)
                else:
                    self.dialect = Dialect.COMPAT
                self._events.append(IncomingCall(peer=self.peer, payloads=self.payloads))
            case MessageType.ACCEPT:
                self.payloads = msg.description or self.payloads
                self._events.append(CallAccepted(payloads=self.payloads))
            case MessageType.REJECT:
                self._end(EndCause.REMOTE_REJECT, msg.reason)
            case MessageType.TERMINATE:
                self._end(EndCause.REMOTE_HANGUP, msg.reason)
            case MessageType.TRANSPORT_ACCEPT:
                self._transport_accepted = True
            case MessageType.CANDIDATES:
                self._maybe_switch_to_compat(now)

    def _maybe_switch_to_compat(self, now: float) -> None:
        if self.dialect is Dialect.COMPAT or self._transport_accepted:
            return
        log.debug("session %s: peer speaks 'candidates'; switching to compatibility mode", self.sid)
        self.dialect = Dialect.COMPAT
        if self._sent:
            resend, self._sent = self._sent, []
            self._send_candidates(resend, now)

    def _check_candidate_count(self, candidates: tuple[Candidate, ...]) -> None:
        """Refuse a message that would take a component past MAX_REMOTE_CANDIDATES."""
        seen = set(self._remote_seen)
        per_name: dict[str, int] = {}
        for key in seen:
            per_name[key[0]] = per_name.get(key[0], 0) + 1
        for cand in candidates:
            key = _candidate_key(cand)
            if key in seen:
                continue
            seen.add(key)
            per_name[cand.name] = per_name.get(cand.name, 0) + 1
            if per_name[cand.name] > MAX_REMOTE_CANDIDATES:
                raise RemoteProtocolError(
                    f"more than {MAX_REMOTE_CANDIDATES} '{cand.name}' candidates in one "
                    "session", condition="not-acceptable")

    def _take_candidates(self, candidates: tuple[Candidate, ...]) -> None:
        fresh: list[Candidate] = []
        for cand in candidates:
            if cand.generation < self._remote_generation:
                continue  # superseded by a newer generation
            self._remote_generation = cand.generation
            key = _candidate_key(cand)
            if key not in self._remote_seen:
                self._remote_seen.add(key)
                fresh.append(cand)
        if fresh and self.state is not State.ENDED:
            self._events.append(RemoteCandidates(candidates=tuple(fresh)))

    # -- replies and time -------------------------------------------------------------
    def handle_reply(self, tag: int, error: str | None, now: float) -> None:
        """The peer answered message ``tag``: ``error`` is None for a result, else the
        error condition. Errors end the session for the messages that need a reply."""
        pending = self._pending.pop(tag, None)
        if pending is None:
            mtype, _ = self._best_effort.pop(tag, (None, 0.0))
            if error is None and mtype in (MessageType.TRANSPORT_INFO, MessageType.CANDIDATES):
                self.candidates_delivered = True
            if error is not None:
                log.debug("session %s: ignoring '%s' for best-effort message %d",
                          self.sid, error, tag)
            return
        if self._yielded:
            if pending.type is MessageType.INITIATE and error is None:
                self._initiate_acked = True  # (not a tie-breaking peer: end it there too)
                self._send(MessageType.TERMINATE, now, reason=Reason.SUCCESS)
            return
        if error is not None:
            self._fail(EndCause.ERROR_REPLY, f"{pending.type} answered with '{error}'",
                       condition=error)
            return
        if pending.type is MessageType.INITIATE and not self._initiate_acked:
            self._initiate_acked = True
            held, self._held = self._held, []
            if held:
                self._send_candidates(held, now)

    def ignored_messages(self, now: float) -> bool:
        """True when the peer has left a message of ours unanswered for over
        ``IGNORED_AFTER_S`` (libpurple answers no session type it does not handle,
        ``terminate`` included: gingle.md parts E and G)."""
        return any(now - sent > IGNORED_AFTER_S for _, sent in self._best_effort.values())

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` must next be called, or None."""
        return min((p.deadline for p in self._pending.values()), default=None)

    def handle_timer(self, now: float) -> None:
        expired = [t for t, p in self._pending.items() if p.deadline <= now]
        for tag in expired:
            pending = self._pending.pop(tag)
            self._fail(EndCause.TIMEOUT, f"no reply to {pending.type} within "
                       f"{REPLY_TIMEOUT_S:g} s", now=now)

    def _fail(self, cause: EndCause, detail: str, now: float | None = None,
              condition: str | None = None) -> None:
        """End after a failed exchange; ``condition`` is the peer's error condition."""
        if self.state is State.ENDED:
            return
        self._transition(Input.REPLY_FAILED)
        if cause is EndCause.TIMEOUT and now is not None:
            # The peer may merely be slow: tell it the session is gone.
            self._send(MessageType.TERMINATE, now, reason=Reason.GENERAL_ERROR)
            self._pending.clear()
        self._end(cause, condition, detail)


class SessionManager:
    """The sessions of one logged-in client, keyed by (id, initiator) (gingle.md part E)."""

    def __init__(self, local_jid: str) -> None:
        self.local_jid = local_jid
        self.sessions: dict[tuple[str, str], Session] = {}

    def create_outgoing(self, peer: str, sid: str) -> Session:
        session = Session(role=Role.INITIATOR, sid=sid, initiator=self.local_jid, peer=peer)
        self.sessions[(sid, self.local_jid)] = session
        return session

    def receive(self, msg: SessionMessage, sender: str, now: float) -> Session:
        """Route a message to its session (creating one for a new ``initiate``).

        Raises RemoteProtocolError: ``bad-request`` for an unknown session or a sender
        that is not the session's peer, ``not-allowed`` for a message invalid in the
        session's state.
        """
        session = self.sessions.get((msg.sid, msg.initiator))
        if session is None:
            if msg.type is not MessageType.INITIATE:
                raise RemoteProtocolError(f"unknown session {msg.sid}", condition="bad-request")
            if msg.initiator != sender:
                raise RemoteProtocolError("initiator is not the sender", condition="bad-request")
            ours = self._crossing(sender)
            if ours is not None and initiate_stands(ours.sid, self.local_jid, msg.sid, sender):
                raise RemoteProtocolError("our calls crossed, and ours stands (tie-break)",
                                          condition="conflict")
            session = Session(role=Role.RESPONDER, sid=msg.sid, initiator=msg.initiator,
                              peer=sender)
            session.crossed = ours
            session.receive(msg, sender, now)  # may raise before the session is kept
            self.sessions[(msg.sid, msg.initiator)] = session
            if ours is not None:
                ours.yield_to_peer(now)
            return session
        if sender != session.peer:
            raise RemoteProtocolError(f"unknown session {msg.sid}", condition="bad-request")
        session.receive(msg, sender, now)
        return session

    def _crossing(self, peer: str) -> Session | None:
        """Our own initiate to ``peer`` still awaiting an answer, if any (glare)."""
        return next((s for s in self.sessions.values() if s.role is Role.INITIATOR
                     and s.state is State.SENT_INITIATE and s.peer == peer), None)

    def prune(self) -> None:
        """Forget sessions that have ended and expect no more replies."""
        self.sessions = {k: s for k, s in self.sessions.items()
                         if not (s.ended and not s.awaiting_replies)}
