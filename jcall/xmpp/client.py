"""slixmpp adapter: login with verified STARTTLS, presence with voice caps, disco,
XEP-0215 STUN/TURN discovery, and session ``<iq>`` in and out in both dialects
(Gingle ``<session>``, Jingle ``<jingle>``: ``signaling/codec.py``).

Everything slixmpp-specific stays here; the rest of jcall sees neutral
:class:`~jcall.signaling.model.Message` values, plain JID strings and futures.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import functools
import logging
import random
import ssl
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.stanza import Iq
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from ..errors import ExitCode, LoginError, RemoteProtocolError
from ..events import Connecting, LoggedIn, LoggedOut, LoggingIn, Report, RosterChange, StanzaLog
from ..signaling.codec import CODECS, Codec, StanzaError
from ..signaling.jmi import NS_JMI, JmiAction, JmiMessage, JmiParseError, jmi_element, parse_jmi
from ..signaling.jmi import store_hint as jmi_store_hint
from ..signaling.model import Dialect, Message
from ..transport.servers import DEFAULT_PORT as DEFAULT_STUN_PORT
from ..transport.servers import IceServers, StunServer, TurnServer, TurnTransport
from . import caps, library, limits, tls
from .contacts import (
    JINGLE_FEATURES,
    VOICE_EXT,
    VOICE_FEATURE,
    Change,
    Contacts,
    bare,
    dialects_of,
)
from .debuglog import DebugLog, Direction
from .reconnect import ATTEMPT_TIMEOUT_S, Backoff

log = logging.getLogger(__name__)

NS_CAPS = "http://jabber.org/protocol/caps"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
GOOGLE_CAPS_NODE = "http://www.google.com/xmpp/client/caps"
CAPS_VERSION = "1.0"
# XEP-0115 section 4: a URI for the software (RFC 2606's .invalid: there is no site).
CAPS_NODE = "https://jcall.invalid/caps"
NS_EXTDISCO = "urn:xmpp:extdisco:2"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
IDENTITY = caps.Identity("client", "pc", "jcall")
COMMON_FEATURES = (NS_DISCO_INFO, NS_CAPS)
DIALECT_FEATURES = {
    Dialect.GINGLE: (VOICE_FEATURE, "http://www.google.com/xmpp/protocol/session"),
    Dialect.JINGLE: (*JINGLE_FEATURES, NS_JMI),
}
CAPS_QUERY_TIMEOUT_S = 5.0
MAX_CAPS_QUERIES = 3  # at once for one (hash, ver), each to another resource
MAX_CAPS_CACHE = 256  # distinct (hash, ver) pairs remembered; each is one software version
IQ_HANDLER_TIMEOUT_S = 60  # slixmpp's own bound; the session enforces the 15 s one
NOT_AUTHORIZED = "User is not authorized (Check your username and password)"


@dataclass(frozen=True)
class LoginSettings:
    """Who logs in, to which server, trusting which CA."""

    jid: str
    password: str
    server: tuple[str, int] | None = None
    ca_file: Path | None = None
    timeout: float = 20.0


SessionHandler = Callable[[Message, str, Dialect], Callable[[], None] | None]
JmiHandler = Callable[[JmiMessage, str], None]


class _Iq(Iq):
    def unhandled(self) -> None:
        """A get or set whose payload nobody here handles: ``service-unavailable``
        (RFC 6120 section 8.4), not slixmpp's ``feature-not-implemented``."""
        if self["type"] in ("get", "set"):
            reply = self.reply()  # type: ignore[no-untyped-call]
            reply["error"]["type"] = "cancel"
            reply["error"]["condition"] = "service-unavailable"
            reply.send()


class _Stream(slixmpp.ClientXMPP):
    """ClientXMPP that shows raw traffic to a tap, refuses to log in without TLS and
    answers unknown iq payloads as RFC 6120 asks."""

    def __init__(self, jid: str, password: str,
                 tap: Callable[[Direction, str], None] | None,
                 context: ssl.SSLContext) -> None:
        super().__init__(jid, password, ssl_context=context)
        self.remove_stanza(Iq)
        self.register_stanza(_Iq)
        self._tap = tap
        self._recv_decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def send_raw(self, data: str | bytes) -> None:
        if self._tap is not None:
            self._tap(Direction.SEND, data if isinstance(data, str) else data.decode(
                "utf-8", errors="replace"))
        super().send_raw(data)

    def data_received(self, data: bytes | str) -> None:
        if self._tap is not None:
            self._tap(Direction.RECV, data if isinstance(data, str)
                      else self._recv_decoder.decode(data))
        super().data_received(data)

    def _spawn_event(self, xml: ET.Element) -> None:
        # One stanza must never end the stream (issue 12): nesting is bounded before
        # slixmpp builds stanza objects, recursively, from it; and whatever slixmpp
        # raises for one stanza is that stanza's failure alone.
        if limits.too_deep(xml):
            log.warning("refusing a stanza from %s nested deeper than %d elements",
                        limits.clip(xml.get("from", "the server")), limits.MAX_DEPTH)
            self._refuse(xml, "policy-violation",
                         f"nested deeper than {limits.MAX_DEPTH} elements")
            return
        try:
            super()._spawn_event(xml)
        except Exception as exc:
            log.error("a stanza from %s could not be handled: %s",
                      limits.clip(xml.get("from", "the server")), limits.clip(repr(exc)))
            self._refuse(xml, "internal-server-error", "the stanza could not be handled")

    def _refuse(self, xml: ET.Element, condition: str, text: str) -> None:
        """An error reply to an iq get or set that never reached a handler (RFC 6120
        section 8.3); other stanzas are dropped, as they need no answer."""
        if xml.tag != f"{{{self.default_ns}}}iq" or xml.get("type") not in ("get", "set"):
            return
        try:
            reply = self.Iq(stype="error", sid=xml.get("id", ""))
            if xml.get("from"):
                reply["to"] = xml.get("from")
            error = reply["error"]
            error["type"] = "modify"
            # (slixmpp's list of conditions predates RFC 6120's policy-violation)
            del error["condition"]
            error.xml.insert(0, ET.Element(f"{{{NS_STANZAS}}}{condition}"))
            error["text"] = text
            reply.send()  # type: ignore[no-untyped-call]
        except Exception as exc:  # (e.g. a from the server passed on but slixmpp refuses)
            log.error("could not refuse a stanza: %s", limits.clip(repr(exc)))

    async def _handle_stream_features(self, features: Any) -> bool | None:
        tls = self.transport is not None and self.transport.get_extra_info("ssl_object")
        if not tls and "starttls" not in features["features"]:
            self.event("jcall_no_tls")
            return True  # stop processing: never authenticate in the clear
        result: bool | None = await super()._handle_stream_features(features)
        return result


def _connect_failure(data: object, target: str) -> LoginError:
    text = str(data)
    if text.startswith("No DNS record"):
        return LoginError(f"logged out... Socket error (unknown host: {target})",
                          ExitCode.UNKNOWN_HOST)
    reason = getattr(data, "strerror", None) or text
    return LoginError(f"logged out... Socket error ({reason}: {target})",
                      ExitCode.CONNECT_FAILED)


def _tls_failure(data: object) -> LoginError:
    detail = getattr(data, "verify_message", None) or getattr(data, "reason", None) or str(data)
    return LoginError(f"logged out... TLS could not be negotiated (certificate not trusted: "
                      f"{detail}; use --ca-file for a private CA)", ExitCode.TLS_FAILED)


class XmppClient:
    """One logged-in account."""

    def __init__(self, settings: LoginSettings, report: Report, *, debug: bool = False,
                 dialects: frozenset[Dialect] = frozenset(Dialect),
                 tls_context: asyncio.Future[ssl.SSLContext] | None = None) -> None:
        """``dialects``: what this client answers and advertises; ``tls_context``: the
        TLS context for ``settings.ca_file`` if one is being built already
        (``tls.context_later``)."""
        library.scram_with_hashlib()
        library.scram_nonce_from_the_os()
        self._tls = tls_context
        self.settings = settings
        self.report = report
        self.dialects = dialects
        self.features = COMMON_FEATURES + tuple(
            f for d in Dialect if d in dialects for f in DIALECT_FEATURES[d])
        self.caps_ver = caps.ver([IDENTITY], self.features)
        self.contacts = Contacts()
        self._caps_cache: dict[tuple[str, str], frozenset[str]] = {}
        self._caps_queries: dict[tuple[str, str], set[asyncio.Task[None]]] = {}
        self._presence: dict[str, tuple[tuple[str, str] | None, list[str], int, str]] = {}
        self.on_session: SessionHandler | None = None
        self.on_jmi: JmiHandler | None = None
        self.on_lost: Callable[[str], None] | None = None  # gone for good
        self.on_outage: Callable[[str], None] | None = None  # lost; reconnecting
        self.on_back: Callable[[bool], None] | None = None  # (True: stream resumed)
        self.on_offline: Callable[[str], None] | None = None  # a full JID went away
        self.discovered = IceServers()  # from XEP-0215, filled in before presence
        self.presence_changed = asyncio.Event()  # set at every presence that arrives
        self.discover = True
        self._logs = {d: DebugLog(d) for d in Direction} if debug else None
        self._stream: _Stream | None = None
        self._login: asyncio.Future[None] | None = None
        self._logged_in = False
        self._leaving = False
        self._reconnecting: asyncio.Task[None] | None = None
        self._attempt: asyncio.Future[bool] | None = None  # one reconnection: resumed?

    # -- debug log -----------------------------------------------------------------------
    def _tap(self, direction: Direction, chunk: str) -> None:
        if self._logs is not None:
            self.report(StanzaLog(self._logs[direction].feed(chunk, time.localtime())))

    # -- login -----------------------------------------------------------------------------
    @property
    def jid(self) -> str:
        assert self._stream is not None
        return str(self._stream.boundjid.full)

    @property
    def target(self) -> str:
        if self.settings.server:
            host, port = self.settings.server
            return f"{host}:{port}"
        return f"{self.settings.jid.split('@')[-1].split('/')[0]} (DNS SRV)"

    async def login(self) -> None:
        """Connect, STARTTLS with verification, authenticate, bind, announce voice."""
        loop = asyncio.get_running_loop()
        self._login = loop.create_future()
        context = await self._tls if self._tls is not None else tls.context(
            self.settings.ca_file)
        stream = _Stream(self.settings.jid, self.settings.password,
                         self._tap if self._logs is not None else None, context)
        self._stream = stream
        stream.enable_direct_tls = False  # port 5222 speaks STARTTLS
        stream.enable_plaintext = False
        stream.register_plugin("xep_0030")
        stream.register_plugin("xep_0198")  # stream resumption after a lost connection
        self._install_handlers(stream)
        self.report(Connecting())
        if self.settings.server:
            stream.connect(*self.settings.server)
        else:
            stream.connect()
        try:
            await asyncio.wait_for(self._login, self.settings.timeout)
        except TimeoutError:
            self._abort()
            raise LoginError(f"logged out... Socket error (timed out after "
                             f"{self.settings.timeout:g} s: {self.target})",
                             ExitCode.CONNECT_FAILED) from None
        except LoginError:
            self._abort()
            raise
        await self._announce()
        self._logged_in = True
        self.report(LoggedIn(self.jid))

    def _fail_login(self, error: LoginError, retry: bool = False) -> None:
        """The login failed; for a reconnection attempt, ``retry`` says whether
        another attempt may fare better (the server unreachable or going down) or
        not (the password or certificate refused)."""
        if self._login is not None and not self._login.done():
            self._login.set_exception(error)
        if self._attempt is not None and not self._attempt.done():
            self._attempt.set_exception(ConnectionError(str(error)) if retry else error)

    def _abort(self) -> None:
        if self._stream is not None:
            self._stream.cancel_connection_attempt()
            self._stream.abort()

    def _install_handlers(self, s: _Stream) -> None:
        s.add_event_handler("connected", lambda _: self.report(LoggingIn()))
        s.add_event_handler("session_start", self._on_session_start)
        s.add_event_handler("failed_all_auth", lambda _: self._fail_login(
            LoginError(f"logged out... {NOT_AUTHORIZED}", ExitCode.AUTH_FAILED)))
        s.add_event_handler("session_resumed", lambda _: self._back(resumed=True))
        s.add_event_handler("ssl_invalid_chain", lambda e: self._fail_login(_tls_failure(e)))
        s.add_event_handler("jcall_no_tls", lambda _: self._fail_login(LoginError(
            "logged out... TLS could not be negotiated (the server does not offer STARTTLS)",
            ExitCode.TLS_FAILED)))
        s.add_event_handler("connection_failed", lambda e: self._fail_login(
            _connect_failure(e, self.target), retry=True))
        s.add_event_handler("stream_error", lambda e: self._fail_login(LoginError(
            f"logged out... XMPP stream error ({e['condition']})", ExitCode.CONNECT_FAILED),
            retry=True))
        s.add_event_handler("disconnected", self._on_disconnected)
        s.add_event_handler("presence_available", self._on_presence)
        s.add_event_handler("presence_unavailable", self._on_presence_gone)
        for codec in CODECS.values():
            s.register_handler(Callback(
                codec.dialect.value, MatchXPath(f"{{{s.default_ns}}}iq/{codec.tag}"),
                functools.partial(self._on_session_iq, codec)))
        if Dialect.JINGLE in self.dialects:
            for action in JmiAction:
                s.register_handler(Callback(
                    f"jmi {action}", MatchXPath(f"{{{s.default_ns}}}message/{{{NS_JMI}}}{action}"),
                    self._on_jmi_message))
        disco = s["xep_0030"]
        nodes = [None, f"{CAPS_NODE}#{self.caps_ver}"]
        if Dialect.GINGLE in self.dialects:  # legacy caps: the node#ext a peer may ask about
            nodes += [f"{CAPS_NODE}#{VOICE_EXT}", f"{GOOGLE_CAPS_NODE}#{CAPS_VERSION}",
                      f"{GOOGLE_CAPS_NODE}#{VOICE_EXT}"]
        for node in nodes:
            disco.add_identity(IDENTITY.category, IDENTITY.type, IDENTITY.name, node=node)
            for feature in self.features:
                disco.add_feature(feature, node=node)

    def _on_session_start(self, _: object) -> None:
        if self._login is not None and not self._login.done():
            self._login.set_result(None)
        self._back(resumed=False)

    def _back(self, resumed: bool) -> None:
        if self._attempt is not None and not self._attempt.done():
            self._attempt.set_result(resumed)

    def _on_disconnected(self, reason: object) -> None:
        if not self._logged_in:
            # A failed TLS handshake reaches us as the reason of the disconnect.
            if isinstance(reason, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(reason):
                self._fail_login(_tls_failure(reason))
            self._fail_login(LoginError(f"logged out... Closed by server ({reason or 'no reason'})",
                                        ExitCode.CONNECT_FAILED))
        elif not self._leaving:
            self._outage(str(reason or "Closed by </stream:stream>"))

    # -- reconnection (reconnect.py) -------------------------------------------------------
    def _outage(self, reason: str) -> None:
        if self._attempt is not None and not self._attempt.done():
            self._attempt.set_exception(ConnectionError(reason))  # this attempt failed
        if self._reconnecting is not None:
            return
        log.warning("connection to the server lost (%s): reconnecting", reason)
        if self.on_outage is not None:
            self.on_outage(reason)
        self._reconnecting = asyncio.ensure_future(self._reconnect(reason))

    async def _reconnect(self, reason: str) -> None:
        """Try until the server takes us back: the stream resumed (XEP-0198) or a fresh
        session on the same full JID, announced as at login."""
        assert self._stream is not None
        stream = self._stream
        loop = asyncio.get_running_loop()
        try:
            for delay in Backoff().delays(random.Random()):
                await asyncio.sleep(delay)
                if self._leaving:
                    return
                self._attempt = loop.create_future()
                stream.requested_jid.resource = stream.boundjid.resource
                if self.settings.server:
                    stream.connect(*self.settings.server)
                else:
                    stream.connect()
                try:
                    resumed = await asyncio.wait_for(self._attempt, ATTEMPT_TIMEOUT_S)
                except LoginError as exc:  # (e.g. the password was changed meanwhile)
                    self._give_up(str(exc).removeprefix("logged out... "))
                    return
                except (ConnectionError, TimeoutError) as exc:
                    log.info("reconnection attempt failed: %s", exc or "timed out")
                    stream.cancel_connection_attempt()
                    stream.abort()
                    continue
                if not resumed:
                    await self._announce()
                log.info("back on the server (%s)", "resumed" if resumed else "new session")
                if self.on_back is not None:
                    self.on_back(resumed)
                return
        finally:
            self._reconnecting = None
            self._attempt = None

    def _give_up(self, reason: str) -> None:
        if self.on_lost is not None:
            self.on_lost(reason)

    async def _announce(self) -> None:
        """Roster and STUN/TURN discovery (asked together: neither needs the other's
        answer), then presence: once others can see us calling us is possible, so
        everything a call needs must be known by then."""
        assert self._stream is not None
        stream = self._stream

        async def roster() -> None:
            with contextlib.suppress(IqError, IqTimeout):
                await stream.get_roster(timeout=5)

        async def services() -> None:
            if self.discover:
                self.discovered = await self.ice_servers()

        await asyncio.gather(roster(), services())
        pres = self._stream.Presence()
        # XEP-0115 hashed caps, and Google's legacy ext for libjingle's clients, which
        # look for it rather than ask (gingle.md part D).
        c = {"hash": "sha-1", "node": CAPS_NODE, "ver": self.caps_ver}
        if Dialect.GINGLE in self.dialects:
            c["ext"] = VOICE_EXT
        pres.xml.append(ET.Element(f"{{{NS_CAPS}}}c", c))
        pres.send()

    @property
    def online(self) -> bool:
        """Logged in and connected (False during an outage)."""
        return self._logged_in and self._reconnecting is None

    async def logout(self) -> None:
        if self._stream is None:
            return
        self._leaving = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnecting
        if self._logged_in:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._stream.disconnect(wait=1.0), 3.0)
            self.report(LoggedOut())
        self._abort()

    def trusts(self, jid: str) -> bool:
        """Whether ``jid`` is one of ours, or in the roster with a presence subscription
        either way (RFC 6121 section 2.1.2.5): whom a ringing call may show addresses."""
        if self._stream is None:
            return False
        peer = bare(jid)
        if peer == self._stream.boundjid.bare:
            return True
        roster = self._stream.client_roster
        if not roster.has_jid(peer):  # (indexing would add it)
            return False
        return roster[peer]["subscription"] in ("both", "from", "to")

    # -- presence ------------------------------------------------------------------------
    def _on_presence(self, pres: Any) -> None:
        jid = str(pres["from"])
        if self._stream is None or jid == self.jid:
            return
        c = pres.xml.find(f"{{{NS_CAPS}}}c")
        exts = (c.get("ext") or "").split() if c is not None else []
        hashed = None
        if c is not None and c.get("hash") in caps.HASHES and c.get("ver") and c.get("node"):
            hashed = (c.get("hash", ""), c.get("ver", ""))
            if hashed not in self._caps_cache:
                self._ask_caps(jid, hashed, c.get("node", ""))
        try:
            priority = int(pres["priority"] or 0)
        except ValueError:
            priority = 0
        self._presence[jid] = (hashed, exts, priority, limits.clip(str(pres["status"])))
        self._update(jid)

    def _update(self, jid: str) -> None:
        """What ``jid`` can take, from its caps (legacy ext, or the cached hash)."""
        hashed, exts, priority, status = self._presence[jid]
        features = self._caps_cache.get(hashed, frozenset()) if hashed else frozenset()
        change = self.contacts.available(jid, dialects=dialects_of(features, exts),
                                         priority=priority, status=status)
        self._report(change, jid)

    def present(self, jid: str) -> bool:
        """Whether full ``jid`` has shown an available presence (callable or not)."""
        return jid in self._presence

    def _hashed(self, jid: str) -> tuple[str, str] | None:
        """The (hash, ver) of ``jid``'s hashed caps, if its presence showed them."""
        shown = self._presence.get(jid)
        return shown[0] if shown is not None else None

    def caps_pending(self, jid: str) -> bool:
        """Whether ``jid``'s hashed caps are still being asked about."""
        hashed = self._hashed(jid)
        return hashed is not None and hashed in self._caps_queries

    def _ask_caps(self, jid: str, hashed: tuple[str, str], node: str) -> None:
        """A disco#info query for a (hash, ver) not known yet, to the resource that
        shows it (XEP-0115 section 6.2); the answer is cached once its hash checks out.
        A resource that shows it while one is asked is asked too, up to a few: the
        first may be a dead connection the server keeps for resumption, which never
        answers."""
        tasks = self._caps_queries.setdefault(hashed, set())
        if len(tasks) >= MAX_CAPS_QUERIES or len(self._caps_cache) >= MAX_CAPS_CACHE:
            return
        task = asyncio.ensure_future(self._query_caps(jid, hashed, node))
        tasks.add(task)

        def done(_: object) -> None:
            tasks.discard(task)
            if not tasks:
                self._caps_queries.pop(hashed, None)
            self.presence_changed.set()  # (whoever waits on the answer looks again)

        task.add_done_callback(done)

    async def _query_caps(self, jid: str, hashed: tuple[str, str], node: str) -> None:
        assert self._stream is not None
        algorithm, ver = hashed
        iq = self._stream.Iq(stype="get", sto=jid)
        iq.xml.append(ET.Element(f"{{{NS_DISCO_INFO}}}query", {"node": f"{node}#{ver}"}))
        try:
            result = await iq.send(timeout=CAPS_QUERY_TIMEOUT_S)  # type: ignore[no-untyped-call]
        except (IqError, IqTimeout):
            log.info("no caps from %s", jid)
            return
        query = result.xml.find(f"{{{NS_DISCO_INFO}}}query")
        info = caps.from_disco(query) if query is not None else None
        if info is None or caps.ver(*info, algorithm=algorithm) != ver:
            log.info("caps of %s do not match their hash %s; not cached", jid, limits.clip(ver))
            return
        if hashed in self._caps_cache:
            return  # (another resource answered first)
        self._caps_cache[hashed] = frozenset(info[1])
        for other, (theirs, *_) in list(self._presence.items()):
            if theirs == hashed:
                self._update(other)

    def _on_presence_gone(self, pres: Any) -> None:
        jid = str(pres["from"])
        self._presence.pop(jid, None)
        self._report(self.contacts.unavailable(jid), jid)
        if self.on_offline is not None:
            self.on_offline(jid)

    def _report(self, change: Change | None, jid: str) -> None:
        self.presence_changed.set()
        if change is not None:
            self.report(RosterChange(jid, added=change is Change.ADDED))

    # -- STUN/TURN discovery ---------------------------------------------------------------
    async def ice_servers(self, timeout: float = 2.0) -> IceServers:
        """Ask the server for STUN/TURN services (XEP-0215 section 3); none on error."""
        assert self._stream is not None
        iq = self._stream.Iq(stype="get", sto=self._stream.boundjid.domain)
        iq.xml.append(ET.Element(f"{{{NS_EXTDISCO}}}services"))
        try:
            result = await iq.send(timeout=timeout)  # type: ignore[no-untyped-call]
        except (IqError, IqTimeout):
            return IceServers()
        return parse_services(result.xml)

    # -- session iqs -------------------------------------------------------------------
    def _on_session_iq(self, codec: Codec, iq: Any) -> None:
        if iq["type"] != "set":
            if iq["type"] == "get":
                self._reply_error(iq, codec, StanzaError("bad-request", "modify"),
                                  "session messages are iq sets")
            return
        then = None
        try:
            msg = codec.parse(iq.xml.find(codec.tag))
            if self.on_session is not None:
                then = self.on_session(msg, str(iq["from"]), codec.dialect)
        except RemoteProtocolError as exc:
            self._reply_error(iq, codec, codec.error(exc.fault), str(exc))
            return
        iq.reply().send()
        if then is not None:
            then()

    def _on_jmi_message(self, message: Any) -> None:
        """XEP-0353 messages; a malformed or bounced one is dropped (a message needs
        no answer)."""
        if message["type"] == "error":
            return
        elem = next((c for c in message.xml if c.tag.startswith(f"{{{NS_JMI}}}")), None)
        if elem is None or self.on_jmi is None:
            return
        try:
            msg = parse_jmi(elem)
        except JmiParseError as exc:
            log.info("ignoring a jingle-message from %s: %s", message["from"],
                     limits.clip(str(exc)))
            return
        self.on_jmi(msg, str(message["from"]))

    def send_jmi(self, to: str, msg: JmiMessage) -> None:
        """A XEP-0353 message: type chat, with the <store/> hint (section 3)."""
        assert self._stream is not None
        stanza = self._stream.Message(sto=to, stype="chat")
        stanza.xml.append(jmi_element(msg))
        stanza.xml.append(jmi_store_hint())
        stanza.send()

    def has_feature(self, jid: str, feature: str) -> bool:
        """Whether ``jid``'s verified hashed caps list ``feature``."""
        hashed = self._hashed(jid)
        return hashed is not None and feature in self._caps_cache.get(hashed, frozenset())

    def _reply_error(self, iq: Any, codec: Codec, error: StanzaError, text: str) -> None:
        """An error reply (RFC 6120 section 8.3) with the dialect's conditions; a
        Gingle one echoes the ``<session>`` as libjingle's do (gingle.md part A), as
        much of it as :func:`limits.echo` allows. The text is clipped."""
        text = limits.clip(text)
        log.info("answering %s from %s with %s: %s", limits.clip(iq["id"]), iq["from"],
                 error.condition, text)
        elem = iq.xml.find(codec.tag)
        reply = iq.reply()
        reply["type"] = "error"
        if codec.echoes and elem is not None and (echoed := limits.echo(elem)) is not None:
            reply.xml.insert(0, echoed)
        reply["error"]["type"] = error.type
        reply["error"]["condition"] = error.condition
        reply["error"]["text"] = text
        if error.app is not None:
            reply["error"].xml.append(error.app)
        reply.send()

    def send_session(self, to: str, element: ET.Element) -> asyncio.Future[str | None]:
        """Send ``<iq type="set">`` with a session element (either dialect); the future
        gives None for a result, else the error condition (``timeout`` when slixmpp
        gave up)."""
        assert self._stream is not None
        iq = self._stream.Iq(stype="set", sto=to)
        iq.xml.append(element)
        sent = iq.send(timeout=IQ_HANDLER_TIMEOUT_S)  # type: ignore[no-untyped-call]
        done: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

        def finish(fut: asyncio.Future[Any]) -> None:
            if done.done():
                return
            exc = fut.exception() if not fut.cancelled() else None
            if fut.cancelled():
                done.set_result("cancelled")
            elif isinstance(exc, IqError):
                done.set_result(str(exc.iq["error"]["condition"] or "undefined-condition"))
            elif exc is not None:
                done.set_result("timeout")
            else:
                done.set_result(None)

        sent.add_done_callback(finish)
        return done


def parse_services(xml: ET.Element) -> IceServers:
    """STUN and TURN services (UDP, and TURN over TCP) from an XEP-0215 ``<services>``
    answer (section 3.2), in the server's order; others and malformed ones are skipped."""
    stun: list[StunServer] = []
    turn: list[TurnServer] = []
    services = xml.find(f"{{{NS_EXTDISCO}}}services")
    for svc in services if services is not None else []:
        host, kind = svc.get("host"), svc.get("type")
        try:
            port = int(svc.get("port", str(DEFAULT_STUN_PORT)))
            transport = TurnTransport(svc.get("transport", "udp"))
        except ValueError:
            continue
        if not host or not 0 < port < 65536:
            continue
        if kind == "stun" and transport is TurnTransport.UDP:
            stun.append(StunServer(host, port))
        elif kind == "turn":
            turn.append(TurnServer(host, port, svc.get("username"), svc.get("password"),
                                   transport))
    return IceServers(tuple(stun), tuple(turn))
