"""The terminal: where reporters (``reporters.py``) write status lines (stdout), errors
and the ``-d`` stanza log (stderr), and where the yes/no question for an incoming call
is asked."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import TextIO


class Console:
    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._asking = False  # a question waits on an unfinished line of ``out``

    def _end_question_line(self) -> None:
        """A line said while a question is open goes below it, not after it."""
        if self._asking:
            self._asking = False
            self.out.write("\n")

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
        self.err.write(text)
        self.err.flush()

    def bell(self) -> None:
        """Ring the terminal bell (an incoming call); nothing when stdout is not one."""
        if self._tty(self.out):
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
