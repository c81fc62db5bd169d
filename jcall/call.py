"""A Call ties one session (either dialect) to its media transport and reports its progress
as events (``events.py``; a reporter presents them).

The session core is pure; this class is the glue that runs it: it sends what the
session queues, feeds replies and timers back, trickles our candidates out of the
transport and the peer's into it, reacts to the transport's events, and decides when
the call is "in progress" (a media path **and** accepted, as in libjingle's ``call``).

How a call ends decides the exit code: one that both sides accepted but that never
had a media path is a failure whoever hangs up first; a caller whose callee hangs
up before accepting was not answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import trace
from .audio.settings import AudioSettings
from .errors import ExitCode, JcallError
from .events import (
    Answered,
    CallFailed,
    CallStats,
    Destroyed,
    Failure,
    HungUp,
    InProgress,
    MediaLost,
    MediaRestored,
    NoAudio,
    NotAnswered,
    Report,
    Ringing,
    Snapshot,
)
from .signaling.codec import CODECS
from .signaling.events import (
    CallAccepted,
    EndCause,
    Event,
    IncomingCall,
    PeerInfo,
    RemoteCandidates,
    SessionEnded,
)
from .signaling.model import Info, PayloadType, Reason
from .signaling.session import Role, Session
from .transport.base import (
    Connected,
    Failed,
    IceFlavor,
    Lost,
    MediaTransport,
    PathInfo,
    Restored,
)

if TYPE_CHECKING:
    from .media import MediaSession, StreamOpener
    from .xmpp.client import XmppClient

log = logging.getLogger(__name__)

TERMINATE_ACK_WAIT_S = 2.0  # how long a hang-up waits for the peer's ack
QUIET_PEER_ACK_WAIT_S = 0.2  # ... from a peer that answers no terminate (libpurple)
NO_AUDIO_WARNING_S = 3.0  # media running this long with nothing heard: say why


def load_media() -> None:
    """Import the media engine (numpy, the codecs, soxr) where nothing waits for it:
    ``Phone.start`` runs this in a worker thread while the login waits on the
    network, so the import's CPU fills the login's round trips. Nothing before the
    first call needs it, and a call's first packets must not wait for it: imported
    when the media started, it delayed the callee's first audio by the import's time.
    Safe from any thread and cheap once done (the import system's module locks)."""
    import importlib

    importlib.import_module("jcall.media")


@dataclass(frozen=True)
class CallSettings:
    """How every call of this process runs."""

    ice_timeout: float = 30.0  # from accept to a connected ICE path
    audio: AudioSettings = field(default_factory=AudioSettings)
    open_stream: StreamOpener | None = None  # the call's sound devices in one stream
    snapshot_interval: float | None = None  # live statistics this often (Snapshot events)


class Call:
    """One call, either direction."""

    def __init__(self, *, session: Session, transport: MediaTransport, client: XmppClient,
                 report: Report, settings: CallSettings,
                 on_incoming: Callable[[Call], None] | None = None) -> None:
        self.session = session
        self.transport = transport
        self.client = client
        self.report = report
        self.settings = settings
        self.on_incoming = on_incoming
        self.accepted = False
        self.in_progress = asyncio.Event()
        self.finished: asyncio.Future[ExitCode] = asyncio.get_running_loop().create_future()
        self._result = ExitCode.OK
        self._timer: asyncio.TimerHandle | None = None
        self._ice_deadline: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self.media: MediaSession | None = None
        self._media_start: asyncio.Future[None] | None = None
        self._replied = asyncio.Event()  # set whenever a reply arrives
        self.path: PathInfo | None = None  # the media path, once there is one
        self._transport_started = False
        self._told_delivered = False
        self._no_audio: asyncio.TimerHandle | None = None
        self._quiet = False  # end without "call destroyed": nothing was ever set up
        self.rang = False  # "ringing..." was said (XEP-0353's ringing came first)
        self.began: float | None = None  # when the call went in progress
        self._snapshots: asyncio.TimerHandle | None = None

    @property
    def peer(self) -> str:
        return self.session.peer

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- running the session ------------------------------------------------------------
    def pump(self) -> None:
        """Send what the session queued and act on its events, until both are empty."""
        while True:
            outgoing, events = self.session.outgoing(), self.session.events()
            if not outgoing and not events:
                break
            codec = CODECS[self.session.dialect]
            for out in outgoing:
                reply = self.client.send_session(out.to, codec.write(out.message,
                                                                     self.client.jid))
                trace.event(f"sent_{out.message.action.name.lower()}")
                reply.add_done_callback(functools.partial(self._on_reply, out.tag))
            for event in events:
                self._handle(event)
        self._schedule_timer()

    def _on_reply(self, tag: int, fut: asyncio.Future[str | None]) -> None:
        error = fut.result()
        if error == "cancelled":
            return
        self.session.handle_reply(tag, error, self.now())
        self._replied.set()
        if self.session.candidates_delivered and not self._told_delivered:
            self._told_delivered = True
            self.transport.peer_has_candidates()
        self.pump()

    def _schedule_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        when = self.session.get_timer()
        if when is not None:
            self._timer = asyncio.get_running_loop().call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.session.handle_timer(self.now())
        self.pump()

    def _handle(self, event: Event) -> None:
        match event:
            case IncomingCall():
                if self.on_incoming is not None:
                    self.on_incoming(self)  # it announces the call, or asks about it
            case RemoteCandidates(candidates=cands):
                trace.event("remote_candidates")
                self.transport.add_remote(cands)
            case CallAccepted():
                if self.session.role is Role.INITIATOR:
                    self.report(Answered(self.peer))
                self._on_accepted()
            case PeerInfo(info=info):
                self._peer_info(info)
            case SessionEnded() as ended:
                self._on_ended(ended)

    # -- local decisions ------------------------------------------------------------------
    def accept(self, payloads: tuple[PayloadType, ...]) -> None:
        self.session.accept(payloads, self.now(), self.transport.credentials)
        self._on_accepted()
        self.pump()
        self.start_transport()  # (already under way unless the caller is a stranger)

    def _peer_info(self, info: Info) -> None:
        log.info("'%s' says: %s", self.peer, info)
        if info is Info.RINGING and self.session.role is Role.INITIATOR \
                and not self.accepted and not self.rang:
            self.rang = True
            self.report(Ringing(self.peer))

    def reject(self, reason: Reason = Reason.DECLINE) -> None:
        self.session.reject(self.now(), reason)
        self.pump()

    def hangup(self, reason: Reason = Reason.SUCCESS) -> None:
        self.session.terminate(self.now(), reason)
        self.pump()

    def give_up(self) -> None:
        """Our call rang unanswered for the ring timeout: end it, not answered."""
        if self.accepted or self.session.ended:
            return
        self.report(NotAnswered())
        self._result = ExitCode.REJECTED
        self.hangup(Reason.TIMEOUT)

    def fail(self, why: Failure, code: ExitCode, detail: str = "",
             reason: Reason = Reason.GENERAL_ERROR) -> None:
        """End the call with a failure and exit code (terminating it if still up)."""
        if self.finished.done() or self._closing:
            return
        trace.event("call_failed")
        self.report(CallFailed(why, self.peer, detail))
        self._result = code
        if self.session.ended:
            self.spawn(self._close())
        else:
            self.hangup(reason)

    # -- the transport ------------------------------------------------------------------
    def start_transport(self) -> None:
        """Gather and trickle our candidates, and follow the transport's events."""
        if self._transport_started:
            return
        self._transport_started = True
        self.spawn(self._trickle())
        self.spawn(self._watch())

    async def _trickle(self) -> None:
        async for batch in self.transport.local_candidates():
            self.session.add_local_candidates(batch, self.now())
            self.pump()

    async def _watch(self) -> None:
        async for event in self.transport.events():
            match event:
                case Connected(path=path):
                    self.path = path
                    log.info("media path: %s", path)
                    trace.event("ice_connected")
                    self._check_progress()
                case Failed(reason=reason):
                    self._no_path(reason)
                case Lost():
                    trace.event("media_lost")
                    if self.in_progress.is_set():
                        self.report(MediaLost())
                case Restored(path=path):
                    self.path = path
                    if self.in_progress.is_set():
                        self.report(MediaRestored(path))

    def _no_path(self, reason: str) -> None:
        if self.in_progress.is_set():
            self.fail(Failure.PATH_LOST, ExitCode.CALL_FAILED, reason)
        else:
            self.fail(Failure.NO_PATH, ExitCode.CALL_FAILED, reason)

    # -- progress -------------------------------------------------------------------------
    def _on_accepted(self) -> None:
        self.accepted = True
        loop = asyncio.get_running_loop()
        if self.path is None:
            self._ice_deadline = loop.call_later(self.settings.ice_timeout, self._ice_timed_out)
        self._check_progress()

    def _ice_timed_out(self) -> None:
        self.fail(Failure.ICE_TIMEOUT, ExitCode.CALL_FAILED, f"{self.settings.ice_timeout:g}")

    def _check_progress(self) -> None:
        if self.accepted and self.path is not None and not self.in_progress.is_set() \
                and not self.session.ended:
            if self._ice_deadline is not None:
                self._ice_deadline.cancel()
            self.in_progress.set()
            self.began = self.now()
            self.report(InProgress(self.peer, self.path))
            self._media_start = asyncio.ensure_future(self._start_media())

    async def _start_media(self) -> None:
        from .media import MediaSession, opener  # (loaded already: see load_media)

        try:
            media = MediaSession(self.transport, self.session.payloads,
                                 opener(self.settings.audio, self.settings.open_stream))
        except ValueError as exc:
            self.fail(Failure.SIGNALLING, ExitCode.CALL_FAILED, str(exc),
                      Reason.INCOMPATIBLE_PARAMETERS)
            return
        self.media = media
        try:
            await media.start()
        except JcallError as exc:
            self.fail(Failure.MEDIA, exc.exit_code, str(exc))
            return
        self._no_audio = asyncio.get_running_loop().call_later(NO_AUDIO_WARNING_S,
                                                               self._check_audio)
        self._snapshot()

    def _snapshot(self) -> None:
        interval = self.settings.snapshot_interval
        if interval is None or self._closing:
            return
        if self.media is not None:
            self.report(Snapshot(self.peer, self.stats(self.media.snapshot())))
        self._snapshots = asyncio.get_running_loop().call_later(interval, self._snapshot)

    def stats(self, media: dict[str, Any]) -> dict[str, Any]:
        """The media's statistics with the call's own: how long it has been in
        progress, the dialect, the path and its round-trip time."""
        stats = media | {"signaling": self.session.dialect.value,
                         "duration_s": round(self.now() - (self.began or self.now()), 3)}
        if self.path is not None:
            stats["path"] = self.path.as_dict()
        rtt = self.transport.rtt_s
        stats["rtt_ms"] = None if rtt is None else round(1000 * rtt, 1)
        return stats

    def set_muted(self, muted: bool) -> bool:
        """Stop (or resume) sending audio; False while there is no media to mute."""
        if self.media is None or self._closing:
            return False
        self.media.set_muted(muted)
        return True

    def _check_audio(self) -> None:
        """Say plainly when the peer's audio does not arrive, and why where it is known."""
        if self.media is None or self.media.heard or self._closing:
            return
        google_callee = self.path is not None and self.path.flavor is IceFlavor.GOOGLE \
            and self.session.role is Role.INITIATOR
        self.report(NoAudio(self.peer, google_callee))

    # -- the end --------------------------------------------------------------------------
    def _on_ended(self, ended: SessionEnded) -> None:
        match ended.cause:
            case EndCause.REMOTE_HANGUP if self.accepted and not self.in_progress.is_set():
                self.report(HungUp(self.peer))
                if self._result is ExitCode.OK:  # (not when already explained)
                    self.report(CallFailed(Failure.NO_PATH, self.peer))
                    self._result = ExitCode.CALL_FAILED
            case EndCause.REMOTE_HANGUP if not self.accepted and \
                    self.session.role is Role.INITIATOR:
                self.report(NotAnswered())
                self._result = ExitCode.REJECTED
            case EndCause.REMOTE_HANGUP if not self.accepted:
                self.report(HungUp(self.peer))  # a caller that gave up ringing
                self._result = ExitCode.REJECTED
            case EndCause.REMOTE_HANGUP:
                self.report(HungUp(self.peer))
            case EndCause.REMOTE_REJECT:
                self.report(NotAnswered())
                self._result = ExitCode.REJECTED
            case EndCause.TIMEOUT | EndCause.ERROR_REPLY:
                self._failed_signalling(ended)
            case EndCause.CROSSED:
                self._quiet = True  # the peer's call carries on in its place (phone.py)
        self.spawn(self._close())

    def _failed_signalling(self, ended: SessionEnded) -> None:
        if self._result is not ExitCode.OK:
            return  # already explained
        if ended.condition in ("service-unavailable", "recipient-unavailable"):
            self.report(CallFailed(Failure.UNREACHABLE, self.peer, ended.detail))
        else:
            self.report(CallFailed(Failure.SIGNALLING, self.peer, ended.detail))
        self._result = ExitCode.CALL_FAILED

    def _peer_acks_terminate(self) -> bool:
        """libpurple answers no ``terminate`` (gingle.md part G). Known by a message of
        ours it left unanswered, or by its profile: Google ICE in the ``candidates``
        dialect (libjingle's later ``call`` looks the same and loses nothing by a
        shorter wait: its ack comes within a server round trip)."""
        if self.session.ignored_messages(self.now()):
            return False
        return not (self.session.bare_candidates
                    and self.transport.flavor is IceFlavor.GOOGLE)

    async def _close(self) -> None:
        if self._closing:
            return
        self._closing = True
        for handle in (self._ice_deadline, self._timer, self._no_audio, self._snapshots):
            if handle is not None:
                handle.cancel()
        if self._media_start is not None:  # let a start under way finish, then stop it
            with contextlib.suppress(Exception):
                await self._media_start
        if self.media is not None:  # audio stops at once; the ack may take a while
            self.report(CallStats(self.peer, self.stats(await self.media.stop())))
        deadline = self.now() + (TERMINATE_ACK_WAIT_S if self._peer_acks_terminate()
                                 else QUIET_PEER_ACK_WAIT_S)
        while self.session.awaiting_replies and self.now() < deadline:
            self._replied.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._replied.wait(), deadline - self.now())
        with contextlib.suppress(Exception):
            await self.transport.close()
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()
        if not self._quiet:
            self.report(Destroyed(self.peer))
        if not self.finished.done():
            self.finished.set_result(self._result)
