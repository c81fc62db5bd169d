"""A private JACK server with the dummy backend: real-time PortAudio callback streams
without a sound card (shared/reference/infrastructure.md, "Audio devices")."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .process import Service, stat_fields


@dataclass
class JackServer(Service):
    name: str
    rate: int = 48000
    period: int = 960  # 20 ms
    process: subprocess.Popen[bytes] | None = None
    realtime: bool = False  # (known once started)

    @property
    def env(self) -> dict[str, str]:
        """Environment that points JACK clients (and PortAudio) at this server."""
        return {"JACK_DEFAULT_SERVER": self.name, "JACK_NO_START_SERVER": "1"}

    def start(self, timeout: float = 10.0) -> None:
        """Start the server in real-time mode, as JACK runs by default: its cycle and
        its clients' callback threads are then scheduled ahead of the rest of the
        machine, as on a user's desktop. Where real-time scheduling is refused (no
        CAP_SYS_NICE) jackd goes on without it, and a loaded machine shows xruns;
        ``realtime`` says which it is."""
        if shutil.which("jackd") is None:
            raise RuntimeError("jackd is not installed (apt-get install jackd2)")
        self.process = subprocess.Popen(
            ["jackd", "--realtime", "--name", self.name, "-d", "dummy",
             "-r", str(self.rate), "-p", str(self.period), "-C", "2", "-P", "2"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        env = dict(os.environ, **self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if subprocess.run(["jack_lsp"], env=env, capture_output=True).returncode == 0:
                self.realtime = _scheduled_realtime(self.process.pid)
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("jackd did not start")

    def stall(self, seconds: float) -> None:
        """Stop the server for ``seconds``: its clients miss a cycle (an xrun)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            os.kill(self.process.pid, signal.SIGCONT)


def _scheduled_realtime(pid: int) -> bool:
    """Whether a thread of the process runs under SCHED_FIFO or SCHED_RR (proc(5):
    the 41st field of a task's stat is its policy)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = stat_fields(task / "stat")
        except OSError:
            continue
        if int(fields[38]) in (1, 2):
            return True
    return False
