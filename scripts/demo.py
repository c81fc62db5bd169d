"""Place a real jcall call between two local accounts on a private Prosody.

Prints both sides' status lines, prefixed with who said them. Everything runs on
loopback; the server and its throw-away CA live in a temporary directory that is
removed afterwards. Exit status: 0 when both sides ended the call cleanly.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from testbed.prosody import Prosody


def relay(name: str, stream: object, sink: object) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        sink.write(f"{name:>6} | {line}")  # type: ignore[attr-defined]
        sink.flush()  # type: ignore[attr-defined]


def jcall(name: str, jid: str, password: str, server: Prosody, *args: str,
          debug: bool) -> subprocess.Popen[str]:
    env = dict(os.environ, JCALL_PASSWORD=password, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "jcall", *(["-d"] if debug else []), "--jid", jid,
           "--server", server.server, "--ca-file", str(server.ca_file), "--silence",
           "--discard", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    threading.Thread(target=relay, args=(name, proc.stdout, sys.stdout), daemon=True).start()
    threading.Thread(target=relay, args=(name, proc.stderr, sys.stderr), daemon=True).start()
    return proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=3.0,
                        help="seconds the call stays up once in progress (default 3)")
    parser.add_argument("-d", "--debug", action="store_true",
                        help="show the callee's XMPP stanza log (jcall -d)")
    args = parser.parse_args()

    users = {"alice": secrets.token_urlsafe(12), "bob": secrets.token_urlsafe(12)}
    with tempfile.TemporaryDirectory(prefix="jcall-demo-") as tmp:
        server = Prosody(Path(tmp), accounts=users)
        print(f"demo: starting Prosody on {server.domain} (127.0.0.1, private CA)")
        with server:
            bob_jid, alice_jid = server.jid("bob") + "/demo", server.jid("alice")
            callee = jcall("bob", bob_jid, users["bob"], server, "listen", "-a", "--once",
                           debug=args.debug)
            # Dialling a bare JID waits (up to 3 s) for a callable resource to appear.
            caller = jcall("alice", alice_jid, users["alice"], server, "dial",
                           server.jid("bob"), "--duration", str(args.duration), debug=False)
            rc_caller = caller.wait(timeout=args.duration + 60)
            rc_callee = callee.wait(timeout=30)
        print(f"demo: caller exited {rc_caller}, callee exited {rc_callee}")
        return 0 if rc_caller == rc_callee == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
