"""The entry point: what it sets up before the command runs."""

from __future__ import annotations

import os
import subprocess
import sys

# jcall --version, then numpy loaded as a call would load it: the threads the
# process has then, and the OpenBLAS setting it ran with.
PROGRAM = """
import atexit, os, runpy, sys
def report():
    import numpy
    print(len(os.listdir("/proc/self/task")), os.environ["OPENBLAS_NUM_THREADS"])
atexit.register(report)
sys.argv = ["jcall", "--version"]
runpy.run_module("jcall", run_name="__main__", alter_sys=True)
"""


def run(**env: str) -> list[str]:
    environ = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    got = subprocess.run([sys.executable, "-c", PROGRAM], check=True, text=True,
                         capture_output=True, env=dict(environ, **env))
    return got.stdout.split()[-2:]


def test_numpy_loads_without_a_blas_thread_pool() -> None:
    assert run() == ["1", "1"]


def test_the_users_blas_setting_is_kept() -> None:
    assert run(OPENBLAS_NUM_THREADS="2")[1] == "2"
