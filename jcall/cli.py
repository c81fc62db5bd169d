"""The ``jcall`` command line (click). Commands only parse options and run the phone;
this module is the one place that turns errors into a line and an exit code."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import click

from . import __version__
from .call import CallSettings
from .config import resolve_account
from .console import Console
from .errors import ExitCode, JcallError
from .phone import Phone, PhoneSettings
from .xmpp.client import LoginSettings, XmppClient

Action = Callable[[Phone, asyncio.Event], Awaitable[ExitCode]]


@dataclass
class App:
    """What the group options decided; shared with the commands via ``ctx.obj``."""

    debug: bool
    jid: str | None
    server: str | None
    ca_file: Path | None
    config: Path | None
    password_file: Path | None
    ice_addresses: tuple[str, ...]
    ice_timeout: float
    console: Console

    def run(self, action: Action) -> None:
        """Log in, run ``action``, log out; exit with the code that decided."""
        try:
            code = asyncio.run(self._main(action))
        except JcallError as exc:
            self.console.error(str(exc))
            code = exc.exit_code
        except KeyboardInterrupt:
            code = ExitCode.OK
        sys.exit(int(code))

    async def _main(self, action: Action) -> ExitCode:
        account = resolve_account(jid=self.jid, server=self.server, ca_file=self.ca_file,
                                  password_file=self.password_file, config_file=self.config)
        loop = asyncio.get_running_loop()
        hangup = asyncio.Event()
        main = asyncio.current_task()

        def interrupted() -> None:
            if hangup.is_set() and main is not None:
                main.cancel()  # a second Ctrl-C: stop waiting for anyone
            hangup.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, interrupted)
        client = XmppClient(LoginSettings(account.jid, account.password, account.server,
                                          account.ca_file), self.console, debug=self.debug)
        phone = Phone(client, self.console, PhoneSettings(
            call=CallSettings(ice_timeout=self.ice_timeout),
            host_addresses=list(self.ice_addresses) or None))
        try:
            return await action(phone, hangup)
        except asyncio.CancelledError:
            return ExitCode.OK
        finally:
            await phone.stop()


def _setup_logging() -> None:
    # Library loggers (slixmpp, aioice) report failures jcall explains itself; keep
    # them quiet unless JCALL_LOG asks for them.
    level = os.environ.get("JCALL_LOG", "").upper()
    if level:
        logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    else:
        logging.basicConfig(level=logging.CRITICAL + 1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="jcall")
@click.option("-d", "--debug", is_flag=True, help="Print every XMPP stanza sent and received.")
@click.option("--jid", help="Your account, USER@DOMAIN[/RESOURCE] (or JCALL_JID).")
@click.option("--server", metavar="HOST[:PORT]",
              help="Connect here instead of the domain's DNS SRV records.")
@click.option("--ca-file", type=click.Path(path_type=Path), metavar="PEM",
              help="Trust this CA for the server certificate (verification stays on).")
@click.option("--config", type=click.Path(path_type=Path), metavar="FILE",
              help="TOML config file (default ~/.config/jcall/config.toml).")
@click.option("--password-file", type=click.Path(path_type=Path), metavar="FILE",
              help="Read the password from FILE (or JCALL_PASSWORD, or the config).")
@click.option("--ice-address", multiple=True, metavar="ADDR",
              help="Use only this local address for host candidates (repeatable).")
@click.option("--ice-timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds from accept to a connected ICE path before giving up.")
@click.pass_context
def main(ctx: click.Context, debug: bool, jid: str | None, server: str | None,
         ca_file: Path | None, config: Path | None, password_file: Path | None,
         ice_address: tuple[str, ...], ice_timeout: float) -> None:
    """Peer-to-peer voice calls over XMPP (Google session protocol)."""
    _setup_logging()
    ctx.obj = App(debug, jid, server, ca_file, config, password_file, ice_address,
                  ice_timeout, Console())


@main.command()
@click.option("-a", "--auto-accept", is_flag=True, help="Accept every incoming call.")
@click.option("--reject", is_flag=True, help="Reject every incoming call.")
@click.option("--once", is_flag=True, help="Exit after the first call.")
@click.pass_obj
def listen(app: App, auto_accept: bool, reject: bool, once: bool) -> None:
    """Log in and wait for calls."""
    if auto_accept and reject:
        raise click.UsageError("--auto-accept and --reject exclude each other")
    app.run(lambda phone, hangup: phone.listen(auto_accept=auto_accept, reject=reject,
                                               once=once, hangup=hangup))


@main.command()
@click.argument("jid")
@click.option("--duration", type=click.FloatRange(min=0), metavar="SECONDS",
              help="Hang up this long after the call is in progress (default: Ctrl-C).")
@click.pass_obj
def dial(app: App, jid: str, duration: float | None) -> None:
    """Call JID (a full JID, or a bare one resolved to its best callable resource)."""
    app.run(lambda phone, hangup: phone.dial(jid, duration, hangup))
