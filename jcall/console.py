"""The one place user-facing text is written: status lines on stdout, errors and the
``-d`` stanza log on stderr, and the yes/no question for an incoming call."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import TextIO


class Console:
    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def status(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def error(self, line: str) -> None:
        self.err.write(line + "\n")
        self.err.flush()

    def debug(self, text: str) -> None:
        self.err.write(text)
        self.err.flush()

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
        self.out.write(f"{question} [y/N] ")
        self.out.flush()
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
        finally:
            loop.remove_reader(fd)
        return text.strip().lower() in ("y", "yes")
