"""The ``jcall`` command line (click). Commands only parse options and run the phone;
this module is the one place that turns errors into a line and an exit code.

What a command needs is imported when it runs, not when the module loads: ``--help``,
``--version`` and usage errors pay for click and nothing else (numpy, slixmpp, aioice
and asyncio are most of jcall's start-up).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from . import __version__
from .commands import Scope
from .errors import ConfigError, ExitCode, JcallError
from .signaling.model import SignalingMode
from .transport.events import IceMode

if TYPE_CHECKING:
    import asyncio

    from .answer import Mode as AnswerMode
    from .audio.settings import AudioSettings
    from .console import CallConsole
    from .events import Report
    from .phone import Phone
    from .terminal import Terminal

Action = Callable[["Phone", "asyncio.Event", "CallConsole | None"], Awaitable[ExitCode]]
STATUS_REFRESH_S = 1.0  # the live status line on a terminal


@dataclass(frozen=True)
class IceOptions:
    """STUN/TURN as the options give them (command line, environment, config file)."""

    stun: tuple[str, ...]
    turn: tuple[str, ...]
    relay_only: bool
    no_discover: bool


@dataclass
class App:
    """What the group options decided; shared with the commands via ``ctx.obj``."""

    debug: bool
    jid: str | None
    server: str | None
    ca_file: Path | None
    settings: dict[str, object]  # the config file's, for the chosen account
    password_file: Path | None
    ice_addresses: tuple[str, ...]
    ice_timeout: float
    ice_mode: IceMode
    ice_loopback: bool
    signaling: SignalingMode
    ice: IceOptions
    audio: AudioSettings
    codec: str | None
    stats_json: Path | None
    stats_interval: float | None
    ring_timeout: float
    terminal: Terminal
    signalled: int | None = None  # the first SIGINT/SIGTERM that asked us to leave
    # Which commands are read from stdin: all of them (``console``), the in-call ones
    # (``dial``/``listen`` when stdin is a terminal), or none.
    commands: Scope | None = None
    answer: AnswerMode | None = None  # listen's -a / --reject (else: ask)

    def run(self, action: Action) -> None:
        """Log in, run ``action``, log out; exit with the code that decided, or
        128 + the signal's number when Ctrl-C (130) or SIGTERM (143) ended it."""
        import asyncio
        import signal

        try:
            code = int(asyncio.run(self._main(action)))
        except JcallError as exc:
            self.terminal.error(str(exc))
            code = exc.exit_code
        except KeyboardInterrupt:  # (before the loop took the signal over)
            self.signalled = signal.SIGINT
        if self.signalled is not None:
            code = 128 + self.signalled
        sys.exit(int(code))

    def load_xmpp(self) -> None:
        """Import slixmpp as this run will use it: before anything else imports it
        (the JID check does)."""
        from .xmpp import library

        library.load(dns_srv=self.server is None)

    async def _main(self, action: Action) -> ExitCode:
        import asyncio
        import signal

        self.load_xmpp()
        from .xmpp import tls

        # (parsing a CA store is OpenSSL's work, without the GIL: beside the imports)
        tls_context = tls.context_later(self.ca_file)
        from .answer import AnswerPolicy
        from .answer import Mode as AnswerMode
        from .audio import formats
        from .call import CallSettings
        from .config import check_jid, resolve_account, resolve_ice
        from .phone import Phone, PhoneSettings
        from .xmpp.client import LoginSettings, XmppClient

        try:
            preference = formats.prefer(self.codec)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        # In the order a person would fix them: what was typed (the JID, the files),
        # then the sound devices, then the account and the network.
        self.audio.check_files()
        if self.jid is not None:
            check_jid(self.jid)
        openers: dict[str, Any] = {}
        if self.audio.uses_input_device or self.audio.uses_output_device:
            from .audio import device  # (sounddevice and numpy: only for the devices)

            device.check(self.audio)  # before logging in: say now if there is no sound
            if self.codec is None:  # (what the devices run at, unless the user chose)
                preference = formats.at_rate(device.native_rate(self.audio), preference)
            openers = {"open_stream": device.open_stream}
        account = resolve_account(jid=self.jid, server=self.server, ca_file=self.ca_file,
                                  password_file=self.password_file, settings=self.settings)
        ice = resolve_ice(stun=self.ice.stun, turn=self.ice.turn,
                          relay_only=self.ice.relay_only, no_discover=self.ice.no_discover)
        loop = asyncio.get_running_loop()
        hangup = asyncio.Event()
        call_console: CallConsole | None = None

        def interrupted(sig: int) -> None:
            if self.signalled is not None:  # a second one: leave now, waiting for no one
                if call_console is not None:
                    call_console.lines.close()  # (the terminal's settings back as found)
                self.terminal.flush()
                os._exit(128 + self.signalled)
            self.signalled = sig
            hangup.set()  # hang up (terminate sent, its ack awaited briefly), log out

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, interrupted, sig)
        report = self._reporters(status_line=self.commands is not Scope.CONSOLE)
        client = XmppClient(LoginSettings(account.jid, account.password, account.server,
                                          account.ca_file), report, debug=self.debug,
                            dialects=self.signaling.dialects, tls_context=tls_context)
        phone = Phone(client, report, PhoneSettings(
            call=CallSettings(ice_timeout=self.ice_timeout, audio=self.audio,
                              snapshot_interval=self._snapshot_interval(), **openers),
            host_addresses=list(self.ice_addresses) or None, formats=preference,
            ice_mode=self.ice_mode, ice_loopback=self.ice_loopback, signaling=self.signaling,
            ice_servers=ice.servers, discover=ice.discover, ring_timeout=self.ring_timeout),
            AnswerPolicy(self.answer or AnswerMode.ASK, ring_timeout=self.ring_timeout))
        call_console = self._call_console(phone)
        commands = None
        if call_console is not None and self.commands is Scope.CALL:
            commands = asyncio.ensure_future(call_console.run(hangup))
        try:
            return await action(phone, hangup, call_console)
        finally:
            if commands is not None:
                commands.cancel()
            await phone.stop()

    def _call_console(self, phone: Phone) -> CallConsole | None:
        """The commands (and the question about an incoming call) read from stdin."""
        from .console import CallConsole
        from .prompt import EditedLines, Lines, PlainLines
        from .terminal import stdin_is_terminal

        if self.commands is None:
            return None
        lines: Lines
        if self.commands is Scope.CONSOLE and stdin_is_terminal() and self.terminal.is_terminal:
            lines = EditedLines(self.terminal)
        else:
            lines = PlainLines()
        return CallConsole(phone, self.terminal, lines, self.commands)

    def _reporters(self, status_line: bool) -> Report:
        from .heap import FrozenWhileInCall
        from .reporters import LineReporter, StatsFile, StatusLine, fan_out

        # (the heap policy listens to the same events: it is the process's, not a call's)
        reporters: list[Report] = [LineReporter(self.terminal), FrozenWhileInCall()]
        if status_line and self.terminal.is_terminal:
            reporters.append(StatusLine(self.terminal))
        if self.stats_json is not None:
            reporters.append(StatsFile(self.stats_json, self.terminal, self.stats_interval))
        return fan_out(reporters)

    def _snapshot_interval(self) -> float | None:
        """How often a call in progress takes a snapshot: every second for the status
        line on a terminal, every --stats-interval for the statistics file."""
        wanted = [STATUS_REFRESH_S] if self.terminal.is_terminal else []
        if self.stats_json is not None and self.stats_interval is not None:
            wanted.append(self.stats_interval)
        return min(wanted, default=None)


def _censor_record(record: logging.LogRecord) -> bool:
    """slixmpp logs every stanza at debug level, SASL exchanges included."""
    from .xmpp import debuglog

    text = record.getMessage()
    censored = debuglog.censor(text)
    if censored != text:
        record.msg, record.args = censored, None
    return True


def _setup_logging() -> None:
    # Library loggers (slixmpp, aioice) report failures jcall explains itself; keep
    # them quiet unless JCALL_LOG asks for them.
    level = os.environ.get("JCALL_LOG", "").upper()
    if level:
        logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        for handler in logging.getLogger().handlers:
            handler.addFilter(_censor_record)
    else:
        logging.basicConfig(level=logging.CRITICAL + 1)


# Every option of a call, defined once and accepted before the command and after it
# (``jcall dial JID --codec PCMU`` as well as ``jcall --codec PCMU dial JID``); given
# in both places, the one after the command wins (repeatable ones add up).
CALL_OPTIONS = [
    click.option("-d", "--debug", is_flag=True, help="Print every XMPP stanza sent and received."),
    click.option("--jid", help="Your account, USER@DOMAIN[/RESOURCE] (or JCALL_JID)."),
    click.option("--server", metavar="HOST[:PORT]",
                 help="Connect here instead of the domain's DNS SRV records."),
    click.option("--ca-file", type=click.Path(path_type=Path), metavar="PEM",
                 help="Trust this CA for the server certificate (verification stays on)."),
    click.option("--config", type=click.Path(path_type=Path), metavar="FILE",
                 help="TOML config file (default $XDG_CONFIG_HOME/jcall/config.toml, "
                      "~/.config/jcall/config.toml)."),
    click.option("--account", metavar="NAME",
                 help="Use the config file's [accounts.NAME] settings."),
    click.option("--password-file", type=click.Path(path_type=Path), metavar="FILE",
                 help="Read the password from FILE (or JCALL_PASSWORD, or the config)."),
    click.option("--ice-address", multiple=True, metavar="ADDR",
                 help="Use only this local address for host candidates (repeatable)."),
    click.option("--ice-timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
                 help="Seconds from accept to a connected ICE path before giving up."),
    click.option("--ice", "ice_mode", type=click.Choice([m.value for m in IceMode]),
                 default=IceMode.AUTO.value, show_default=True,
                 help="ICE flavour: RFC 8445, Google ICE (libjingle, Pidgin), or per peer."),
    click.option("--signaling", type=click.Choice([m.value for m in SignalingMode]),
                 default=SignalingMode.AUTO.value, show_default=True,
                 help="Session protocol: Google's (Gingle), standard Jingle, or per peer "
                      "(Jingle where the peer has it). Also what jcall advertises."),
    click.option("--ice-loopback", is_flag=True,
                 help="Offer 127.0.0.1 and accept the peer's loopback candidates "
                      "(calls on this machine)."),
    click.option("--stun", multiple=True, metavar="HOST[:PORT]",
                 help="STUN server for reflexive candidates (repeatable; default: what the "
                      "account's server offers)."),
    click.option("--turn", multiple=True, metavar="[USER:PASS@]HOST[:PORT][?transport=udp|tcp]",
                 help="TURN server for a relay candidate (repeatable)."),
    click.option("--relay-only", is_flag=True,
                 help="Offer only TURN relay candidates: the peer never learns your addresses."),
    click.option("--no-discover", is_flag=True,
                 help="Do not ask the account's server for STUN/TURN services (XEP-0215)."),
    click.option("--input", "input_", type=click.Path(path_type=Path, dir_okay=False),
                 metavar="FILE.wav", help="Send this WAV file (then silence) instead of the mic."),
    click.option("--output", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE.wav",
                 help="Write what the other side says to this WAV file instead of playing it."),
    click.option("--tone", type=click.FloatRange(min=1, max=20000), metavar="HZ",
                 help="Send a sine tone instead of the microphone."),
    click.option("--silence", is_flag=True, help="Send silence instead of the microphone."),
    click.option("--discard", is_flag=True, help="Discard received audio instead of playing it."),
    click.option("--input-device", metavar="INDEX|NAME", help="Microphone (see 'jcall devices')."),
    click.option("--output-device", metavar="INDEX|NAME", help="Speaker (see 'jcall devices')."),
    click.option("--codec", metavar="NAME[/RATE[/CHANNELS]]",
                 help="Prefer this codec: L16 (44100, 48000, 16000, 8000), PCMU, PCMA."),
    click.option("--stats-json", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
                 help="Write the call statistics to FILE as JSON."),
    click.option("--stats-interval", type=click.FloatRange(min=0.1), metavar="SECONDS",
                 help="Also rewrite --stats-json with a live snapshot this often during "
                      "the call; the final file lists the snapshots."),
    click.option("--ring-timeout", type=click.FloatRange(min=0, min_open=True), default=30.0,
                 show_default=True, metavar="SECONDS",
                 help="Decline an incoming call nobody answered, or give up an outgoing "
                      "one, after this long."),
]


def call_options(f: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(CALL_OPTIONS):
        f = option(f)
    return f


class JcallGroup(click.Group):
    """Reads the config file before the options are parsed: its settings become the
    options' defaults (click's ``default_map``), below the ``JCALL_*`` variables and
    the command line."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        if not any(a in ("-h", "--help", "--version") for a in args) and \
                "default_map" not in extra:
            try:
                extra["default_map"], settings = _config_defaults(self, args)
            except ConfigError as exc:
                from .terminal import Terminal

                Terminal().error(str(exc))
                sys.exit(int(exc.exit_code))
        else:
            settings = {}
        ctx = super().make_context(info_name, args, parent, **extra)
        ctx.meta["jcall.settings"] = settings
        return ctx


def _given(args: list[str], option: str) -> str | None:
    """The value of ``option`` in ``args`` (wherever it is: the call options may
    follow the command), the last one given."""
    found = None
    for i, arg in enumerate(args):
        if arg == option and i + 1 < len(args):
            found = args[i + 1]
        elif arg.startswith(option + "="):
            found = arg.split("=", 1)[1]
    return found


def _config_defaults(group: click.Group, args: list[str]
                     ) -> tuple[dict[str, Any], dict[str, object]]:
    """The config file's settings for the chosen account, as ``default_map`` (the
    group's options; each command's own under its name) and as read."""
    from .config import Kind, config_path, for_account, load_file, option_defaults

    named = _given(args, "--config") or os.environ.get("JCALL_CONFIG")
    path = config_path(Path(named) if named else None)
    table = load_file(Path(named) if named else None)
    account = _given(args, "--account") or os.environ.get("JCALL_ACCOUNT")
    settings = for_account(table, account, path) if table else {}
    commands = [c for c in group.commands.values() if c.name not in ("config", "completion")]
    keys = {_key(p): (p.name, Kind.FLAG if p.is_flag else Kind.LIST if p.multiple
                      else Kind.VALUE)
            for c in (group, *commands) for p in c.params
            if isinstance(p, click.Option) and p.name is not None and p.expose_value}
    defaults = option_defaults(settings, keys, path)
    default_map: dict[str, Any] = {k: v for k, v in defaults.items()
                                   if any(p.name == k for p in group.params)}
    for command in commands:
        own = {p.name for p in command.params} - {p.name for p in group.params}
        mine = {k: v for k, v in defaults.items() if k in own}
        if mine and command.name is not None:
            default_map[command.name] = mine
    return default_map, settings


def _key(option: click.Option) -> str:
    """An option's name in the config file: its long name, ``_`` for ``-``."""
    long = max(option.opts, key=len)
    return long.lstrip("-").replace("-", "_")


@click.group(cls=JcallGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="jcall")
@call_options
@click.pass_context
def main(ctx: click.Context, /, **given: Any) -> None:
    """Peer-to-peer voice calls over XMPP (Google's session protocol and Jingle)."""
    _setup_logging()
    ctx.obj = {"values": given,
               "sources": {name: ctx.get_parameter_source(name) for name in given}}


# Each call option's environment variable: JCALL_ and its name in the config file.
for _option in main.params:
    if isinstance(_option, click.Option) and _option.name not in ("help", "version"):
        _option.envvar = "JCALL_" + _key(_option).upper()

# Of each group, one source of audio and one sink: one given on the command line
# overrides the others' defaults (the config file's or the environment's).
EXCLUSIVE = (("input_", "tone", "silence", "input_device"),
             ("output", "discard", "output_device"))


def _merged(ctx: click.Context, given: dict[str, Any]
            ) -> tuple[dict[str, Any], dict[str, ParameterSource | None]]:
    """The options of the group and of the command, merged (see CALL_OPTIONS), with
    their sources: given after the command, an option wins; repeatable ones given on
    both sides add up."""
    root = ctx.find_root()
    before: dict[str, Any] = root.obj["values"]
    sources: dict[str, ParameterSource | None] = dict(root.obj["sources"])
    merged: dict[str, Any] = {}
    for name, value in given.items():
        after = ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
        ahead = sources[name] is ParameterSource.COMMANDLINE
        if after and ahead and isinstance(value, tuple):
            merged[name] = tuple(before[name]) + value
        else:
            merged[name] = value if after else before[name]
        if after:
            sources[name] = ParameterSource.COMMANDLINE
    for group in EXCLUSIVE:
        if any(sources[name] is ParameterSource.COMMANDLINE for name in group):
            for name in group:
                if sources[name] is not ParameterSource.COMMANDLINE:
                    merged[name] = False if isinstance(merged[name], bool) else None
                    sources[name] = ParameterSource.DEFAULT
    return merged, sources


def _app(ctx: click.Context, given: dict[str, Any]) -> App:
    settings: dict[str, object] = ctx.find_root().meta.get("jcall.settings", {})
    values = _merged(ctx, given)[0]
    for name in ("config", "account"):  # (read before parsing: JcallGroup)
        del values[name]
    return _make_app(settings=settings, **values)


def _make_app(debug: bool, jid: str | None, server: str | None,
              ca_file: Path | None, password_file: Path | None,
              ice_address: tuple[str, ...], ice_timeout: float, ice_mode: str, signaling: str,
              ice_loopback: bool,
              stun: tuple[str, ...], turn: tuple[str, ...], relay_only: bool, no_discover: bool,
              input_: Path | None,
              output: Path | None, tone: float | None, silence: bool, discard: bool,
              input_device: str | None, output_device: str | None, codec: str | None,
              stats_json: Path | None, stats_interval: float | None,
              ring_timeout: float, settings: dict[str, object]) -> App:
    from .audio.settings import AudioSettings
    from .terminal import Terminal
    from .transport.servers import ServerSpecError, from_specs

    # (a config file's paths may start with ~, as a shell's would have been expanded)
    input_, output, stats_json, password_file, ca_file = (
        p.expanduser() if p is not None else None
        for p in (input_, output, stats_json, password_file, ca_file))

    sources = [name for name, given in (("--input", input_), ("--tone", tone),
                                        ("--silence", silence), ("--input-device", input_device))
               if given]
    if len(sources) > 1:
        raise click.UsageError(f"{' and '.join(sources)} exclude each other")
    sinks = [name for name, given in (("--output", output), ("--discard", discard),
                                      ("--output-device", output_device)) if given]
    if len(sinks) > 1:
        raise click.UsageError(f"{' and '.join(sinks)} exclude each other")
    if stats_interval is not None and stats_json is None:
        raise click.UsageError("--stats-interval needs --stats-json FILE")
    try:  # a bad spec is a usage error now, before anything else is tried
        from_specs(stun, turn, relay_only)
    except ServerSpecError as exc:
        raise click.UsageError(str(exc)) from None
    audio = AudioSettings(input=input_, output=output, tone=tone, input_device=input_device,
                          output_device=output_device, silent=silence, mute_output=discard)
    return App(debug, jid, server, ca_file, settings, password_file, ice_address,
               ice_timeout, IceMode(ice_mode), ice_loopback, SignalingMode(signaling),
               IceOptions(stun, turn, relay_only, no_discover), audio, codec, stats_json,
               stats_interval, ring_timeout, Terminal())


@main.command()
@click.option("-a", "--auto-accept", is_flag=True, help="Accept every incoming call.")
@click.option("--reject", is_flag=True, help="Reject every incoming call.")
@click.option("--once", is_flag=True, help="Exit after the first call.")
@call_options
@click.pass_context
def listen(ctx: click.Context, /, auto_accept: bool, reject: bool, once: bool,
           **given: Any) -> None:
    """Log in and wait for calls."""
    if auto_accept and reject:
        raise click.UsageError("--auto-accept and --reject exclude each other")
    app = _app(ctx, given)
    app.commands = _in_call_commands()
    from .answer import Mode as AnswerMode

    app.answer = AnswerMode.ACCEPT if auto_accept else \
        AnswerMode.REJECT if reject else AnswerMode.ASK
    app.run(lambda phone, hangup, _: phone.listen(once=once, hangup=hangup))


@main.command()
@click.argument("target", metavar="JID")
@click.option("--duration", type=click.FloatRange(min=0), metavar="SECONDS",
              help="Hang up this long after the call is in progress (default: Ctrl-C).")
@call_options
@click.pass_context
def dial(ctx: click.Context, /, target: str, duration: float | None, **given: Any) -> None:
    """Call JID (a full JID, or a bare one resolved to its best callable resource)."""
    from .config import check_jid

    app = _app(ctx, given)
    app.load_xmpp()
    try:
        check_jid(target)  # (a usage error, before any device or network is touched)
    except ConfigError as exc:
        app.terminal.error(f"cannot call: {exc}")
        sys.exit(int(exc.exit_code))
    app.commands = _in_call_commands()
    app.run(lambda phone, hangup, _: phone.dial(target, duration, hangup))


@main.command()
@call_options
@click.pass_context
def console(ctx: click.Context, /, **given: Any) -> None:
    """Log in and type commands: roster, call JID, accept, reject, hangup, mute,
    unmute, stats, devices, quit (as libjingle's call console)."""
    from .console import console as run_console

    app = _app(ctx, given)
    app.commands = Scope.CONSOLE

    async def action(phone: Phone, hangup: asyncio.Event,
                     call_console: CallConsole | None) -> ExitCode:
        assert call_console is not None
        return await run_console(phone, call_console, hangup)

    app.run(action)


def _in_call_commands() -> Scope | None:
    """dial and listen read the in-call commands (and the answer to the question about
    an incoming call) where stdin is a terminal."""
    from .terminal import stdin_is_terminal

    return Scope.CALL if stdin_is_terminal() else None


@main.command()
def devices() -> None:
    """List sound devices (for --input-device/--output-device)."""
    from .audio import device
    from .terminal import Terminal

    terminal = Terminal()
    try:
        lines = device.list_devices()
    except JcallError as exc:
        terminal.error(str(exc))
        sys.exit(int(exc.exit_code))
    for line in lines or ["no sound devices found"]:
        terminal.status(line)


@main.group(name="config")
def config_group() -> None:
    """The effective settings (config file, JCALL_* environment, options)."""


SOURCES = {ParameterSource.COMMANDLINE: "command line", ParameterSource.DEFAULT_MAP:
           "config file", ParameterSource.DEFAULT: "default"}


@config_group.command()
@call_options
@click.pass_context
def show(ctx: click.Context, /, **given: Any) -> None:
    """Print every setting, where it comes from, and secrets masked."""
    from .config import config_path, password_source

    root = ctx.find_root()
    values, sources = _merged(ctx, given)
    lines = []
    for option in main.params:
        name = option.name
        if not isinstance(option, click.Option) or name is None or not option.expose_value:
            continue
        value, source = values[name], sources[name]
        where = (f"environment {option.envvar}" if source is ParameterSource.ENVIRONMENT
                 else SOURCES.get(source, "default") if source is not None else "default")
        lines.append(f"{_key(option)} = {_shown(name, value)}  ({where})")
    settings: dict[str, object] = root.meta.get("jcall.settings", {})
    named = values.get("config")
    path = config_path(Path(named) if named else None)
    password_file = values.get("password_file")
    click.echo(f"config file: {path}" + ("" if path.exists() else " (none)"))
    for line in lines:
        click.echo(line)
    click.echo(f"password = ********  ({password_source(password_file, settings)})")


def _shown(name: str, value: Any) -> str:
    """A setting as ``config show`` prints it: TURN passwords masked."""
    from .transport.servers import mask_credentials

    if value is None or value == ():
        return "-"
    if name == "turn":
        return ", ".join(mask_credentials(spec) for spec in value)
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


@main.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script: eval "$(jcall completion bash)"."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None
    click.echo(cls(main, {}, "jcall", "_JCALL_COMPLETE").source())
