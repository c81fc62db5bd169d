"""Run real ``jcall`` processes and watch their output as it comes."""

from __future__ import annotations

import codecs
import os
import pty
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Account:
    jid: str
    password: str


@dataclass
class JcallProcess:
    name: str
    popen: subprocess.Popen[bytes]
    out_lines: list[str] = field(default_factory=list)
    err_lines: list[str] = field(default_factory=list)
    out_partial: str = ""  # a prompt waits on an unfinished line
    terminal: int | None = None  # stdout is this pty's slave end: we read its master
    raw_out: str = ""  # stdout as written (escape codes, carriage returns and all)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _prompts: dict[str, int] = field(default_factory=dict)  # times each was shown

    def __post_init__(self) -> None:
        assert self.popen.stderr is not None
        if self.terminal is None:
            assert self.popen.stdout is not None
            out = self.popen.stdout.fileno()
        else:
            out = self.terminal
        for fd, sink in ((out, self.out_lines), (self.popen.stderr.fileno(), self.err_lines)):
            threading.Thread(target=self._pump, args=(fd, sink), daemon=True).start()

    def _pump(self, fd: int, sink: list[str]) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        partial = ""
        while chunk := _read(fd):
            text = decoder.decode(chunk)
            if sink is self.out_lines:
                self.raw_out += text
            if self.terminal is not None:  # (a pty writes CR LF)
                text = text.replace("\r\n", "\n")
            partial += text
            *lines, partial = partial.split("\n")
            if self.terminal is not None and sink is self.out_lines:
                lines = [_as_shown(line) for line in lines]
            with self._cond:
                sink.extend(lines)
                if sink is self.out_lines:
                    self.out_partial = partial
                self._cond.notify_all()
        if fd == self.terminal:
            os.close(fd)
        with self._cond:
            if partial:
                sink.append(partial)
            if sink is self.out_lines:
                self.out_partial = ""
            self._cond.notify_all()

    def wait_for(self, line: str, timeout: float = 15.0) -> float:
        """Block until stdout has ``line``; returns the monotonic time it was seen."""
        return self._wait(lambda: line in self.out_lines, repr(line), timeout)

    def wait_for_start(self, prefix: str, timeout: float = 15.0) -> float:
        """Block until stdout has a line starting with ``prefix``."""
        return self._wait(lambda: any(line.startswith(prefix) for line in self.out_lines),
                          f"line starting {prefix!r}", timeout)

    def wait_for_error(self, text: str, timeout: float = 15.0) -> float:
        """Block until a line of stderr contains ``text``."""
        return self._wait(lambda: any(text in line for line in self.err_lines),
                          f"stderr line with {text!r}", timeout)

    def wait_for_prompt(self, text: str, timeout: float = 15.0) -> float:
        """Block until stdout shows ``text`` once more than at the last call: as the
        unfinished last line, or ended by lines printed since (events such as the
        roster's may come after a question; not on a terminal it is not shown again)."""
        def shown() -> int:
            return sum(text in line for line in self.out_lines) + (text in self.out_partial)

        at = self._wait(lambda: shown() > self._prompts.get(text, 0), f"prompt {text!r}",
                        timeout)
        with self._cond:
            self._prompts[text] = shown()
        return at

    def _wait(self, ready: Callable[[], bool], what: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not ready():
                left = deadline - time.monotonic()
                if left <= 0 or self.popen.poll() is not None:
                    self._cond.wait(0.1)  # last output
                    if ready():
                        break
                    raise AssertionError(f"{self.name}: no {what} in {self.out_lines} "
                                         f"{self.out_partial!r}\nstderr: {self.err_lines[-20:]}")
                self._cond.wait(min(left, 0.05))
        return time.monotonic()

    def type(self, text: str) -> None:
        """Type ``text`` on the process's terminal (``start(..., terminal=True)``)."""
        assert self.terminal is not None
        os.write(self.terminal, text.encode())

    def interrupt(self) -> None:
        self.popen.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 20.0) -> int:
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise AssertionError(f"{self.name} did not exit; stdout {self.out_lines}, "
                                 f"stderr {self.err_lines[-20:]}") from None
        time.sleep(0.05)  # let the reader threads drain
        return code

    @property
    def out(self) -> str:
        return "\n".join(self.out_lines)

    @property
    def err(self) -> str:
        return "\n".join(self.err_lines)


def start(name: str, account: Account, server: str, ca_file: Path | None, *args: str,
          password: str | None = None, stdin: int | None = subprocess.DEVNULL,
          extra_env: dict[str, str] | None = None,
          audio: tuple[str, ...] = ("--silence", "--discard"),
          netns: str | None = None, terminal: bool = False) -> JcallProcess:
    """``args`` are group options then the command; ``audio`` (no sound card in CI)
    is inserted before them. ``netns``: run inside that network namespace.
    ``terminal``: stdout (and stdin, unless given) is a pty, as in a terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JCALL_")}
    env["JCALL_PASSWORD"] = account.password if password is None else password
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = str(REPO)  # this checkout's jcall, whatever pip installed
    env.update(extra_env or {})
    inside = ["ip", "netns", "exec", netns] if netns else []
    cmd = [*inside, sys.executable, "-m", "jcall", "--jid", account.jid, "--server", server]
    if ca_file is not None:
        cmd += ["--ca-file", str(ca_file)]
    cmd += [*audio, *args]
    master = None
    stdout: int = subprocess.PIPE
    if terminal:
        master, stdout = pty.openpty()
        if stdin == subprocess.DEVNULL:
            stdin = stdout
        env["COLUMNS"] = "200"  # (the status line's width)
    popen = subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                             env=env, start_new_session=True)
    if terminal:
        os.close(stdout)
    proc = JcallProcess(name, popen, terminal=master)
    STARTED.append(proc)
    return proc


ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[=>])")


def _as_shown(line: str) -> str:
    """A terminal line as it shows: what the last carriage return left, without
    escape sequences."""
    return ESCAPE.sub("", line.rsplit("\r", 1)[-1])


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # (a pty's master reads EIO once the process has closed the slave)
        return b""


# Every jcall a test started, for conftest.py to stop what a failing test left running.
STARTED: list[JcallProcess] = []


def reap() -> None:
    """Kill the jcall processes still running (by their own PIDs) and forget them all."""
    for proc in STARTED:
        if proc.popen.poll() is None:
            proc.popen.kill()
            proc.popen.wait()
    STARTED.clear()
