"""Typed lines for the call console, without blocking the event loop.

* :class:`EditedLines` -- on a terminal, for ``jcall console``: GNU readline (the
  standard library's ``readline``) gives line editing and a history, kept in
  ``$XDG_STATE_HOME/jcall/history``. ``input()`` runs in a daemon thread, as readline
  has no other entry point in Python; the terminal's settings are restored at the end
  even when it is still waiting for a line. readline rather than prompt_toolkit: no
  dependency, nothing to import before the first prompt, and a plain terminal stream
  that other lines can be written above (``Terminal.prompt``).
* :class:`PlainLines` -- anything else (a pipe, or ``dial``/``listen`` on a terminal,
  where the live status line holds the bottom line): stdin as the kernel's line
  discipline delivers it, read when readable.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from pathlib import Path
from typing import Protocol

from .terminal import Terminal

HISTORY_LENGTH = 1000


class Lines(Protocol):
    async def next(self) -> str | None:
        """The next line typed (without its newline); None at the end of input."""

    def close(self) -> None: ...


def history_file() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "jcall" / "history"


class PlainLines:
    def __init__(self, fd: int | None = None) -> None:
        self._fd = sys.stdin.fileno() if fd is None else fd
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._partial = b""
        self._loop.add_reader(self._fd, self._readable)
        self._open = True

    def _readable(self) -> None:
        try:
            data = os.read(self._fd, 4096)
        except OSError:
            data = b""
        if not data:
            self.close()
            if self._partial:
                self._queue.put_nowait(self._partial.decode(errors="replace"))
            self._queue.put_nowait(None)
            return
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            self._queue.put_nowait(line.decode(errors="replace").rstrip("\r"))

    async def next(self) -> str | None:
        return await self._queue.get()

    def close(self) -> None:
        if self._open:
            self._open = False
            self._loop.remove_reader(self._fd)


class EditedLines:
    def __init__(self, terminal: Terminal, prompt: str = "> ") -> None:
        import readline
        import termios

        self._readline = readline
        self._terminal = terminal
        self._prompt = prompt
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._fd = sys.stdin.fileno()
        self._saved = termios.tcgetattr(self._fd)
        self._history = history_file()
        with contextlib.suppress(OSError):
            readline.read_history_file(self._history)
        readline.set_history_length(HISTORY_LENGTH)
        self._waiting = threading.Event()  # the thread may show the prompt again
        self._waiting.set()
        self._closed = False
        # Lines are written above the prompt from when readline has shown it and
        # owns the terminal (echo is readline's then): its pre-input hook says so.
        # Before, what is typed is echoed by the kernel where the cursor is, and a
        # prompt drawn then would stand before the next line written.
        self._hooked = hasattr(readline, "set_pre_input_hook")  # (not in libedit's)
        if self._hooked:
            readline.set_pre_input_hook(self._shown_by_readline)
        threading.Thread(target=self._read, name="jcall-console", daemon=True).start()

    def _shown(self) -> str:
        return self._prompt + self._readline.get_line_buffer()

    def _read(self) -> None:
        while True:
            self._waiting.wait()
            if self._closed:
                return
            if not self._hooked:
                self._loop.call_soon_threadsafe(self._showing, True)
            try:
                line: str | None = input(self._prompt)
            except (EOFError, OSError):
                line = None
            except KeyboardInterrupt:  # (the event loop has SIGINT; never here)
                line = None
            self._waiting.clear()
            with contextlib.suppress(RuntimeError):  # (the loop has closed)
                self._loop.call_soon_threadsafe(self._deliver, line)
            if line is None:
                return

    def _shown_by_readline(self) -> None:
        """readline's pre-input hook, in its thread: the prompt is on the screen."""
        with contextlib.suppress(RuntimeError):  # (the loop has closed)
            self._loop.call_soon_threadsafe(self._showing, True)

    def _showing(self, shown: bool) -> None:
        self._terminal.prompt = self._shown if shown and not self._closed else None

    def _deliver(self, line: str | None) -> None:
        self._terminal.prompt = None
        self._queue.put_nowait(line)

    async def next(self) -> str | None:
        if not self._closed and self._queue.empty():
            self._waiting.set()  # (after the last command's output: prompt again)
        return await self._queue.get()

    def close(self) -> None:
        import termios

        if self._closed:
            return
        self._closed = True
        self._terminal.prompt = None
        if self._hooked:
            self._readline.set_pre_input_hook(None)
        self._waiting.set()
        with contextlib.suppress(OSError):
            self._history.parent.mkdir(parents=True, exist_ok=True)
            self._readline.write_history_file(self._history)
        with contextlib.suppress(termios.error):
            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
        self._terminal.out.write("\n")
        self._terminal.out.flush()
