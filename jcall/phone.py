"""The phone: one logged-in account placing or answering calls (``dial``/``listen``).

Orchestration only: the XMPP adapter delivers parsed session messages, the pure
:class:`SessionManager` routes them, and each :class:`Call` runs one session with its
ICE transport. Exit codes are decided here and raised/returned to ``cli``.

Which dialect a call speaks: an incoming call the one it arrived in; an outgoing one
Jingle when the peer's caps show it, else Gingle (the "hybrid" choice of libjingle's
later versions, gingle.md part E), unless ``--signaling`` names one.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from . import startup
from .answer import AnswerPolicy, Verdict
from .audio import formats
from .call import Call, CallSettings, load_media
from .errors import CallError, ConfigError, ExitCode
from .events import (
    Calling,
    Failure,
    FoundFriend,
    HungUp,
    Incoming,
    LoggedOut,
    NotAnswered,
    Reconnected,
    Refusal,
    Refused,
    Report,
    Ringing,
    ServerLost,
    TakingCrossing,
)
from .signaling.jmi import NS_JMI, Crossing, JmiAction, JmiMessage, crossing
from .signaling.model import Dialect, Message, PayloadType, Reason, SignalingMode
from .signaling.session import Session, SessionManager
from .transport.auto import AutoTransport
from .transport.base import IceMode
from .transport.servers import NO_SERVERS, IceServers
from .xmpp.client import XmppClient
from .xmpp.contacts import bare

log = logging.getLogger(__name__)


@dataclass
class _Proposal:
    """A XEP-0353 proposal: ours to ``peer`` (a JID, answered by one of its devices),
    or one of ``peer`` (the proposing device) to us."""

    id: str
    peer: str
    answer: asyncio.Future[tuple[JmiMessage, str]]  # ours: the first proceed/reject
    gone: asyncio.Future[None]  # theirs: retracted


@dataclass(frozen=True)
class PhoneSettings:
    """How the phone places and answers calls."""

    call: CallSettings = field(default_factory=CallSettings)
    host_addresses: list[str] | None = None
    ice_servers: IceServers = NO_SERVERS  # the user's own STUN/TURN servers
    discover: bool = True  # without own servers, ask the account's server (XEP-0215)
    ice_mode: IceMode = IceMode.AUTO
    signaling: SignalingMode = SignalingMode.AUTO
    ice_loopback: bool = False  # offer 127.0.0.1 and check loopback candidates
    ring_timeout: float = 30.0  # an unanswered call is declined (ours: given up) after this
    presence_wait: float = 3.0  # how long a bare JID may take to show a callable resource
    formats: tuple[formats.Format, ...] = formats.SUPPORTED  # in order of preference


class Phone:
    def __init__(self, client: XmppClient, report: Report, settings: PhoneSettings,
                 answer: AnswerPolicy | None = None) -> None:
        self.client = client
        self.report = report
        self.answer = answer or AnswerPolicy(ring_timeout=settings.ring_timeout)
        self.settings = settings
        self._manager: SessionManager | None = None
        self.calls: dict[Session, Call] = {}
        self.lost: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        # Calls for listen to run; an exit code stands for a proposal that ended without
        # a session (declined, or taken back while it rang).
        self._incoming: asyncio.Queue[Call | ExitCode] = asyncio.Queue()
        self._take_incoming: Callable[[Call], None] | None = None
        # While dialing: whom, a call from them that came before ours went out, and
        # for each of our calls overruled by the peer's crossing one, that call.
        self._dial_target: str | None = None
        self._called_first: asyncio.Future[Call] | None = None
        self._successors: dict[Call, Call] = {}
        # XEP-0353: our proposal while dialing, theirs while ringing, and the
        # (id, device) pairs we said proceed to, whose session-initiate is answered.
        self._proposing: _Proposal | None = None
        self._proposed: dict[str, _Proposal] = {}
        self._proceeded: set[tuple[str, str]] = set()
        self._jmi_sessions: set[str] = set()  # started by a proposal: end with <finish>
        self._taking_theirs = False  # the dialed peer proposed first: its call is ours
        self._take_proposal: Callable[[_Proposal], None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        client.on_session = self._on_session
        client.on_jmi = self._on_jmi
        client.on_lost = self._on_lost
        client.on_outage = self._on_outage
        client.on_back = self._on_back
        client.on_offline = self._on_offline

        client.discover = settings.discover and not settings.ice_servers.any

    @property
    def manager(self) -> SessionManager:
        if self._manager is None:  # the bound JID is known once a session can arrive
            self._manager = SessionManager(self.client.jid)
        return self._manager

    @property
    def servers(self) -> IceServers:
        return self.settings.ice_servers.or_discovered(self.client.discovered)

    async def start(self, hangup: asyncio.Event) -> bool:
        """Log in, and load the media engine beside it (see ``load_media``); False if
        the user gave up (Ctrl-C) before it completed. Start-up ends here (see
        ``startup``)."""
        media = asyncio.ensure_future(asyncio.to_thread(load_media))
        login = asyncio.ensure_future(self.client.login())
        stop = asyncio.ensure_future(hangup.wait())
        try:
            await asyncio.wait({login, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not login.done():
            login.cancel()
            return False
        login.result()
        await media
        startup.release()
        if self.servers.any:
            log.info("ICE servers: %s", self.servers)
        if self.servers.relay_only and not self.servers.turn:
            raise ConfigError("--relay-only needs a TURN server: give --turn (the account's "
                              "server offers none)")
        return True

    def _on_outage(self, reason: str) -> None:
        """The server went away: calls go on (media never passes through it), and
        what they send waits for the reconnection (xmpp/reconnect.py)."""
        self.report(ServerLost(reason))

    def _on_back(self, resumed: bool) -> None:
        self.report(Reconnected(resumed))

    def _on_lost(self, reason: str) -> None:
        self.report(LoggedOut(reason))
        if not self.lost.done():
            self.lost.set_result(reason)
        for call in list(self.calls.values()):
            call.fail(Failure.SERVER_LOST, ExitCode.CONNECT_FAILED)

    def _on_offline(self, jid: str) -> None:
        """The peer's resource went offline: a call still ringing or connecting with it
        can never complete (one in progress keeps its direct media path)."""
        for call in list(self.calls.values()):
            if call.peer == jid and not call.in_progress.is_set():
                call.fail(Failure.PEER_OFFLINE, ExitCode.CALL_FAILED)

    def _transport(self, controlling: bool, dialect: Dialect) -> AutoTransport:
        # Jingle's ICE-UDP is RFC ICE by definition (XEP-0176); Google ICE is Gingle's.
        mode = IceMode.RFC if dialect is Dialect.JINGLE else self.settings.ice_mode
        return AutoTransport(mode, controlling=controlling,
                             servers=self.servers, host_addresses=self.settings.host_addresses,
                             loopback=self.settings.ice_loopback)

    def _track(self, call: Call) -> None:
        self.calls[call.session] = call

        def forget(_: object) -> None:
            self.calls.pop(call.session, None)
            self.manager.prune()
            if call.session.sid in self._jmi_sessions and self.client.online:
                # (every device of both sides learns the call ended: XEP-0353 3.6)
                self._jmi_sessions.discard(call.session.sid)
                self._send_jmi(call.peer, JmiAction.FINISH, call.session.sid, Reason.SUCCESS)

        call.finished.add_done_callback(forget)

    # -- incoming -----------------------------------------------------------------------
    def _on_session(self, msg: Message, sender: str,
                    dialect: Dialect) -> Callable[[], None] | None:
        session = self.manager.receive(msg, sender, asyncio.get_running_loop().time(), dialect)
        call = self.calls.get(session)
        if call is None:
            call = Call(session=session,
                        transport=self._transport(controlling=False, dialect=dialect),
                        client=self.client, report=self.report, settings=self.settings.call,
                        on_incoming=self._ring)
            self._track(call)
            ours = self.calls.get(session.crossed) if session.crossed is not None else None
            if ours is not None:  # glare: ours yielded (signaling/session.py)
                self._successors[ours] = call
                ours.pump()
        return call.pump

    def _ring(self, call: Call) -> None:
        proposed = (call.session.sid, call.peer) in self._proceeded
        self._proceeded.discard((call.session.sid, call.peer))
        if self._takes_over(call):
            self._answer_crossing(call, announced=proposed)
            return
        if proposed:
            self._answer_proceeded(call)
            return
        others = [c for c in self.calls.values() if c is not call and not c.finished.done()]
        if others or self._take_incoming is None:
            self.report(Incoming(call.peer))
            self.report(Refused(call.peer, Refusal.BUSY))
            call.reject(Reason.BUSY)
            return
        if self.client.trusts(call.peer):
            call.start_transport()
        else:  # a stranger learns no address, nor gets checks, before the user says yes
            log.info("'%s' is not in the roster: candidates wait for accept", call.peer)
        self._take_incoming(call)

    def _answer_proceeded(self, call: Call) -> None:
        """The session of a proposal the user already took (XEP-0353 section 3.5)."""
        if self._take_incoming is not None:
            self._incoming.put_nowait(call)  # (listen runs it)
        self._take(call)

    def _take(self, call: Call) -> bool:
        """Accept a call the user wants, in our codecs; False if it has none of them."""
        payloads = self._answer_payloads(call.session.payloads)
        if not payloads:
            self.report(Refused(call.peer, Refusal.NO_CODEC))
            call.reject(Reason.INCOMPATIBLE_PARAMETERS)
            return False
        call.start_transport()
        call.accept(payloads)
        return True

    # -- XEP-0353 -------------------------------------------------------------------------
    def _on_jmi(self, msg: JmiMessage, sender: str) -> None:
        match msg.action:
            case JmiAction.PROPOSE:
                self._on_propose(msg, sender)
            case JmiAction.RETRACT:
                theirs = self._proposed.get(msg.id)
                if theirs is not None and theirs.peer == sender:
                    del self._proposed[msg.id]
                    if not theirs.gone.done():
                        theirs.gone.set_result(None)
            case JmiAction.RINGING | JmiAction.PROCEED | JmiAction.REJECT:
                ours = self._proposing
                if ours is None or msg.id != ours.id or bare(sender) != bare(ours.peer):
                    return
                if msg.action is JmiAction.RINGING:
                    self.report(Ringing(ours.peer))
                elif not ours.answer.done():
                    ours.answer.set_result((msg, sender))
            case _:
                log.info("jingle-message %s from %s", msg.action, sender)

    def _send_jmi(self, to: str, action: JmiAction, pid: str, reason: Reason | None = None,
                  *, tie_break: bool = False) -> None:
        self.client.send_jmi(bare(to), JmiMessage(action, pid, reason=reason,
                                                  tie_break=tie_break))

    def _on_propose(self, msg: JmiMessage, sender: str) -> None:
        if "audio" not in msg.media:
            self._send_jmi(sender, JmiAction.REJECT, msg.id, Reason.UNSUPPORTED_APPLICATIONS)
            return
        ours = self._proposing
        if ours is not None and bare(sender) == bare(ours.peer):  # proposals crossed
            if crossing(ours.id, self.client.jid, msg.id, sender) is Crossing.OURS_STANDS:
                self._send_jmi(sender, JmiAction.REJECT, msg.id, Reason.EXPIRED,
                               tie_break=True)
                return
            self._send_jmi(ours.peer, JmiAction.RETRACT, ours.id, Reason.EXPIRED,
                           tie_break=True)
            self._proposing = None
            self.report(Incoming(sender))
            self.report(TakingCrossing(sender))
            self._taking_theirs = True
            self._proceed(msg.id, sender)  # its session is the dial's (_takes_over)
            return
        if self._proposing is None and self._dialing(sender):
            # the one being dialed called first: that is the call (_takes_over)
            self.report(Incoming(sender))
            self.report(TakingCrossing(sender))
            self._taking_theirs = True
            self._proceed(msg.id, sender)
            return
        answer = self._take_proposal
        if answer is None or self._proposed or \
                any(not c.finished.done() for c in self.calls.values()):  # busy
            self.report(Incoming(sender))
            self.report(Refused(sender, Refusal.BUSY))
            self._send_jmi(sender, JmiAction.REJECT, msg.id, Reason.BUSY)
            return
        loop = asyncio.get_running_loop()
        theirs = _Proposal(msg.id, sender, loop.create_future(), loop.create_future())
        self._proposed[msg.id] = theirs
        self._send_jmi(sender, JmiAction.RINGING, msg.id)
        answer(theirs)

    def _proceed(self, pid: str, device: str) -> None:
        self._proceeded.add((pid, device))
        self._jmi_sessions.add(pid)
        self._send_jmi(device, JmiAction.PROCEED, pid)

    async def _decide_proposal(self, theirs: _Proposal) -> None:
        """Ask (or not) about a proposal, as about an incoming call (:meth:`_decide`);
        one that ends here is the call listen waited for (its session never comes)."""
        proceeded = False
        try:
            verdict = await self.answer.decide(theirs.peer, theirs.gone, self.report)
            if verdict is Verdict.GONE:
                self.report(HungUp(theirs.peer))
            elif verdict is Verdict.TAKE:
                self._proceed(theirs.id, theirs.peer)
                proceeded = True
            else:
                self._send_jmi(theirs.peer, JmiAction.REJECT, theirs.id, verdict.reason)
        finally:
            self._proposed.pop(theirs.id, None)
            if not proceeded:
                self._incoming.put_nowait(ExitCode.OK)

    async def _propose(self, peer: str, pid: str, hangup: asyncio.Event
                       ) -> str | ExitCode | None:
        """Ring ``peer``'s devices (XEP-0353): the device that proceeded, or the exit
        code the proposal ended with; None when the peer's crossing proposal stood,
        whose call then arrives as the one dialed (``_called_first``)."""
        loop = asyncio.get_running_loop()
        ours = _Proposal(pid, peer, loop.create_future(), loop.create_future())
        self._proposing = ours
        self.client.send_jmi(bare(peer), JmiMessage(JmiAction.PROPOSE, pid, ("audio",)))
        self.report(Calling(peer))
        stop = asyncio.ensure_future(hangup.wait())
        assert self._called_first is not None
        waiters: set[asyncio.Future[Any]] = {ours.answer, stop, self._called_first, self.lost}
        try:
            done, _ = await asyncio.wait(waiters, timeout=self.settings.ring_timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            crossed = self._proposing is not ours  # (theirs stood: _on_propose)
            if not crossed:
                self._proposing = None
        if self._called_first.done() or (crossed and ours.answer not in done):
            return None
        if ours.answer in done:
            msg, device = ours.answer.result()
            if msg.action is JmiAction.PROCEED:
                return device
            if msg.tie_break:  # (theirs stands: its propose came or comes)
                return None
            self.report(NotAnswered())
            return ExitCode.REJECTED
        self._send_jmi(peer, JmiAction.RETRACT, pid, Reason.CANCEL)
        if self.lost.done():
            return ExitCode.CONNECT_FAILED
        if not done:
            self.report(NotAnswered())
            return ExitCode.REJECTED
        return ExitCode.OK  # hung up while it rang

    def _takes_over(self, call: Call) -> bool:
        """Whether an incoming call is the one being dialed, from the other end: its
        initiate overruled ours, or came before ours went out."""
        return call.session.crossed is not None or self._dialing(call.peer)

    def _dialing(self, jid: str) -> bool:
        """Whether ``jid`` is the one being dialed, and no call with it is set up yet."""
        target, first = self._dial_target, self._called_first
        if target is None or first is None or first.done():
            return False
        return jid == target or ("/" not in target and bare(jid) == target)

    def _answer_crossing(self, call: Call, announced: bool = False) -> None:
        """Answer the call of the one being dialed; ``announced``: its proposal was
        (XEP-0353), and the lines about it were printed then."""
        if not announced:
            self.report(Incoming(call.peer))
            if self._answer_payloads(call.session.payloads):
                self.report(TakingCrossing(call.peer))
        if not self._take(call):
            return
        if self._called_first is not None and not self._called_first.done() \
                and call.session.crossed is None:
            self._called_first.set_result(call)

    # -- dial -----------------------------------------------------------------------------
    async def resolve(self, target: str) -> str:
        """A full JID as given, or the best callable resource of a bare JID; either
        once its presence and hashed caps are known (they decide the dialect), or as
        far as they are known after ``presence_wait`` (a full JID is called then even
        without a presence: it may not share it with us)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.presence_wait
        changed = self.client.presence_changed
        full = "/" in target
        while True:
            changed.clear()  # (before looking: a presence after the look wakes us)
            best = target if full else self.client.contacts.best(target)
            if best is not None and not self.client.caps_pending(best) and \
                    (not full or self.client.present(best)
                     or self.settings.signaling is not SignalingMode.AUTO):
                break
            left = deadline - loop.time()
            if left <= 0 or self.lost.done():
                if best is not None:
                    break  # (caps still unanswered: what is known decides)
                raise CallError(f"Could not find online friend '{target}'", ExitCode.NOT_FOUND)
            waiting = asyncio.ensure_future(changed.wait())
            waiters: set[asyncio.Future[Any]] = {waiting, self.lost}
            await asyncio.wait(waiters, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
        if not full:
            self.report(FoundFriend(best))
        return best

    async def dial(self, target: str, duration: float | None,
                   hangup: asyncio.Event) -> ExitCode:
        """Log in, call ``target``, and return when the call has ended. A call or a
        proposal from ``target`` that comes during the login (its last part waits
        for the media engine, with the loop running) is this dial's."""
        self._begin_dial(target)
        if not await self.start(hangup):
            return ExitCode.OK
        return await self._dial_begun(target, duration, hangup)

    async def place(self, target: str, duration: float | None,
                    hangup: asyncio.Event) -> ExitCode:
        """Call ``target`` (logged in) and return when the call has ended; ``hangup``
        ends it (or gives up the dial) at any point."""
        self._begin_dial(target)
        return await self._dial_begun(target, duration, hangup)

    def _begin_dial(self, target: str) -> None:
        """From now on a call or proposal from ``target`` is this dial's."""
        self._dial_target = target
        self._called_first = asyncio.get_running_loop().create_future()
        self._taking_theirs = False

    async def _dial_begun(self, target: str, duration: float | None,
                          hangup: asyncio.Event) -> ExitCode:
        load_media()  # (before our initiate, if start() has not: the first audio must not wait)
        try:
            return await self._place(target, duration, hangup)
        finally:
            self._dial_target = None

    async def _place(self, target: str, duration: float | None,
                     hangup: asyncio.Event) -> ExitCode:
        assert self._called_first is not None
        resolving = asyncio.ensure_future(self.resolve(target))
        stop = asyncio.ensure_future(hangup.wait())
        waiters: set[asyncio.Future[Any]] = {resolving, self._called_first, stop}
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if hangup.is_set() and not self._called_first.done():  # (given up while looking)
            resolving.cancel()
            return ExitCode.OK
        if self._called_first.done():  # the peer called first: that is the call
            resolving.cancel()
            return await self._run(self._called_first.result(), duration, hangup)
        peer = resolving.result()
        dialect = self._dialect_for(peer)
        sid = str(secrets.randbits(32))
        proposing = dialect is Dialect.JINGLE and self.client.has_feature(peer, NS_JMI)
        if self._taking_theirs:  # (its proposal came while we looked it up)
            return await self._their_call(duration, hangup)
        if proposing:  # ring its devices first (XEP-0353); the one that proceeds is called
            outcome = await self._propose(peer, sid, hangup)
            if outcome is None:  # its crossing proposal stood: its call is this dial's
                return await self._their_call(duration, hangup)
            if isinstance(outcome, ExitCode):
                return outcome
            peer = outcome
            self._jmi_sessions.add(sid)
        self._called_first.cancel()
        log.info("calling %s over %s", peer, dialect.value)
        session = self.manager.create_outgoing(peer, sid=sid, dialect=dialect)
        call = Call(session=session, transport=self._transport(controlling=True,
                                                               dialect=dialect),
                    client=self.client, report=self.report, settings=self.settings.call)
        self._track(call)
        call.rang = proposing  # (its devices rang: a session-info ringing says nothing new)
        session.initiate(formats.offer(self.settings.formats), call.now(),
                         call.transport.credentials)
        if not proposing:
            self.report(Calling(peer))
        call.pump()
        call.start_transport()  # candidates trickle out once the initiate is acknowledged
        ring = asyncio.get_running_loop().call_later(self.settings.ring_timeout, call.give_up)
        call.finished.add_done_callback(lambda _: ring.cancel())
        return await self._run(call, duration, hangup)

    async def _their_call(self, duration: float | None, hangup: asyncio.Event) -> ExitCode:
        """The dialed peer's own proposal stood (we proceeded to it): run its call
        when its session arrives, or give up as an unanswered call."""
        assert self._called_first is not None
        stop = asyncio.ensure_future(hangup.wait())
        waiters: set[asyncio.Future[Any]] = {self._called_first, stop, self.lost}
        try:
            await asyncio.wait(waiters, timeout=self.settings.ring_timeout,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if self._called_first.done() and not self._called_first.cancelled():
            return await self._run(self._called_first.result(), duration, hangup)
        if self.lost.done():
            return ExitCode.CONNECT_FAILED
        if hangup.is_set():
            return ExitCode.OK
        self.report(NotAnswered())
        return ExitCode.REJECTED

    def _dialect_for(self, peer: str) -> Dialect:
        """The mode's dialect, or the peer's: Jingle if its caps show it, else Gingle
        (also for a peer that shows nothing, e.g. a full JID given without presence)."""
        if self.settings.signaling is not SignalingMode.AUTO:
            return Dialect(self.settings.signaling.value)
        if Dialect.JINGLE in self.client.contacts.dialects(peer):
            return Dialect.JINGLE
        return Dialect.GINGLE

    async def _run(self, call: Call, duration: float | None, hangup: asyncio.Event) -> ExitCode:
        """Wait for the call to end, hanging up on request or after ``duration``; a
        call overruled by the peer's crossing one is followed by that one."""
        code = await self._run_one(call, duration, hangup)
        while (successor := self._successors.pop(call, None)) is not None:
            call = successor  # (after a hang-up request, _run_one hangs it up at once)
            code = await self._run_one(call, duration, hangup)
        return code

    async def _run_one(self, call: Call, duration: float | None,
                       hangup: asyncio.Event) -> ExitCode:
        stop = asyncio.ensure_future(hangup.wait())
        timer: asyncio.Future[None] | None = None
        try:
            if duration is not None:
                timer = asyncio.ensure_future(self._after_progress(call, duration))
            waiters: set[asyncio.Future[Any]] = {stop, call.finished}
            if timer is not None:
                waiters.add(timer)
            done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            if call.finished not in done:
                call.hangup()
            return await call.finished
        finally:
            for fut in (stop, timer):
                if fut is not None:
                    fut.cancel()

    @staticmethod
    async def _after_progress(call: Call, duration: float) -> None:
        await call.in_progress.wait()
        await asyncio.sleep(duration)

    # -- listen ---------------------------------------------------------------------------
    async def listen(self, *, once: bool, hangup: asyncio.Event) -> ExitCode:
        """Answer calls (as the answer policy says) until ``hangup`` (Ctrl-C), or after
        one call with ``once``."""
        # Ready to answer before logging in: a call may arrive with our presence.
        self._take_incoming = lambda call: call.spawn(self._decide(call))
        self._take_proposal = lambda theirs: self._spawn(self._decide_proposal(theirs))
        if not await self.start(hangup):
            return ExitCode.OK
        result = ExitCode.OK
        stop = asyncio.ensure_future(hangup.wait())
        try:
            while True:
                get = asyncio.ensure_future(self._incoming.get())
                waiters: set[asyncio.Future[Any]] = {get, stop, self.lost}
                done, _ = await asyncio.wait(waiters,
                                             return_when=asyncio.FIRST_COMPLETED)
                if get not in done:
                    get.cancel()
                    return ExitCode.CONNECT_FAILED if self.lost.done() else result
                item = get.result()
                result = item if isinstance(item, ExitCode) else \
                    await self._run(item, None, hangup)
                if once or stop.done():
                    return result
        finally:
            stop.cancel()
            self._take_incoming = None
            self._take_proposal = None

    async def _decide(self, call: Call) -> None:
        self._incoming.put_nowait(call)
        payloads = self._answer_payloads(call.session.payloads)
        if not payloads:
            self.report(Incoming(call.peer))
            self.report(Refused(call.peer, Refusal.NO_CODEC))
            call.reject(Reason.INCOMPATIBLE_PARAMETERS)
            return
        verdict = await self.answer.decide(call.peer, call.finished, self.report)
        if verdict is Verdict.GONE or call.session.ended:
            return
        if verdict is Verdict.TAKE:
            call.accept(payloads)
        else:
            call.reject(verdict.reason)

    def _answer_payloads(self, offered: tuple[PayloadType, ...]) -> tuple[PayloadType, ...]:
        """The offered payload types we support, in the offerer's order, except that the
        codec the user asked for (--codec NAME[/RATE[/CHANNELS]]) goes first."""
        answer = formats.answer(offered)
        first = self.settings.formats[0]
        if self.settings.formats != formats.SUPPORTED:
            wanted = [f for f in self.settings.formats
                      if (f.name, f.clockrate) == (first.name, first.clockrate)]
            answer = tuple(sorted(answer, key=lambda pt: not any(f.matches(pt)
                                                                  for f in wanted)))
        return answer

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for call in list(self.calls.values()):
            if not call.finished.done():
                call.hangup()
                await asyncio.wait({call.finished}, timeout=3.0)
        await self.client.logout()
