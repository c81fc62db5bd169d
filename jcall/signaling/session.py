"""One session machine for both dialects, as a table (gingle.md parts A and E;
XEP-0166 section 6).

Theory of operation
-------------------
A :class:`Session` is one call's signalling, pure: messages of the dialect-neutral
model (``model.py``) and local decisions go in with the current time, and out come
:class:`~.events.Outgoing` messages (to be sent as ``<iq type="set">`` by the dialect's
codec) and events for the orchestrator. Every state change is looked up in
``TRANSITIONS`` keyed by (role, state, input); a remote input with no entry raises
:class:`RemoteProtocolError` with :attr:`Fault.OUT_OF_ORDER` (Gingle answers it
``not-allowed``, Jingle ``out-of-order``), a local input with no entry raises
:class:`LocalProtocolError`. The table does not know which dialect it serves.

What differs between the dialects lives in a small rules object per dialect:

* **Gingle** (:class:`GingleRules`): the responder answers an initiate that carries a
  p2p transport with ``transport-accept``; candidates go in ``transport-info``
  (libjingle 0.4) or, for a peer that uses them (an initiate without ``<transport>``,
  or ``candidates`` before any ``transport-accept``), in the bare ``candidates`` form,
  re-sending those already sent.
* **Jingle** (:class:`JingleRules`): the responder says ``<ringing/>`` in a
  ``session-info`` as soon as the initiate is taken (XEP-0167 section 7.1), and the
  session's one content keeps the name the initiator gave it. The initiate and the
  accept carry the candidates known by then, and wait for the first if there are
  none: libpurple hands the candidates of either to farstream, whose libnice
  transmitter takes an empty list for an ICE restart and changes its credentials
  without telling the peer.

Besides the table the session keeps three pieces of bookkeeping, the same for both:

* **held candidates** -- the initiator keeps its candidates until the initiate is
  acknowledged, since a server may reorder stanzas to the peer (XEP-0176 section 4.2
  asks the same).
* **pending replies** -- every message whose failure ends the session (initiate,
  accept, reject, terminate) must get a result within ``REPLY_TIMEOUT_S``; errors and
  silence for transport messages and session-info are ignored, as libjingle does,
  because libpurple never answers Gingle's, and an unknown session-info payload is no
  reason to end a call.

Glare -- two parties calling each other at once -- is settled where initiates arrive
(:class:`SessionManager`) by XEP-0166 section 7.2.16's tie-break, which needs no
extra message and gives both sides the same answer: the initiate with the lower
session id (compared as octets), or for equal ids the one from the lower JID, stands.
Its recipient takes it and its own session yields (``YIELD``); the other side answers
the losing initiate with a tie-break error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from enum import Enum, auto
from typing import Protocol

from ..errors import LocalProtocolError, RemoteProtocolError
from .events import (
    CallAccepted,
    EndCause,
    Event,
    IncomingCall,
    Outgoing,
    PeerInfo,
    RemoteCandidates,
    SessionEnded,
)
from .model import (
    Action,
    Candidate,
    Credentials,
    Dialect,
    Fault,
    Info,
    Message,
    PayloadType,
    Reason,
)

log = logging.getLogger(__name__)

REPLY_TIMEOUT_S = 15.0  # libjingle's session timeout for unanswered iqs
IGNORED_AFTER_S = 1.0  # a best-effort message unanswered this long was ignored
# Each remote candidate costs checks sent wherever it points: a bound per component
# and session, beyond which the message is refused, not checked.
MAX_REMOTE_CANDIDATES = 20
CONTENT_NAME = "audio"  # the name jcall gives its one Jingle content

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
            for same in (Input.RECV_TRANSPORT_INFO, Input.RECV_INFO):
                table[(role, state, same)] = state
            if role is _I:  # only the responder accepts the transport
                table[(role, state, Input.RECV_TRANSPORT_ACCEPT)] = state
    return table


TRANSITIONS: dict[tuple[Role, State, Input], State] = _build_table()

_RECV_INPUT = {
    Action.INITIATE: Input.RECV_INITIATE,
    Action.ACCEPT: Input.RECV_ACCEPT,
    Action.REJECT: Input.RECV_REJECT,
    Action.TERMINATE: Input.RECV_TERMINATE,
    Action.TRANSPORT_INFO: Input.RECV_TRANSPORT_INFO,
    Action.TRANSPORT_ACCEPT: Input.RECV_TRANSPORT_ACCEPT,
    Action.INFO: Input.RECV_INFO,
}

# Messages whose error or missing reply ends the session; the others are best effort.
_REPLY_REQUIRED = {Action.INITIATE, Action.ACCEPT, Action.REJECT, Action.TERMINATE}


# -- what differs between the dialects ---------------------------------------------------
class Rules(Protocol):
    """A dialect's quirks, consulted by the session at four points."""

    @property
    def bare_candidates(self) -> bool:
        """Whether candidates go out in Gingle's bare ``candidates`` form."""

    @property
    def carries_candidates(self) -> bool:
        """Whether the initiate and the accept carry candidates (and so wait for the
        first), rather than leaving them all to transport messages."""

    def on_initiate(self, msg: Message) -> list[Message]:
        """What a responder sends as soon as it takes an initiate (sid etc. filled in
        by the session)."""

    def on_transport_accept(self) -> None: ...

    def switches_to_bare(self, msg: Message) -> bool:
        """Whether ``msg`` makes candidates go out bare from now on; candidates already
        sent are then re-sent."""


class GingleRules:
    """gingle.md part E: libjingle 0.4's ``transport-accept``, and the ``candidates``
    form of older clients and libpurple."""

    carries_candidates = False  # (libjingle 0.4 sends them after the initiate's ack)

    def __init__(self) -> None:
        self.bare_candidates = False
        self._transport_accepted = False

    def on_initiate(self, msg: Message) -> list[Message]:
        if not msg.has_transport:
            self.bare_candidates = True
            return []
        return [_template(Action.TRANSPORT_ACCEPT, has_transport=True)]

    def on_transport_accept(self) -> None:
        self._transport_accepted = True

    def switches_to_bare(self, msg: Message) -> bool:
        if not msg.bare_candidates or self.bare_candidates or self._transport_accepted:
            return False
        log.debug("peer speaks 'candidates'; switching to compatibility mode")
        self.bare_candidates = True
        return True


class JingleRules:
    """XEP-0166/0167: ring at once; the initiate and the accept carry candidates."""

    bare_candidates = False
    carries_candidates = True

    def on_initiate(self, msg: Message) -> list[Message]:
        return [_template(Action.INFO, info=(Info.RINGING,))]

    def on_transport_accept(self) -> None:
        pass

    def switches_to_bare(self, msg: Message) -> bool:
        return False


def _template(action: Action, **fields: object) -> Message:
    return Message(action=action, sid="", initiator=None, **fields)  # type: ignore[arg-type]


RULES: dict[Dialect, type[GingleRules] | type[JingleRules]] = {
    Dialect.GINGLE: GingleRules, Dialect.JINGLE: JingleRules}


@dataclass
class _Pending:
    """A message we sent whose acknowledgement is awaited until ``deadline``."""

    action: Action
    deadline: float


def initiate_stands(sid: str, jid: str, other_sid: str, other_jid: str) -> bool:
    """Whether an initiate (``sid`` from ``jid``) overrules one crossing it: the lower
    session id in "i;octet" order (RFC 4790 section 9.3), or for equal ids the lower
    JID (XEP-0166 section 7.2.16)."""
    mine, theirs = sid.encode(), other_sid.encode()
    if mine != theirs:
        return mine < theirs
    return jid.encode() < other_jid.encode()


def _candidate_key(c: Candidate) -> tuple[int, str, int, str]:
    return (c.component, c.address, c.port, c.protocol)


class Session:
    """One session. Time is always passed in (seconds, any monotonic origin)."""

    def __init__(self, *, role: Role, sid: str, initiator: str, peer: str,
                 dialect: Dialect = Dialect.GINGLE) -> None:
        self.role = role
        self.sid = sid
        self.initiator = initiator
        self.peer = peer
        self.dialect = dialect
        self.rules: Rules = RULES[dialect]()
        self.state = State.INIT
        self.payloads: tuple[PayloadType, ...] = ()
        self.content = CONTENT_NAME
        self.peer_credentials: Credentials | None = None
        self._initiate_acked = role is Role.RESPONDER
        self._held: list[Candidate] = []
        self._sent: list[Candidate] = []
        self._deferred: Message | None = None  # an initiate or accept awaiting candidates
        self._remote_seen: set[tuple[int, str, int, str]] = set()
        self._remote_generation = 0
        self._pending: dict[int, _Pending] = {}
        # best-effort messages (candidates, transport-accept) awaiting an answer: sent at
        self._best_effort: dict[int, tuple[Action, float]] = {}
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

    @property
    def bare_candidates(self) -> bool:
        """Whether the peer is answered in Gingle's bare ``candidates`` form."""
        return self.rules.bare_candidates

    # -- the table ------------------------------------------------------------------
    def _transition(self, inp: Input) -> State:
        key = (self.role, self.state, inp)
        new = TRANSITIONS.get(key)
        if new is None:
            msg = f"{inp.name} not allowed in {self.role.name} {self.state.name}"
            if inp.is_remote:
                raise RemoteProtocolError(msg, Fault.OUT_OF_ORDER)
            raise LocalProtocolError(msg, Fault.OUT_OF_ORDER)
        if new is not self.state:
            log.debug("session %s: %s -> %s (%s)", self.sid, self.state.name, new.name, inp.name)
        self.state = new
        return new

    def _send(self, action: Action, now: float, **fields: object) -> None:
        self._send_message(_template(action, **fields), now)

    def _send_message(self, template: Message, now: float) -> None:
        tag, self._next_tag = self._next_tag, self._next_tag + 1
        msg = replace(template, sid=self.sid, initiator=self.initiator, content=self.content)
        needs_reply = msg.action in _REPLY_REQUIRED
        if needs_reply:
            self._pending[tag] = _Pending(msg.action, now + REPLY_TIMEOUT_S)
        else:
            self._best_effort[tag] = (msg.action, now)
        self._outbox.append(Outgoing(tag=tag, to=self.peer, message=msg, needs_reply=needs_reply))

    def _end(self, cause: EndCause, reason: Reason | None = None, detail: str = "",
             condition: str | None = None) -> None:
        self._held.clear()
        self._deferred = None
        self._events.append(SessionEnded(cause=cause, reason=reason, detail=detail,
                                         condition=condition))

    # -- local decisions ------------------------------------------------------------
    def initiate(self, payloads: tuple[PayloadType, ...], now: float,
                 credentials: Credentials | None = None) -> None:
        """Send the initiate: our formats and a transport (with our ICE credentials
        where the dialect carries them apart from candidates)."""
        self._transition(Input.SEND_INITIATE)
        self.payloads = payloads
        self._open(_template(Action.INITIATE, payloads=payloads, has_transport=True,
                             credentials=credentials), now)

    def accept(self, payloads: tuple[PayloadType, ...], now: float,
               credentials: Credentials | None = None) -> None:
        self._transition(Input.SEND_ACCEPT)
        self.payloads = payloads
        self._open(_template(Action.ACCEPT, payloads=payloads, has_transport=True,
                             credentials=credentials), now)

    def _open(self, template: Message, now: float) -> None:
        """Send an initiate or accept; where the dialect's carry candidates, with all
        known so far (those sent already again: none may be missing from it), or
        once the first arrives (:meth:`add_local_candidates`)."""
        if not self.rules.carries_candidates:
            self._send_message(template, now)
            return
        known = self._sent + self._held
        if not known:
            self._deferred = template
            return
        self._sent.extend(self._held)
        self._held.clear()
        self._send_message(replace(template, candidates=tuple(known)), now)

    def reject(self, now: float, reason: Reason = Reason.DECLINE) -> None:
        self._transition(Input.SEND_REJECT)
        self._send(Action.REJECT, now, reason=reason)
        self._end(EndCause.LOCAL_REJECT, reason)

    def terminate(self, now: float, reason: Reason = Reason.SUCCESS) -> None:
        """Hang up. A no-op on a session that has already ended; nothing is sent for
        an initiate that never went out."""
        if self.state is State.ENDED:
            return
        self._transition(Input.SEND_TERMINATE)
        unsent = self._deferred is not None and self._deferred.action is Action.INITIATE
        if not unsent:
            self._send(Action.TERMINATE, now, reason=reason)
        self._end(EndCause.LOCAL_HANGUP, reason)

    def yield_to_peer(self, now: float) -> None:
        """The peer's crossing initiate overruled ours (glare): end without a word,
        since the peer answers ours with a tie-break error; should it take ours after
        all, :meth:`handle_reply` ends it with a terminate."""
        self._transition(Input.YIELD)
        self._yielded = True
        if self._initiate_acked:
            self._send(Action.TERMINATE, now, reason=Reason.SUCCESS)
        self._end(EndCause.CROSSED, detail="the peer's crossing call overruled ours")

    def add_local_candidates(self, candidates: list[Candidate], now: float) -> None:
        """Send candidates in the peer's form, or hold them until the initiate is acked."""
        if self.state is State.ENDED or not candidates:
            return
        if self._deferred is not None:  # the first ones: the initiate or accept goes now
            template, self._deferred = self._deferred, None
            self._sent.extend(candidates)
            self._send_message(replace(template, candidates=tuple(candidates)), now)
            return
        if not self._initiate_acked:
            self._held.extend(candidates)
            return
        self._send_candidates(list(candidates), now)

    def _send_candidates(self, candidates: list[Candidate], now: float) -> None:
        self._sent.extend(candidates)
        self._send(Action.TRANSPORT_INFO, now, has_transport=True,
                   candidates=tuple(candidates), bare_candidates=self.rules.bare_candidates)

    # -- the peer ---------------------------------------------------------------------
    def receive(self, msg: Message, sender: str, now: float) -> None:
        """Apply a message from the peer; raises RemoteProtocolError when it is invalid."""
        if msg.sid != self.sid or sender != self.peer or \
                msg.initiator not in (None, self.initiator):
            raise RemoteProtocolError("unknown session", Fault.UNKNOWN_SESSION)
        inp = _RECV_INPUT.get(msg.action)
        if inp is None:  # Gingle's redirect, Jingle's content-add...: not for jcall
            raise RemoteProtocolError("an action jcall does not follow", Fault.UNSUPPORTED)
        if inp is Input.RECV_INITIATE and msg.payloads is None:
            raise RemoteProtocolError("initiate without an audio description")
        if Info.UNKNOWN in msg.info:
            raise RemoteProtocolError("a session-info payload jcall does not know",
                                      Fault.UNSUPPORTED_INFO)
        self._check_candidate_count(msg.candidates)
        self._transition(inp)
        self._apply(msg, now)
        self._take_candidates(msg.candidates)

    def _apply(self, msg: Message, now: float) -> None:
        if msg.credentials is not None:
            self.peer_credentials = msg.credentials
        match msg.action:
            case Action.INITIATE:
                self.payloads = msg.payloads or OLD_GTALK_PAYLOADS
                self.content = msg.content or CONTENT_NAME
                for answer in self.rules.on_initiate(msg):
                    self._send_message(answer, now)
                self._events.append(IncomingCall(peer=self.peer, payloads=self.payloads))
            case Action.ACCEPT:
                self.payloads = msg.payloads or self.payloads
                self._events.append(CallAccepted(payloads=self.payloads))
            case Action.REJECT:
                self._end(EndCause.REMOTE_REJECT, msg.reason)
            case Action.TERMINATE:
                self._end(EndCause.REMOTE_HANGUP, msg.reason)
            case Action.TRANSPORT_ACCEPT:
                self.rules.on_transport_accept()
            case Action.TRANSPORT_INFO:
                if self.rules.switches_to_bare(msg) and self._sent:
                    resend, self._sent = self._sent, []
                    self._send_candidates(resend, now)
            case Action.INFO:
                self._events.extend(PeerInfo(info) for info in msg.info)

    def _check_candidate_count(self, candidates: tuple[Candidate, ...]) -> None:
        """Refuse a message that would take a component past MAX_REMOTE_CANDIDATES."""
        seen = set(self._remote_seen)
        per_component: dict[int, int] = {}
        for key in seen:
            per_component[key[0]] = per_component.get(key[0], 0) + 1
        for cand in candidates:
            key = _candidate_key(cand)
            if key in seen:
                continue
            seen.add(key)
            per_component[cand.component] = per_component.get(cand.component, 0) + 1
            if per_component[cand.component] > MAX_REMOTE_CANDIDATES:
                raise RemoteProtocolError(
                    f"more than {MAX_REMOTE_CANDIDATES} candidates for component "
                    f"{cand.component} in one session", Fault.NOT_ACCEPTABLE)

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
            action, _ = self._best_effort.pop(tag, (None, 0.0))
            if error is None and action is Action.TRANSPORT_INFO:
                self.candidates_delivered = True
            if error is not None:
                log.debug("session %s: ignoring '%s' for best-effort message %d",
                          self.sid, error, tag)
            return
        if self._yielded:
            if pending.action is Action.INITIATE and error is None:
                self._initiate_acked = True  # (not a tie-breaking peer: end it there too)
                self._send(Action.TERMINATE, now, reason=Reason.SUCCESS)
            return
        if error is not None:
            self._fail(EndCause.ERROR_REPLY,
                       f"{pending.action.name.lower()} answered with '{error}'",
                       condition=error)
            return
        if pending.action is Action.INITIATE and not self._initiate_acked:
            self._initiate_acked = True
            held, self._held = self._held, []
            if held:
                self._send_candidates(held, now)

    def ignored_messages(self, now: float) -> bool:
        """True when the peer has left a message of ours unanswered for over
        ``IGNORED_AFTER_S`` (libpurple answers no Gingle session type it does not
        handle, ``terminate`` included: gingle.md parts E and G)."""
        return any(now - sent > IGNORED_AFTER_S for _, sent in self._best_effort.values())

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` must next be called, or None."""
        return min((p.deadline for p in self._pending.values()), default=None)

    def handle_timer(self, now: float) -> None:
        expired = [t for t, p in self._pending.items() if p.deadline <= now]
        for tag in expired:
            pending = self._pending.pop(tag)
            self._fail(EndCause.TIMEOUT, f"no reply to {pending.action.name.lower()} "
                       f"within {REPLY_TIMEOUT_S:g} s", now=now)

    def _fail(self, cause: EndCause, detail: str, now: float | None = None,
              condition: str | None = None) -> None:
        """End after a failed exchange; ``condition`` is the peer's error condition."""
        if self.state is State.ENDED:
            return
        self._transition(Input.REPLY_FAILED)
        if cause is EndCause.TIMEOUT and now is not None:
            # The peer may merely be slow: tell it the session is gone.
            self._send(Action.TERMINATE, now, reason=Reason.GENERAL_ERROR)
            self._pending.clear()
        self._end(cause, detail=detail, condition=condition)


class SessionManager:
    """The sessions of one logged-in client, keyed by (id, initiator) (gingle.md part
    E); a Jingle message that leaves the initiator out is the session of that id with
    its sender."""

    def __init__(self, local_jid: str) -> None:
        self.local_jid = local_jid
        self.sessions: dict[tuple[str, str], Session] = {}

    def create_outgoing(self, peer: str, sid: str,
                        dialect: Dialect = Dialect.GINGLE) -> Session:
        session = Session(role=Role.INITIATOR, sid=sid, initiator=self.local_jid, peer=peer,
                          dialect=dialect)
        self.sessions[(sid, self.local_jid)] = session
        return session

    def _find(self, msg: Message, sender: str) -> Session | None:
        if msg.initiator is not None:
            return self.sessions.get((msg.sid, msg.initiator))
        live = [s for (sid, _), s in self.sessions.items() if sid == msg.sid and s.peer == sender]
        return min(live, key=lambda s: s.ended, default=None)

    def receive(self, msg: Message, sender: str, now: float,
                dialect: Dialect = Dialect.GINGLE) -> Session:
        """Route a message to its session (creating one for a new initiate).

        Raises RemoteProtocolError: :attr:`Fault.UNKNOWN_SESSION` for an unknown
        session, a sender that is not the session's peer or a message in the other
        dialect; :attr:`Fault.OUT_OF_ORDER` for a message invalid in the session's
        state; :attr:`Fault.TIE_BREAK` for an initiate that our crossing one overrules.
        """
        session = self._find(msg, sender)
        if session is None:
            if msg.action is not Action.INITIATE:
                raise RemoteProtocolError(f"unknown session {msg.sid}", Fault.UNKNOWN_SESSION)
            initiator = msg.initiator or sender
            if initiator != sender:
                raise RemoteProtocolError("initiator is not the sender", Fault.MALFORMED)
            ours = self._crossing(sender)
            if ours is not None and initiate_stands(ours.sid, self.local_jid, msg.sid, sender):
                raise RemoteProtocolError("our calls crossed, and ours stands (tie-break)",
                                          Fault.TIE_BREAK)
            session = Session(role=Role.RESPONDER, sid=msg.sid, initiator=initiator,
                              peer=sender, dialect=dialect)
            session.crossed = ours
            session.receive(msg, sender, now)  # may raise before the session is kept
            self.sessions[(msg.sid, initiator)] = session
            if ours is not None:
                ours.yield_to_peer(now)
            return session
        if sender != session.peer or dialect is not session.dialect:
            raise RemoteProtocolError(f"unknown session {msg.sid}", Fault.UNKNOWN_SESSION)
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
