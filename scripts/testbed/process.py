"""Stopping what the testbed started: by the PID it started, never by name."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Self


def terminate(proc: subprocess.Popen[bytes] | None, timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if ``proc`` has not exited within ``timeout`` seconds."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def stat_fields(stat: Path) -> list[str]:
    """The fields of a /proc ``stat`` file after the command name: proc(5)'s field 3
    (the state) is at index 0. (The name, in parentheses, may hold spaces.)"""
    return stat.read_text().rsplit(")", 1)[1].split()


def cpu_seconds(stat: Path) -> float:
    """utime + stime of a /proc ``stat`` file (a process's, or one thread's)."""
    fields = stat_fields(stat)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Service:
    """A server the testbed starts (``start()`` sets ``process``): stopped by that
    PID, and usable as ``with Service(...) as service:``."""

    process: subprocess.Popen[bytes] | None

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        proc, self.process = self.process, None
        terminate(proc)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
