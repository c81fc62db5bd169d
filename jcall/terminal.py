"""The terminal: where reporters (``reporters.py``) write status lines (stdout), errors
and the ``-d`` stanza log (stderr), and where the call console (``console.py``) asks
its question and shows its prompt.

Three things may own the bottom line of a terminal, and any other line is written
above them: an open question (``Incoming call ... [y/N] ``, its answer typed after
it), the console's prompt with what is being typed (redrawn after the line), or the
*live* line about the call in progress (gone until its next refresh).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from typing import TextIO


class Terminal:
    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._asking = False  # a question waits on an unfinished line of ``out``
        self._live = False  # the live line is on the screen
        # While the console reads a line: the prompt and what is typed so far.
        self.prompt: Callable[[], str] | None = None

    def _above(self) -> None:
        """Make way for a line: below an open question, in place of the live line or
        of the prompt (redrawn by :meth:`_below`)."""
        if self._asking:
            self._asking = False
            self.out.write("\n")
        elif self.prompt is not None:
            self.out.write("\r\x1b[K")
        self.clear_live()

    def _below(self) -> None:
        if self.prompt is not None:
            self.out.write(self.prompt())
        self.out.flush()

    def status(self, line: str) -> None:
        self._above()
        self.out.write(line + "\n")
        self._below()

    def error(self, line: str) -> None:
        self._above()
        self.out.flush()
        self.err.write(line + "\n")
        self.err.flush()
        self._below()

    def flush(self) -> None:
        for stream in (self.out, self.err):
            stream.flush()

    def debug(self, text: str) -> None:
        self._above()
        self.out.flush()
        self.err.write(text)
        self.err.flush()
        self._below()

    def question(self, text: str) -> None:
        """Ask ``text`` on an unfinished line; the answer is typed after it."""
        self._above()
        self.out.write(text + " ")
        self.out.flush()
        self._asking = True

    def answered(self) -> None:
        """The question's line was ended by the answer (the terminal echoed it)."""
        self._asking = False

    def withdraw(self) -> None:
        """The question is no longer open (the caller gave up, or it rang out)."""
        if self._asking:
            self._asking = False
            self.out.write("\n")
            self.out.flush()

    # -- a terminal's own --------------------------------------------------------------
    @property
    def is_terminal(self) -> bool:
        """Whether stdout is a terminal (the live line and the bell are for one)."""
        return _tty(self.out)

    @property
    def width(self) -> int:
        return shutil.get_terminal_size().columns

    def live(self, line: str) -> None:
        """Draw ``line`` in place of the previous live line (a terminal only; cut to
        its width, so that it never wraps and can always be redrawn)."""
        if self._asking or self.prompt is not None or not self.is_terminal:
            return  # (the question or the prompt keeps the line)
        self.out.write("\r" + line[:max(1, self.width - 1)] + "\x1b[K")
        self.out.flush()
        self._live = True

    def clear_live(self) -> None:
        if self._live:
            self._live = False
            self.out.write("\r\x1b[K")
            self.out.flush()

    def bell(self) -> None:
        """Ring the terminal bell (an incoming call); nothing when stdout is not one."""
        if self.is_terminal:
            self.out.write("\a")
            self.out.flush()


def _tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def stdin_is_terminal() -> bool:
    return _tty(sys.stdin)
