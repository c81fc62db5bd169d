"""The terminal: where reporters (``reporters.py``) write status lines (stdout), errors
and the ``-d`` stanza log (stderr), and where the yes/no question for an incoming call
is asked. On a terminal one *live* line (the call's status) is redrawn in place at the
bottom; any other line is written over it, and it comes back at its next refresh."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from typing import TextIO


class Terminal:
    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._asking = False  # a question waits on an unfinished line of ``out``
        self._live = False  # the live line is on the screen

    def _end_question_line(self) -> None:
        """A line said while a question is open goes below it, not after it; one said
        while the live line shows takes its place."""
        if self._asking:
            self._asking = False
            self.out.write("\n")
        self.clear_live()

    @property
    def is_terminal(self) -> bool:
        """Whether stdout is a terminal (the live line and the bell are for one)."""
        return self._tty(self.out)

    @property
    def width(self) -> int:
        return shutil.get_terminal_size().columns

    def live(self, line: str) -> None:
        """Draw ``line`` in place of the previous live line (a terminal only; cut to
        its width, so that it never wraps and can always be redrawn)."""
        if self._asking or not self.is_terminal:
            return  # (the question keeps its line)
        self.out.write("\r" + line[:max(1, self.width - 1)] + "\x1b[K")
        self.out.flush()
        self._live = True

    def clear_live(self) -> None:
        if self._live:
            self._live = False
            self.out.write("\r\x1b[K")
            self.out.flush()

    def status(self, line: str) -> None:
        self._end_question_line()
        self.out.write(line + "\n")
        self.out.flush()

    def error(self, line: str) -> None:
        self._end_question_line()
        self.out.flush()
        self.err.write(line + "\n")
        self.err.flush()

    def flush(self) -> None:
        for stream in (self.out, self.err):
            stream.flush()

    def debug(self, text: str) -> None:
        self.clear_live()
        self.err.write(text)
        self.err.flush()

    def bell(self) -> None:
        """Ring the terminal bell (an incoming call); nothing when stdout is not one."""
        if self.is_terminal:
            self.out.write("\a")
            self.out.flush()

    @staticmethod
    def _tty(stream: TextIO) -> bool:
        try:
            return stream.isatty()
        except (AttributeError, ValueError):
            return False

    @property
    def interactive(self) -> bool:
        try:
            return sys.stdin.isatty()
        except (AttributeError, ValueError):
            return False

    async def confirm(self, question: str) -> bool:
        """Ask ``question [y/N]`` on the terminal; only ``y``/``yes`` accepts.

        Reads stdin without blocking the event loop, so the call can still be
        cancelled by the other side while the question is open.
        """
        self._end_question_line()
        self.out.write(f"{question} [y/N] ")
        self.out.flush()
        self._asking = True
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[str] = loop.create_future()
        fd = sys.stdin.fileno()

        def readable() -> None:
            data = os.read(fd, 1024)
            if not answer.done():
                answer.set_result(data.decode(errors="replace"))

        loop.add_reader(fd, readable)
        try:
            text = await answer
            self._asking = False  # (the terminal echoed the answer's newline)
        except asyncio.CancelledError:
            self._end_question_line()  # (withdrawn)
            self.out.flush()
            raise
        finally:
            loop.remove_reader(fd)
        return text.strip().lower() in ("y", "yes")
