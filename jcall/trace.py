"""Timestamped events for the benchmarks: JSON lines with CLOCK_MONOTONIC times, which
every process on the machine shares. Enabled by ``JCALL_TRACE=FILE``; a no-op else."""

from __future__ import annotations

import json
import os
import time
from typing import Any

_path = os.environ.get("JCALL_TRACE")


def event(name: str, when: float | None = None, **fields: Any) -> None:
    if not _path:
        return
    record = {"event": name, "t": time.monotonic() if when is None else when, "pid": os.getpid()}
    record.update(fields)
    with open(_path, "a") as fh:
        fh.write(json.dumps(record) + "\n")
