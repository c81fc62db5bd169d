"""The command line as a person types it (issue 14 item 6): call options after the
command as well as before it, one definition each, and inputs checked in the order a
person would fix them (what was typed, then the sound devices, then the network)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from jcall.errors import ExitCode

from .jcallproc import REPO, Account, start

NO_SOUND = {"JACK_NO_START_SERVER": "1", "JACK_DEFAULT_SERVER": "jcall-none"}


def test_call_options_work_after_the_command(tmp_path: Path, accounts: dict[str, Account],
                                             server: str, ca_file: Path) -> None:
    bob = Account(accounts["bob"].jid + "/after", accounts["bob"].password)
    callee = start("bob", bob, server, ca_file, "listen", "-a", "--once",
                   "--stats-json", str(tmp_path / "b.json"), "--signaling", "gingle")
    caller = None
    try:
        callee.wait_for("logged in...")
        # given before and after the command: the one after it wins
        caller = start("alice", accounts["alice"], server, ca_file, "--codec", "PCMA",
                       "dial", bob.jid, "--codec", "PCMU", "--duration", "0.3",
                       "--stats-json", str(tmp_path / "a.json"))
        assert caller.finish() == ExitCode.OK, caller.err
        assert callee.finish() == ExitCode.OK, callee.err
    finally:
        for proc in (caller, callee):
            if proc is not None and proc.popen.poll() is None:
                proc.popen.kill()
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "ab")
    assert a["codec"] == b["codec"] == "PCMU/8000"
    assert b["signaling"] == "gingle"  # (the callee's own option, after its command)


def jcall(*args: str, env: dict[str, str] | None = None,
          launch: tuple[str, ...] = ("-m", "jcall")) -> subprocess.CompletedProcess[str]:
    """jcall with ``args`` (``launch``: how the interpreter starts it), in an
    environment without the caller's JCALL_ settings."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("JCALL_")}
    full.update(env or {}, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, *launch, *args], capture_output=True,
                          text=True, env=full, timeout=30, stdin=subprocess.DEVNULL)


def test_every_command_lists_the_call_options() -> None:
    for command in ("dial", "listen"):
        out = jcall(command, "--help").stdout
        for option in ("--codec", "--input", "--signaling", "--stats-json", "--jid"):
            assert option in out, (command, option)


def test_a_missing_input_file_is_named_before_the_missing_sound_card(tmp_path: Path) -> None:
    """Without a sound card and without --output: the file is what to fix first."""
    missing = tmp_path / "missing.wav"
    got = jcall("--jid", "alice@example.com", "dial", "bob@example.com",
                "--input", str(missing), env=NO_SOUND)
    assert got.returncode == ExitCode.ERROR, got.stderr
    assert got.stderr.splitlines() == [f"input file not found: {missing}"]


def test_a_malformed_account_jid_is_named_before_the_missing_sound_card() -> None:
    got = jcall("listen", "--jid", "bob@", env=NO_SOUND)
    assert got.returncode == ExitCode.USAGE, got.stderr
    assert len(got.stderr.splitlines()) == 1
    assert got.stderr.startswith("invalid JID 'bob@'")


# Runs jcall as ``python -m jcall`` does, then says which of the optional libraries
# (xmpp/library.py) the process imported.
LOADED_AT_EXIT = """
import atexit, runpy, sys
atexit.register(lambda: print("loaded:", *sorted(m for m in ("aiodns", "pygments")
                                                 if sys.modules.get(m)), file=sys.stderr))
sys.argv[0] = "jcall"
runpy.run_module("jcall", run_name="__main__", alter_sys=True)
"""


def test_a_dial_to_a_given_server_imports_no_srv_resolver() -> None:
    """With --server nothing looks up SRV records, so aiodns (and pycares) stay out:
    the target's JID check must import slixmpp as the login would (issue 14 item 5)."""
    from testbed.ports import free_port

    got = jcall("--jid", "alice@example.com", "--server", f"127.0.0.1:{free_port()}",
                "dial", "bob@example.com", "--silence", "--discard",
                env={"JCALL_PASSWORD": "x"}, launch=("-c", LOADED_AT_EXIT))
    assert got.returncode == ExitCode.CONNECT_FAILED, got.stderr
    assert got.stderr.splitlines()[-1] == "loaded:", got.stderr


def settings_shown(out: str) -> dict[str, tuple[str, str]]:
    """``config show``'s lines as {key: (value, source)}."""
    shown = {}
    for line in out.splitlines():
        if " = " in line:
            key, rest = line.split(" = ", 1)
            value, _, source = rest.rpartition("  (")
            shown[key] = (value, source.rstrip(")"))
    return shown


CONFIG = """\
codec = "PCMU"
ice_timeout = 10
ring-timeout = 20
input = "~/nowhere.wav"
turn = ["u:s3cret@turn.example.net"]
password = "top-secret"
account = "home"

[accounts.home]
jid = "me@home.example"

[accounts.work]
jid = "me@work.example"
stun = "stun.work.example"
"""


def test_flags_over_environment_over_config_file_over_defaults(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    got = jcall("--config", str(config), "config", "show", "--ice-timeout", "5", "--tone", "440",
                env={"JCALL_CODEC": "PCMA", "JCALL_RING_TIMEOUT": "7"})
    assert got.returncode == 0, got.stderr
    shown = settings_shown(got.stdout)
    assert shown["ice_timeout"] == ("5.0", "command line")
    assert shown["codec"] == ("PCMA", "environment JCALL_CODEC")
    assert shown["ring_timeout"] == ("7.0", "environment JCALL_RING_TIMEOUT")
    assert shown["jid"] == ("me@home.example", "config file")  # (account = "home")
    assert shown["signaling"] == ("auto", "default")
    assert shown["tone"] == ("440.0", "command line")
    assert shown["input"] == ("-", "default")  # (--tone given: the file's input yields)
    assert shown["turn"] == ("u:****@turn.example.net", "config file")
    assert shown["password"] == ("********", "the config file")
    assert "s3cret" not in got.stdout and "top-secret" not in got.stdout


def test_account_chosen_after_the_command_or_by_environment(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    for args, env in ((("config", "show", "--account", "work"), {}),
                      (("config", "show"), {"JCALL_ACCOUNT": "work"})):
        got = jcall("--config", str(config), *args, env=env)
        assert got.returncode == 0, got.stderr
        shown = settings_shown(got.stdout)
        assert shown["jid"] == ("me@work.example", "config file")
        assert shown["stun"] == ("stun.work.example", "config file")
    got = jcall("--config", str(config), "--account", "play", "config", "show")
    assert got.returncode == ExitCode.USAGE
    assert got.stderr == f"no account 'play' in {config} (it has: home, work)\n"


def test_a_bad_config_file_is_one_line_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('codec = "PCMU"\nvolume = 11\n')
    got = jcall("--config", str(config), "dial", "bob@example.com")
    assert got.returncode == ExitCode.USAGE
    assert got.stderr.splitlines() == [f"{config}: unknown setting 'volume' (settings are "
                                       "named as the options, e.g. codec, ice_timeout, stun)"]
    assert jcall("--config", str(config), "--version").returncode == 0  # (not read)


def test_shell_completion(tmp_path: Path) -> None:
    got = jcall("completion", "bash")
    assert got.returncode == 0 and "_JCALL_COMPLETE=bash_complete" in got.stdout
    env = {"_JCALL_COMPLETE": "bash_complete", "COMP_WORDS": "jcall dial --sig",
           "COMP_CWORD": "2"}
    full = {k: v for k, v in __import__("os").environ.items() if not k.startswith("JCALL_")}
    full.update(env, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", "from jcall.cli import main; "
                           "main(prog_name='jcall')"], capture_output=True, text=True,
                          env=full, timeout=30)
    assert "plain,--signaling" in done.stdout, done


def test_an_account_from_the_config_file_logs_in_and_takes_a_call(
        tmp_path: Path, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    """No --jid, --server, --ca-file or password given: all from [accounts.bob]."""
    import os

    from .jcallproc import JcallProcess

    bob = accounts["bob"]
    config = tmp_path / "config.toml"
    config.write_text(f'silence = true\ndiscard = true\n\n[accounts.bob]\n'
                      f'jid = "{bob.jid}/fromfile"\npassword = "{bob.password}"\n'
                      f'server = "{server}"\nca_file = "{ca_file}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("JCALL_")}
    env.update(PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    popen = subprocess.Popen([sys.executable, "-m", "jcall", "--config", str(config),
                              "listen", "--account", "bob", "-a", "--once"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env, start_new_session=True)
    callee = JcallProcess("bob", popen)
    try:
        callee.wait_for("logged in...")
        caller = start("alice", accounts["alice"], server, ca_file, "dial",
                       f"{bob.jid}/fromfile", "--duration", "0.3")
        assert caller.finish() == ExitCode.OK, caller.err
        assert callee.finish() == ExitCode.OK, callee.err
    finally:
        if popen.poll() is None:
            popen.kill()
            popen.wait()
