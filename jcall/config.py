"""Where jcall's settings come from: options, ``JCALL_*`` environment variables, the
TOML config file (``$XDG_CONFIG_HOME/jcall/config.toml``, by default
``~/.config/jcall/config.toml``), or a prompt; in that order of precedence. Never a
password on the command line: it would show in ``ps`` and shell history.

The file holds a default for any option, named as the option (``codec = "PCMU"``,
``ice_timeout = 10``, ``stun = ["stun.example.net"]``; ``-`` or ``_`` alike), and
``password``; ``[accounts.NAME]`` tables hold the same for ``--account NAME`` and
override the top level; ``account = "NAME"`` picks one by default."""

from __future__ import annotations

import enum
import getpass
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .transport.servers import IceServers, ServerSpecError, from_specs

DEFAULT_CONFIG = Path("~/.config/jcall/config.toml")  # where XDG_CONFIG_HOME is unset
DEFAULT_PORT = 5222
PASSWORD_ENV = "JCALL_PASSWORD"
JID_ENV = "JCALL_JID"


@dataclass(frozen=True)
class Account:
    """The account to log in with, as the options and the config file give it."""

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


def config_path(explicit: Path | None = None) -> Path:
    """The file named, or the XDG one (XDG Base Directory Specification)."""
    if explicit is not None:
        return explicit.expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return Path(xdg) / "jcall" / "config.toml" if xdg else DEFAULT_CONFIG.expanduser()


def load_file(path: Path | None) -> dict[str, object]:
    """The config table; the default file may be absent, a named one may not."""
    explicit = path is not None
    path = config_path(path)
    if not path.exists():
        if explicit:
            raise ConfigError(f"config file not found: {path}")
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None


def for_account(table: dict[str, object], account: str | None,
                path: Path) -> dict[str, object]:
    """The settings of ``account`` (else the file's ``account``, else the top level):
    its ``[accounts.NAME]`` table over the top level's keys."""
    accounts = table.get("accounts", {})
    if not isinstance(accounts, dict):
        raise ConfigError(f"{path}: 'accounts' must be a table of [accounts.NAME] tables")
    name = account or _text(table, "account")
    top = {k: v for k, v in table.items() if k not in ("accounts", "account")}
    if name is None:
        return top
    chosen = accounts.get(name)
    if not isinstance(chosen, dict):
        known = ", ".join(sorted(accounts)) or "none"
        raise ConfigError(f"no account '{name}' in {path} (it has: {known})")
    return top | chosen


class Kind(enum.Enum):
    """What an option takes, as far as a config file's value is checked here (click
    converts and checks the rest as it does for the command line)."""

    FLAG = "true or false"
    LIST = "a string or a list of strings"
    VALUE = "a string or a number"


def option_defaults(settings: dict[str, object], keys: dict[str, tuple[str, Kind]],
                    path: Path) -> dict[str, object]:
    """``settings`` as option defaults: each key named as an option (``keys``: its
    name with ``_`` for ``-`` -> parameter name and kind); ``password`` is not an
    option, and the old ``discover = false`` is ``no_discover``."""
    out: dict[str, object] = {}
    for key, value in settings.items():
        name = key.replace("-", "_")
        if name == "password":
            continue
        if name == "discover" and isinstance(value, bool):
            name, value = "no_discover", not value
        if name not in keys:
            raise ConfigError(f"{path}: unknown setting '{key}' (settings are named as "
                              "the options, e.g. codec, ice_timeout, stun)")
        param, kind = keys[name]
        if kind is Kind.LIST and isinstance(value, str):
            value = [value]
        ok = {Kind.FLAG: isinstance(value, bool),
              Kind.LIST: isinstance(value, list) and all(isinstance(v, str) for v in value),
              Kind.VALUE: isinstance(value, (str, int, float)) and not isinstance(value, bool)}
        if not ok[kind]:
            raise ConfigError(f"{path}: '{key}' must be {kind.value}")
        out[param] = value
    return out


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
                    password_file: Path | None, settings: dict[str, object]) -> Account:
    """The account to log in with: the options (flags, environment or config file, as
    click merged them), a ``JID:`` prompt on a terminal, and the password."""
    if not jid and _interactive():
        jid = input("JID: ").strip()
    if not jid or "@" not in jid:
        raise ConfigError("no account: give --jid USER@DOMAIN (or JCALL_JID, or 'jid' in "
                          "the config file)" if not jid else f"invalid JID {jid!r}")
    check_jid(jid)
    ca = ca_file.expanduser() if ca_file is not None else None
    if ca is not None and not ca.is_file():
        raise ConfigError(f"CA file not found: {ca}")
    return Account(jid=jid, password=_password(password_file, settings),
                   server=parse_server(server) if server else None, ca_file=ca)


@dataclass(frozen=True)
class IceConfig:
    """STUN/TURN servers: the user's own, and whether to ask the account's server."""

    servers: IceServers  # the user's own (may be empty)
    discover: bool  # also ask the account's server (XEP-0215)


def resolve_ice(*, stun: tuple[str, ...], turn: tuple[str, ...], relay_only: bool,
                no_discover: bool) -> IceConfig:
    """STUN/TURN servers as the options give them (from the command line, the
    environment or the config file: servers named on the command line replace the
    file's)."""
    try:
        servers = from_specs(stun, turn, relay_only)
    except ServerSpecError as exc:
        raise ConfigError(str(exc)) from None
    return IceConfig(servers, not no_discover)


def password_source(password_file: Path | None, settings: dict[str, object]) -> str:
    """Where the password will come from (``jcall config show``)."""
    if os.environ.get(PASSWORD_ENV) is not None:
        return PASSWORD_ENV
    if password_file is not None:
        return f"--password-file {password_file}"
    if settings.get("password") is not None:
        return "the config file"
    return "asked at login" if _interactive() else "none (login will fail)"


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
