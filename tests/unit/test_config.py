import re
from pathlib import Path

import pytest

from jcall.config import Account, IceConfig, parse_server, resolve_account, resolve_ice
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
    cfg = tmp_path / "c.toml"
    cfg.write_text('jid = "a@b.c"\npassword = "from-config"\nserver = "h:1"\n')
    pwfile = tmp_path / "pw"
    pwfile.write_text("from-file\n")
    def resolve(password_file: Path | None) -> Account:
        return resolve_account(jid=None, server=None, ca_file=None, config_file=cfg,
                               password_file=password_file)

    assert resolve(None).password == "from-config"
    assert resolve(pwfile).password == "from-file"
    monkeypatch.setenv("JCALL_PASSWORD", "from-env")
    account = resolve(pwfile)
    assert account.password == "from-env"
    assert account.jid == "a@b.c" and account.server == ("h", 1)


def test_no_password_without_a_terminal_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="no password: set JCALL_PASSWORD"):
        resolve_account(jid="a@b.c", server=None, ca_file=None, password_file=None,
                        config_file=None)


def test_missing_or_broken_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        resolve_account(jid="a@b.c", server=None, ca_file=None, password_file=None,
                        config_file=tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("jid = ")
    with pytest.raises(ConfigError, match="cannot read config file"):
        resolve_account(jid=None, server=None, ca_file=None, password_file=None,
                        config_file=bad)


def test_missing_ca_file_and_bad_jid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JCALL_PASSWORD", "x")
    with pytest.raises(ConfigError, match="CA file not found"):
        resolve_account(jid="a@b.c", server=None, ca_file=tmp_path / "ca.pem",
                        password_file=None, config_file=None)
    with pytest.raises(ConfigError, match="invalid JID"):
        resolve_account(jid="nobody", server=None, ca_file=None, password_file=None,
                        config_file=None)


def _ice(tmp_path: Path, text: str, **options: object) -> IceConfig:
    config = tmp_path / "config.toml"
    config.write_text(text)
    args: dict[str, object] = {"stun": (), "turn": (), "relay_only": False,
                               "no_discover": False}
    args.update(options)
    return resolve_ice(config_file=config, **args)  # type: ignore[arg-type]


def test_ice_servers_from_the_config_file(tmp_path: Path) -> None:
    ice = _ice(tmp_path, 'stun = "stun.example.org"\nturn = ["u:p@t.example.org:3479"]\n'
                         'relay_only = true\ndiscover = false\n')
    assert ice == IceConfig(IceServers((StunServer("stun.example.org"),),
                                       (TurnServer("t.example.org", 3479, "u", "p"),), True),
                            discover=False)


def test_ice_servers_on_the_command_line_replace_the_files(tmp_path: Path) -> None:
    ice = _ice(tmp_path, 'stun = "stun.example.org"\n', turn=("u:p@127.0.0.1",))
    assert ice.servers == IceServers((), (TurnServer("127.0.0.1", 3478, "u", "p"),))
    assert ice.discover
    assert not _ice(tmp_path, "discover = true\n", no_discover=True).discover


@pytest.mark.parametrize(("text", "options", "message"), [
    ("", {"stun": ("host:x",)}, "invalid port in server 'host:x'"),
    ('turn = ["a@b"]\n', {}, "config file: invalid TURN server 'a@b'"),
    ("stun = 3\n", {}, "config key 'stun' must be a string or a list of strings"),
    ('relay_only = "yes"\n', {}, "config key 'relay_only' must be true or false"),
])
def test_bad_ice_settings_are_usage_errors(tmp_path: Path, text: str,
                                           options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match="^" + message.replace("[", r"\[")):
        _ice(tmp_path, text, **options)


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
                        config_file=None)
