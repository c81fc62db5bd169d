"""STUN and TURN servers a call may use: from the command line or config file
(``--stun``, ``--turn``, ``--relay-only``) or from the account's server (XEP-0215).

Pure: specs in, dataclasses out, :class:`ServerSpecError` for a spec a user got wrong.
The spec forms follow the ``stun:``/``turn:`` URIs of RFC 7064 and RFC 7065, without
their scheme and with the credentials in front: ``HOST[:PORT]`` and
``[USER:PASS@]HOST[:PORT][?transport=udp|tcp]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from urllib.parse import unquote

DEFAULT_PORT = 3478  # RFC 8489 section 9; RFC 8656 section 19


class TurnTransport(Enum):
    UDP = "udp"
    TCP = "tcp"


class ServerSpecError(ValueError):
    """A STUN/TURN server spec that cannot be used (a usage error, not a failure)."""


@dataclass(frozen=True)
class StunServer:
    """A STUN server (RFC 8489) for server-reflexive candidates."""

    host: str
    port: int = DEFAULT_PORT

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def __str__(self) -> str:
        return f"stun {_hostport(self.host, self.port)}"


@dataclass(frozen=True)
class TurnServer:
    """A TURN server (RFC 8656) for relayed candidates, with its credentials."""

    host: str
    port: int = DEFAULT_PORT
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in logs
    transport: TurnTransport = TurnTransport.UDP

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def __str__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"turn {user}{_hostport(self.host, self.port)} ({self.transport.value})"


@dataclass(frozen=True)
class IceServers:
    """What gathering may ask: every STUN server for reflexive candidates, every TURN
    server for a relay; ``relay_only`` offers relays alone (RFC 8445 section 5.1.1.2
    lets an agent leave host and reflexive candidates out; RFC 9429 section 3.5.3
    names it the relay policy)."""

    stun: tuple[StunServer, ...] = ()
    turn: tuple[TurnServer, ...] = ()
    relay_only: bool = False

    @property
    def any(self) -> bool:
        return bool(self.stun or self.turn)

    def __str__(self) -> str:
        parts = [str(s) for s in (*self.stun, *self.turn)] or ["none"]
        return ", ".join(parts) + (" (relay only)" if self.relay_only else "")

    def or_discovered(self, discovered: IceServers) -> IceServers:
        """The user's own servers when they named any, else the discovered ones;
        ``relay_only`` is always the user's."""
        if self.any:
            return self
        return replace(discovered, relay_only=self.relay_only)


NO_SERVERS = IceServers()


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _split_hostport(text: str, spec: str) -> tuple[str, int]:
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ServerSpecError(f"invalid server {spec!r}: unclosed '[' or junk after ']'")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    elif ":" in text:
        raise ServerSpecError(f"invalid server {spec!r}: write an IPv6 address as [ADDR]:PORT")
    else:
        host, port_text = text, ""
    if not host or any(c.isspace() or c in "/@?#" for c in host):
        raise ServerSpecError(f"invalid server {spec!r}: expected HOST[:PORT]")
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ServerSpecError(f"invalid port in server {spec!r}")
    return host, int(port_text)


def _strip_scheme(text: str, scheme: str) -> str:
    lowered = text.lower()
    for prefix in (f"{scheme}://", f"{scheme}:"):
        if lowered.startswith(prefix):
            return text[len(prefix):]
    return text


def parse_stun(spec: str) -> StunServer:
    """``HOST[:PORT]`` (a ``stun:`` prefix is allowed)."""
    text = _strip_scheme(spec.strip(), "stun")
    host, port = _split_hostport(text, spec)
    return StunServer(host, port)


def parse_turn(spec: str) -> TurnServer:
    """``[USER:PASS@]HOST[:PORT][?transport=udp|tcp]`` (a ``turn:`` prefix is allowed;
    ``%XX`` escapes in USER and PASS as in a URI). Without credentials, a server's
    XEP-0215 answer may supply them later; coturn refuses an allocation without."""
    text = _strip_scheme(spec.strip(), "turn")
    text, _, query = text.partition("?")
    transport = TurnTransport.UDP
    if query:
        key, _, value = query.partition("=")
        if key != "transport" or value.lower() not in ("udp", "tcp"):
            raise ServerSpecError(f"invalid TURN server {spec!r}: only '?transport=udp' or "
                                  "'?transport=tcp' may follow the address")
        transport = TurnTransport(value.lower())
    creds, at, hostport = text.rpartition("@")
    username = password = None
    if at:
        user_text, colon, pass_text = creds.partition(":")
        if not user_text or not colon:
            raise ServerSpecError(f"invalid TURN server {spec!r}: credentials are USER:PASS@")
        username, password = unquote(user_text), unquote(pass_text)
    host, port = _split_hostport(hostport, spec)
    return TurnServer(host, port, username, password, transport)


def mask_credentials(spec: str) -> str:
    """A TURN spec with its password replaced by ``****`` (for display)."""
    head, at, tail = spec.rpartition("@")
    if not at:
        return spec
    user, colon, _ = head.partition(":")
    return f"{user}{colon}****@{tail}" if colon else spec


def from_specs(stun: tuple[str, ...] | list[str] = (), turn: tuple[str, ...] | list[str] = (),
               relay_only: bool = False) -> IceServers:
    """The servers a user named; :class:`ServerSpecError` for the first bad spec.
    (``relay_only`` without a TURN server may still get one by discovery: the phone
    checks that once it has logged in.)"""
    return IceServers(tuple(parse_stun(s) for s in stun),
                      tuple(parse_turn(t) for t in turn), relay_only)
