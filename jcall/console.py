"""The call console, in the manner of libjingle's ``call`` (gingle.md part D): typed
commands (``commands.py``) run against the phone, and the question about an incoming
call is answered by the next line typed.

``jcall console`` logs in, answers calls the user accepts, and places the ones typed;
``dial`` and ``listen`` on a terminal read the in-call commands the same way.
The status lines themselves come from the reporters, as everywhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from .commands import Command, Invalid, Mode, Scope, Verb, interpret
from .errors import ExitCode, JcallError
from .reporters import stats_lines, status_line

if TYPE_CHECKING:
    from .call import Call
    from .phone import Phone
    from .prompt import Lines
    from .terminal import Terminal


class CallConsole:
    def __init__(self, phone: Phone, terminal: Terminal, lines: Lines, scope: Scope) -> None:
        self.phone = phone
        self.terminal = terminal
        self.lines = lines
        self.scope = scope
        self._question: asyncio.Future[bool] | None = None
        self._dial: asyncio.Task[None] | None = None
        self._dial_hangup = asyncio.Event()
        self._quit: asyncio.Event | None = None
        phone.answer.ask = self.ask

    # -- the mode -----------------------------------------------------------------------
    @property
    def call(self) -> Call | None:
        """The call under way (at most one: a second one is refused as busy)."""
        return next((c for c in self.phone.calls.values() if not c.finished.done()), None)

    @property
    def mode(self) -> Mode:
        if self._question is not None and not self._question.done():
            return Mode.INCOMING
        call = self.call
        if call is not None:
            return Mode.IN_CALL if call.in_progress.is_set() else Mode.CALLING
        if self._dial is not None and not self._dial.done():
            return Mode.CALLING
        return Mode.IDLE

    # -- the question about an incoming call (Phone.ask) ----------------------------------
    async def ask(self, peer: str) -> bool:
        """Ask whether to take ``peer``'s call; the next line typed answers."""
        self._question = asyncio.get_running_loop().create_future()
        self.terminal.question(f"Incoming call from '{peer}' — accept? [y/N]")
        try:
            return await self._question
        except asyncio.CancelledError:
            self.terminal.withdraw()
            raise
        finally:
            self._question = None

    # -- the command loop -----------------------------------------------------------------
    async def run(self, quit: asyncio.Event) -> None:
        """Read and run commands until ``quit`` is typed (it sets ``quit``) or the input
        ends (on a terminal: Ctrl-D, which quits too)."""
        self._quit = quit
        try:
            while (line := await self.lines.next()) is not None:
                self.terminal.answered()
                self.handle(line)
            if self.scope is Scope.CONSOLE:
                quit.set()
        finally:
            self.lines.close()

    def handle(self, line: str) -> None:
        mode = self.mode
        if mode is Mode.INCOMING and not line.strip():
            return self._answer(False)  # (Enter: the default, N)
        match interpret(line, mode, self.scope):
            case None:
                pass
            case Invalid(problem=problem, help=help_):
                self.terminal.error(problem)
                for text in help_:
                    self.terminal.status(text)
            case Command() as command:
                self._run(command)

    def _run(self, command: Command) -> None:
        match command.verb:
            case Verb.ROSTER:
                self._roster()
            case Verb.CALL:
                self._place(command.argument)
            case Verb.ACCEPT:
                self._answer(True)
            case Verb.REJECT:
                self._answer(False)
            case Verb.HANGUP:
                self._hang_up()
            case Verb.MUTE | Verb.UNMUTE:
                self._mute(command.verb is Verb.MUTE)
            case Verb.STATS:
                self._stats()
            case Verb.DEVICES:
                self._devices()
            case Verb.QUIT:
                self._hang_up()
                if self._quit is not None:
                    self._quit.set()

    def _answer(self, take: bool) -> None:
        if self._question is not None and not self._question.done():
            self._question.set_result(take)

    def _roster(self) -> None:
        contacts = self.phone.client.contacts.callable()
        self.terminal.status(f"Roster contains {len(contacts)} callable")
        for resource in contacts:
            self.terminal.status(f"{resource.jid} - {resource.status or 'available'}")

    def _place(self, target: str) -> None:
        from .config import check_jid

        try:
            check_jid(target)
        except JcallError as exc:
            self.terminal.error(f"cannot call: {exc}")
            return
        self._dial_hangup = asyncio.Event()
        self._dial = asyncio.ensure_future(self._placing(target, self._dial_hangup))

    async def _placing(self, target: str, hangup: asyncio.Event) -> None:
        try:
            await self.phone.place(target, None, hangup)
        except JcallError as exc:  # (not found; the console goes on)
            self.terminal.error(str(exc))

    def _hang_up(self) -> None:
        self._dial_hangup.set()
        call = self.call
        if call is not None:
            call.hangup()

    def _mute(self, muted: bool) -> None:
        call = self.call
        if call is None or not call.set_muted(muted):
            self.terminal.error("no audio to mute yet")
            return
        self.terminal.status("muted" if muted else "unmuted")

    def _stats(self) -> None:
        call = self.call
        if call is None or call.media is None:
            self.terminal.error("no statistics yet: the call has no media")
            return
        stats = call.stats(call.media.snapshot())
        for text in (*stats_lines(stats), status_line(stats)):
            self.terminal.status(text)

    def _devices(self) -> None:
        from .audio import device

        try:
            lines = device.list_devices()
        except JcallError as exc:
            self.terminal.error(str(exc))
            return
        for text in lines or ["no sound devices found"]:
            self.terminal.status(text)

    async def close(self) -> None:
        if self._dial is not None and not self._dial.done():
            self._dial_hangup.set()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._dial, 5.0)


async def console(phone: Phone, call_console: CallConsole, hangup: asyncio.Event) -> ExitCode:
    """``jcall console``: answer calls the user accepts and read commands until
    ``quit``, the end of input, or Ctrl-C (``hangup``)."""
    commands = asyncio.ensure_future(call_console.run(hangup))
    try:
        return await phone.listen(once=False, hangup=hangup)
    finally:
        commands.cancel()
        await call_console.close()
