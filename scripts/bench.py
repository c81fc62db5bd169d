"""jcall benchmarks: call setup times on loopback through a private Prosody.

Method: one ``jcall listen -a`` process stays logged in; ``jcall dial --duration 0``
runs N times against it. This harness reads each caller's stdout as it is written
(unbuffered pipes) and stamps every status line with CLOCK_MONOTONIC on arrival:

* process start -> "call in progress": from just before ``exec`` of the dial process
  (Python start-up, imports, TLS login, presence, gathering, signalling, ICE);
* "calling..." -> "call in progress": signalling and ICE only (the initiate is sent
  right before "calling..." is printed).

Pipe and thread wake-up add well under a millisecond to each stamp.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from testbed.prosody import Prosody

REPO = Path(__file__).resolve().parent.parent


def launch(jid: str, password: str, server: Prosody, *args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, JCALL_PASSWORD=password, PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-m", "jcall", "--jid", jid, "--server", server.server,
         "--ca-file", str(server.ca_file), "--silence", "--discard", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def stamped_lines(proc: subprocess.Popen[bytes]) -> dict[str, float]:
    """Read stdout to EOF; first arrival time of each line."""
    seen: dict[str, float] = {}
    assert proc.stdout is not None
    for raw in iter(proc.stdout.readline, b""):
        seen.setdefault(raw.decode().rstrip("\n"), time.monotonic())
    return seen


def wait_line(proc: subprocess.Popen[bytes], line: str, timeout: float = 20.0) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = proc.stdout.readline().decode().rstrip("\n")
        if got == line:
            return
        if not got and proc.poll() is not None:
            break
    raise RuntimeError(f"no {line!r} from the callee")


def drain(proc: subprocess.Popen[bytes]) -> None:
    """Keep reading a process's stdout so that it never blocks on a full pipe."""
    assert proc.stdout is not None
    for _ in proc.stdout:
        pass


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--calls", type=int, default=10)
    args = parser.parse_args()
    users = {"alice": secrets.token_urlsafe(12), "bob": secrets.token_urlsafe(12)}
    start_to_progress: list[float] = []
    calling_to_progress: list[float] = []
    with tempfile.TemporaryDirectory(prefix="jcall-bench-") as tmp, \
            Prosody(Path(tmp), accounts=users) as server:
        callee = launch(server.jid("bob") + "/bench", users["bob"], server, "listen", "-a")
        try:
            wait_line(callee, "logged in...")
            threading.Thread(target=drain, args=(callee,), daemon=True).start()
            for _ in range(args.calls):
                t0 = time.monotonic()
                caller = launch(server.jid("alice"), users["alice"], server, "dial",
                                server.jid("bob") + "/bench", "--duration", "0")
                seen = stamped_lines(caller)
                if caller.wait() != 0 or "call in progress" not in seen:
                    err = caller.stderr.read().decode() if caller.stderr else ""
                    raise RuntimeError(f"call failed: {sorted(seen)} {err}")
                start_to_progress.append((seen["call in progress"] - t0) * 1000)
                calling_to_progress.append((seen["call in progress"] - seen["calling..."]) * 1000)
        finally:
            callee.terminate()
            callee.wait(10)
    rows = [("process start -> call in progress", start_to_progress),
            ("calling... -> call in progress", calling_to_progress)]
    print(f"{'measure (ms, ' + str(args.calls) + ' calls, loopback)':<40} "
          f"{'median':>8} {'p95':>8} {'min':>8} {'max':>8}")
    for name, values in rows:
        print(f"{name:<40} {statistics.median(values):8.1f} {pct(values, 0.95):8.1f} "
              f"{min(values):8.1f} {max(values):8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
