"""Glare for real: two jcalls started together, each dialing the other by bare JID,
through the real Prosody (issue 12, item 5). Every trial must end in exactly one call."""

from __future__ import annotations

import json
import os
from pathlib import Path

from jcall.errors import ExitCode

from .jcallproc import Account, JcallProcess, start

# 20 in a full run (JCALL_GLARE_TRIALS=20); CI runs a short version (each trial is two
# processes logging in and resolving each other: ~3.7 s).
TRIALS = int(os.environ.get("JCALL_GLARE_TRIALS", "4"))
ANSWERING = "called as we called it: answering its call"


def sent_initiates(trace: Path) -> int:
    if not trace.exists():
        return 0
    return sum(json.loads(line)["event"] == "sent_initiate"
               for line in trace.read_text().splitlines())


def test_two_jcalls_dialing_each_other_end_with_one_call(
        tmp_path: Path, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    crossings = 0
    for n in range(TRIALS):
        procs: list[JcallProcess] = []
        traces = [tmp_path / f"carol{n}.trace", tmp_path / f"dave{n}.trace"]
        try:
            for (me, peer), trace in zip((("carol", "dave"), ("dave", "carol")), traces,
                                         strict=True):
                account = Account(f"{accounts[me].jid}/glare{n}", accounts[me].password)
                procs.append(start(me, account, server, ca_file, "dial", accounts[peer].jid,
                                   "--duration", "0.3",
                                   extra_env={"JCALL_TRACE": str(trace)}))
            codes = [proc.finish() for proc in procs]
        finally:
            for proc in procs:
                if proc.popen.poll() is None:
                    proc.popen.kill()
        detail = [(p.out_lines, p.err_lines[-5:]) for p in procs]
        assert codes == [ExitCode.OK, ExitCode.OK], detail
        assert [p.out_lines.count("call in progress") for p in procs] == [1, 1], detail
        answering = [any(line.endswith(ANSWERING) for line in p.out_lines) for p in procs]
        assert sorted(answering) == [False, True], detail  # one side took the other's call
        crossings += all(sent_initiates(t) == 1 for t in traces)
    print(f"glare: {TRIALS} of {TRIALS} trials ended in one call; {crossings} were true "
          f"crossings (both initiates sent)")
