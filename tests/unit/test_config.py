import re
from pathlib import Path

import pytest

from jcall.config import (
    Account,
    IceConfig,
    Kind,
    config_path,
    for_account,
    load_file,
    option_defaults,
    parse_server,
    password_source,
    resolve_account,
    resolve_ice,
)
from jcall.errors import ConfigError
from jcall.transport.servers import IceServers, StunServer, TurnServer


@pytest.mark.parametrize("text, expected", [
    ("example.com", ("example.com", 5222)),
    ("example.com:5223", ("example.com", 5223)),
    ("127.0.0.1:15222", ("127.0.0.1", 15222)),
    ("[::1]:5222", ("::1", 5222)),
    ("[::1]", ("::1", 5222)),
])
def test_parse_server(text: str, expected: tuple[str, int]) -> None:
    assert parse_server(text) == expected


@pytest.mark.parametrize("text", ["", ":5222", "host:port", "host:0", "host:70000"])
def test_parse_server_rejects(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_server(text)


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JCALL_PASSWORD", raising=False)
    monkeypatch.delenv("JCALL_JID", raising=False)
    monkeypatch.setattr("jcall.config._interactive", lambda: False)


def test_password_sources_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pwfile = tmp_path / "pw"
    pwfile.write_text("from-file\n")
    settings: dict[str, object] = {"password": "from-config"}

    def resolve(password_file: Path | None) -> Account:
        return resolve_account(jid="a@b.c", server="h:1", ca_file=None,
                               password_file=password_file, settings=settings)

    assert resolve(None).password == "from-config"
    assert password_source(None, settings) == "the config file"
    assert resolve(pwfile).password == "from-file"
    monkeypatch.setenv("JCALL_PASSWORD", "from-env")
    account = resolve(pwfile)
    assert account.password == "from-env"
    assert password_source(pwfile, settings) == "JCALL_PASSWORD"
    assert account.jid == "a@b.c" and account.server == ("h", 1)


def test_no_password_without_a_terminal_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="no password: set JCALL_PASSWORD"):
        resolve_account(jid="a@b.c", server=None, ca_file=None, password_file=None,
                        settings={})


def test_missing_or_broken_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_file(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("jid = ")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_file(bad)


def test_the_default_file_is_xdgs_and_may_be_absent(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config_path() == tmp_path / "jcall" / "config.toml"
    assert load_file(None) == {}
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert config_path() == Path.home() / ".config" / "jcall" / "config.toml"


def test_missing_ca_file_and_bad_jid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JCALL_PASSWORD", "x")
    with pytest.raises(ConfigError, match="CA file not found"):
        resolve_account(jid="a@b.c", server=None, ca_file=tmp_path / "ca.pem",
                        password_file=None, settings={})
    with pytest.raises(ConfigError, match="invalid JID"):
        resolve_account(jid="nobody", server=None, ca_file=None, password_file=None,
                        settings={})


TABLE: dict[str, object] = {
    "codec": "PCMU", "password": "top", "account": "home",
    "accounts": {"home": {"jid": "me@home.example", "ring-timeout": 12},
                 "work": {"jid": "me@work.example", "password": "w", "codec": "PCMA"}}}
PATH = Path("/c.toml")


def test_an_accounts_table_overrides_the_top_level() -> None:
    assert for_account(TABLE, "work", PATH) == {"codec": "PCMA", "password": "w",
                                                "jid": "me@work.example"}
    assert for_account(TABLE, None, PATH)["jid"] == "me@home.example"  # (account = ...)
    assert for_account({"codec": "PCMU"}, None, PATH) == {"codec": "PCMU"}
    with pytest.raises(ConfigError, match=r"^no account 'x' in /c.toml \(it has: home, work\)"):
        for_account(TABLE, "x", PATH)


KEYS = {"codec": ("codec", Kind.VALUE), "ring_timeout": ("ring_timeout", Kind.VALUE),
        "jid": ("jid", Kind.VALUE), "stun": ("stun", Kind.LIST),
        "relay_only": ("relay_only", Kind.FLAG), "no_discover": ("no_discover", Kind.FLAG),
        "input": ("input_", Kind.VALUE)}


def test_settings_become_option_defaults() -> None:
    got = option_defaults(for_account(TABLE, None, PATH), KEYS, PATH)
    assert got == {"codec": "PCMU", "jid": "me@home.example", "ring_timeout": 12}
    assert option_defaults({"stun": "s.example", "discover": False, "input": "a.wav",
                            "relay-only": True}, KEYS, PATH) == \
        {"stun": ["s.example"], "no_discover": True, "input_": "a.wav", "relay_only": True}


@pytest.mark.parametrize(("settings", "message"), [
    ({"bogus": 1}, "/c.toml: unknown setting 'bogus'"),
    ({"stun": 3}, "/c.toml: 'stun' must be a string or a list of strings"),
    ({"relay_only": "yes"}, "/c.toml: 'relay_only' must be true or false"),
    ({"codec": ["PCMU"]}, "/c.toml: 'codec' must be a string or a number"),
])
def test_bad_settings_name_the_file_and_the_key(settings: dict[str, object],
                                                message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        option_defaults(settings, KEYS, PATH)


def test_ice_servers_from_the_options() -> None:
    ice = resolve_ice(stun=("stun.example.org",), turn=("u:p@t.example.org:3479",),
                      relay_only=True, no_discover=True)
    assert ice == IceConfig(IceServers((StunServer("stun.example.org"),),
                                       (TurnServer("t.example.org", 3479, "u", "p"),), True),
                            discover=False)
    with pytest.raises(ConfigError, match=r"^invalid port in server 'host:x'"):
        resolve_ice(stun=("host:x",), turn=(), relay_only=False, no_discover=False)


@pytest.mark.parametrize(("jid", "why"), [("bob@", "domain"), ("@example.com", "nodepart"),
                                          ("bob@exa mple.com", ""),
                                          ("bob\x01@example.com", "localpart"),
                                          ("bob@example.com/\x07", "resource")])
def test_a_malformed_jid_is_a_usage_error_not_a_traceback(jid: str, why: str,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setenv("JCALL_PASSWORD", "x")
    with pytest.raises(ConfigError, match=f"^invalid JID {re.escape(repr(jid))}: .*{why}"):
        resolve_account(jid=jid, server=None, ca_file=None, password_file=None,
                        settings={})
