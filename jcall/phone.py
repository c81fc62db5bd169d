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
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .audio import formats
from .call import Call, CallSettings
from .console import Console
from .errors import CallError, ConfigError, ExitCode
from .signaling.model import Dialect, Message, PayloadType, Reason
from .signaling.session import Session, SessionManager
from .transport.auto import AutoTransport
from .transport.base import IceMode
from .transport.servers import NO_SERVERS, IceServers
from .xmpp.client import XmppClient
from .xmpp.contacts import bare

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class PhoneSettings:
    call: CallSettings = field(default_factory=CallSettings)
    host_addresses: list[str] | None = None
    ice_servers: IceServers = NO_SERVERS  # the user's own STUN/TURN servers
    discover: bool = True  # without own servers, ask the account's server (XEP-0215)
    ice_mode: IceMode = IceMode.AUTO
    signaling: SignalingMode = SignalingMode.AUTO
    ice_loopback: bool = False  # offer 127.0.0.1 and check loopback candidates
    presence_wait: float = 3.0  # how long a bare JID may take to show a callable resource
    formats: tuple[formats.Format, ...] = formats.SUPPORTED  # in order of preference


class Phone:
    def __init__(self, client: XmppClient, console: Console, settings: PhoneSettings) -> None:
        self.client = client
        self.console = console
        self.settings = settings
        self._manager: SessionManager | None = None
        self.calls: dict[Session, Call] = {}
        self.lost: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._incoming: asyncio.Queue[Call] = asyncio.Queue()
        self._answer: Callable[[Call], None] | None = None
        # While dialing: whom, a call from them that came before ours went out, and
        # for each of our calls overruled by the peer's crossing one, that call.
        self._dial_target: str | None = None
        self._called_first: asyncio.Future[Call] | None = None
        self._successors: dict[Call, Call] = {}
        client.on_session = self._on_session
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
        """Log in; False if the user gave up (Ctrl-C) before it completed."""
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
        if self.servers.any:
            log.info("ICE servers: %s", self.servers)
        if self.servers.relay_only and not self.servers.turn:
            raise ConfigError("--relay-only needs a TURN server: give --turn (the account's "
                              "server offers none)")
        return True

    def _on_outage(self, reason: str) -> None:
        """The server went away: calls go on (media never passes through it), and
        what they send waits for the reconnection (xmpp/reconnect.py)."""
        self.console.error(f"connection to the server lost ({reason}): reconnecting...")

    def _on_back(self, resumed: bool) -> None:
        self.console.status("reconnected (stream resumed)" if resumed
                            else "reconnected (new session)")

    def _on_lost(self, reason: str) -> None:
        self.console.error(f"logged out... {reason}")
        if not self.lost.done():
            self.lost.set_result(reason)
        for call in list(self.calls.values()):
            call.fail("call failed: connection to the server lost", ExitCode.CONNECT_FAILED)

    def _on_offline(self, jid: str) -> None:
        """The peer's resource went offline: a call still ringing or connecting with it
        can never complete (one in progress keeps its direct media path)."""
        for call in list(self.calls.values()):
            if call.peer == jid and not call.in_progress.is_set():
                call.fail(f"call failed: '{jid}' went offline", ExitCode.CALL_FAILED)

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

        call.finished.add_done_callback(forget)

    # -- incoming -----------------------------------------------------------------------
    def _on_session(self, msg: Message, sender: str,
                    dialect: Dialect) -> Callable[[], None] | None:
        session = self.manager.receive(msg, sender, asyncio.get_running_loop().time(), dialect)
        call = self.calls.get(session)
        if call is None:
            call = Call(session=session,
                        transport=self._transport(controlling=False, dialect=dialect),
                        client=self.client, console=self.console, settings=self.settings.call,
                        on_incoming=self._ring)
            self._track(call)
            ours = self.calls.get(session.crossed) if session.crossed is not None else None
            if ours is not None:  # glare: ours yielded (signaling/session.py)
                self._successors[ours] = call
                ours.pump()
        return call.pump

    def _ring(self, call: Call) -> None:
        if self._takes_over(call):
            self._answer_crossing(call)
            return
        others = [c for c in self.calls.values() if c is not call and not c.finished.done()]
        if others or self._answer is None:
            self.console.status(f"Incoming call from '{call.peer}'")
            self.console.status(f"Rejected call from '{call.peer}': busy")
            call.reject(Reason.BUSY)
            return
        if self.client.trusts(call.peer):
            call.start_transport()
        else:  # a stranger learns no address, nor gets checks, before the user says yes
            log.info("'%s' is not in the roster: candidates wait for accept", call.peer)
        self._answer(call)

    def _takes_over(self, call: Call) -> bool:
        """Whether an incoming call is the one being dialed, from the other end: its
        initiate overruled ours, or came before ours went out."""
        if call.session.crossed is not None:
            return True
        target, first = self._dial_target, self._called_first
        if target is None or first is None or first.done():
            return False
        return call.peer == target or ("/" not in target and bare(call.peer) == target)

    def _answer_crossing(self, call: Call) -> None:
        payloads = self._answer_payloads(call.session.payloads)
        self.console.status(f"Incoming call from '{call.peer}'")
        if not payloads:
            self.console.error(f"Rejected call from '{call.peer}': no codec in common")
            call.reject(Reason.INCOMPATIBLE_PARAMETERS)
            return
        self.console.status(f"'{call.peer}' called as we called it: answering its call")
        call.start_transport()
        call.accept(payloads)
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
            self.console.status(f"Found online friend '{best}'")
        return best

    async def dial(self, target: str, duration: float | None,
                   hangup: asyncio.Event) -> ExitCode:
        self._dial_target = target
        self._called_first = asyncio.get_running_loop().create_future()
        if not await self.start(hangup):
            return ExitCode.OK
        resolving = asyncio.ensure_future(self.resolve(target))
        waiters: set[asyncio.Future[Any]] = {resolving, self._called_first}
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        if self._called_first.done():  # the peer called first: that is the call
            resolving.cancel()
            return await self._run(self._called_first.result(), duration, hangup)
        self._called_first.cancel()
        peer = resolving.result()
        dialect = self._dialect_for(peer)
        log.info("calling %s over %s", peer, dialect.value)
        session = self.manager.create_outgoing(peer, sid=str(secrets.randbits(32)),
                                               dialect=dialect)
        call = Call(session=session, transport=self._transport(controlling=True,
                                                               dialect=dialect),
                    client=self.client, console=self.console, settings=self.settings.call)
        self._track(call)
        session.initiate(formats.offer(self.settings.formats), call.now(),
                         call.transport.credentials)
        self.console.status("calling...")
        call.pump()
        call.start_transport()  # candidates trickle out once the initiate is acknowledged
        return await self._run(call, duration, hangup)

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
    async def listen(self, *, auto_accept: bool, reject: bool, once: bool,
                     hangup: asyncio.Event) -> ExitCode:
        """Answer calls until ``hangup`` (Ctrl-C), or after one call with ``once``."""
        # Ready to answer before logging in: a call may arrive with our presence.
        self._answer = lambda call: call.spawn(self._decide(call, auto_accept, reject))
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
                call = get.result()
                result = await self._run(call, None, hangup)
                if once or stop.done():
                    return result
        finally:
            stop.cancel()
            self._answer = None

    async def _decide(self, call: Call, auto_accept: bool, reject: bool) -> None:
        self._incoming.put_nowait(call)
        payloads = self._answer_payloads(call.session.payloads)
        if not payloads:
            self.console.status(f"Incoming call from '{call.peer}'")
            self.console.error(f"Rejected call from '{call.peer}': no codec in common")
            call.reject(Reason.INCOMPATIBLE_PARAMETERS)
            return
        if auto_accept or reject or not self.console.interactive:
            self.console.status(f"Incoming call from '{call.peer}'")
        if reject:
            call.reject()
            return
        if not auto_accept:
            if not self.console.interactive:
                self.console.error("Rejected: not a terminal to ask on (use -a to accept calls)")
                call.reject()
                return
            accept = await self._ask(call)
            if call.session.ended:
                return
            if not accept:
                call.reject()
                return
        call.accept(payloads)

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

    async def _ask(self, call: Call) -> bool:
        question = asyncio.ensure_future(
            self.console.confirm(f"Incoming call from '{call.peer}' — accept?"))
        waiters: set[asyncio.Future[Any]] = {question, call.finished}
        done, _ = await asyncio.wait(waiters,
                                     return_when=asyncio.FIRST_COMPLETED)
        if question not in done:
            question.cancel()
            self.console.status("")
            return False
        return question.result()

    async def stop(self) -> None:
        for call in list(self.calls.values()):
            if not call.finished.done():
                call.hangup()
                await asyncio.wait({call.finished}, timeout=3.0)
        await self.client.logout()
