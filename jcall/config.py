"""Where jcall's account settings come from: options, environment, the TOML config
file (``~/.config/jcall/config.toml``), or a prompt. Never a password on the command
line: it would show in ``ps`` and shell history."""

from __future__ import annotations

import getpass
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .transport.servers import IceServers, ServerSpecError, from_specs

DEFAULT_CONFIG = Path("~/.config/jcall/config.toml")
DEFAULT_PORT = 5222
PASSWORD_ENV = "JCALL_PASSWORD"
JID_ENV = "JCALL_JID"


@dataclass(frozen=True)
class Account:
    jid: str
    password: str
    server: tuple[str, int] | None
    ca_file: Path | None


def parse_server(text: str) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT``, ``[V6]`` or ``[V6]:PORT``; the port defaults to 5222."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    if not host:
        raise ConfigError(f"invalid server {text!r}: expected HOST[:PORT]")
    try:
        port = int(port_text) if port_text else DEFAULT_PORT
    except ValueError:
        raise ConfigError(f"invalid port in server {text!r}") from None
    if not 0 < port < 65536:
        raise ConfigError(f"invalid port in server {text!r}")
    return host, port


def load_file(path: Path | None) -> dict[str, object]:
    """The config table; the default file may be absent, a named one may not."""
    explicit = path is not None
    path = (path or DEFAULT_CONFIG).expanduser()
    if not path.exists():
        if explicit:
            raise ConfigError(f"config file not found: {path}")
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None


def _interactive() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _text(table: dict[str, object], key: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"config key '{key}' must be a string")
    return value


def resolve_account(*, jid: str | None, server: str | None, ca_file: Path | None,
                    password_file: Path | None, config_file: Path | None) -> Account:
    table = load_file(config_file)
    jid = jid or os.environ.get(JID_ENV) or _text(table, "jid")
    if not jid and _interactive():
        jid = input("JID: ").strip()
    if not jid or "@" not in jid:
        raise ConfigError("no account: give --jid USER@DOMAIN (or JCALL_JID, or 'jid' in "
                          "the config file)" if not jid else f"invalid JID {jid!r}")
    check_jid(jid)
    server_text = server or _text(table, "server")
    ca_text = _text(table, "ca_file")
    ca = ca_file or (Path(ca_text).expanduser() if ca_text else None)
    if ca is not None and not ca.is_file():
        raise ConfigError(f"CA file not found: {ca}")
    return Account(jid=jid, password=_password(password_file, table),
                   server=parse_server(server_text) if server_text else None, ca_file=ca)


@dataclass(frozen=True)
class IceConfig:
    servers: IceServers  # the user's own (may be empty)
    discover: bool  # also ask the account's server (XEP-0215)


def _texts(table: dict[str, object], key: str) -> list[str]:
    value = table.get(key, [])
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"config key '{key}' must be a string or a list of strings")
    return list(value)


def _flag(table: dict[str, object], key: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"config key '{key}' must be true or false")
    return value


def resolve_ice(*, stun: tuple[str, ...], turn: tuple[str, ...], relay_only: bool,
                no_discover: bool, config_file: Path | None) -> IceConfig:
    """STUN/TURN servers from the options, else from the config file (``stun``,
    ``turn``: a spec or a list of them; ``relay_only``, ``discover``: booleans).
    Servers named on the command line replace the file's; a flag given on the
    command line wins over the file."""
    table = load_file(config_file)
    relay = relay_only or _flag(table, "relay_only", False)
    from_file = not (stun or turn)
    if from_file:
        stun, turn = tuple(_texts(table, "stun")), tuple(_texts(table, "turn"))
    try:
        servers = from_specs(stun, turn, relay)
    except ServerSpecError as exc:
        raise ConfigError(("config file: " if from_file else "") + str(exc)) from None
    discover = not no_discover and _flag(table, "discover", True)
    return IceConfig(servers, discover)


def check_jid(jid: str) -> None:
    """RFC 7622's rules as slixmpp applies them (it would raise them later, deep in
    its constructor)."""
    from slixmpp.jid import JID, InvalidJID  # (slixmpp is paid for by logging in anyway)

    try:
        JID(jid)
    except InvalidJID as exc:
        raise ConfigError(f"invalid JID {jid!r}: {exc}") from None


def _password(password_file: Path | None, table: dict[str, object]) -> str:
    if (env := os.environ.get(PASSWORD_ENV)) is not None:
        return env
    if password_file is not None:
        try:
            return password_file.read_text().rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(f"cannot read password file {password_file}: "
                              f"{exc.strerror}") from None
    if (stored := _text(table, "password")) is not None:
        return stored
    if _interactive():
        return getpass.getpass("Password: ")
    raise ConfigError(f"no password: set {PASSWORD_ENV}, use --password-file, or put "
                      "'password' in the config file")
