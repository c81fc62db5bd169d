"""Place a real jcall call between two local accounts on a private Prosody, carrying
a generated audio sample, and keep what the callee received.

Alice sends a built-in sample (synthesised vowels: no download, no sound card);
Bob answers automatically and writes what he hears to a WAV file. Both print their
call statistics. Everything runs on loopback; the server and its throw-away CA live
in a temporary directory that is removed afterwards. Exit status 0 when the call
ended cleanly on both sides and the audio arrived.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from testbed.prosody import Prosody  # noqa: E402

from jcall.audio.files import read_wav, write_wav  # noqa: E402

RATE = 44100


def sample(seconds: float = 4.0) -> np.ndarray:
    """Sung vowels: a glottal-ish pulse train through vowel formants, syllable by
    syllable, with a chime at the start so the beginning is easy to hear."""
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 130 + 30 * np.sin(2 * np.pi * 0.4 * t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    vowels = [(730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480)]
    syllable = (t * 2.5).astype(int) % len(vowels)
    out = np.zeros_like(t)
    for k in range(1, 30):  # harmonics, weighted by the current vowel's formants
        freq = k * f0
        gain = np.zeros_like(t)
        for v, formants in enumerate(vowels):
            w = sum(1.0 / (1.0 + ((freq - f) / (0.1 * f)) ** 2) for f in formants)
            gain = np.where(syllable == v, w, gain)
        out += gain * np.sin(k * phase) / k
    envelope = np.sin(np.pi * ((t * 2.5) % 1.0)) ** 0.6
    out = out * envelope / np.max(np.abs(out)) * 0.5
    chime = 0.3 * np.sin(2 * np.pi * 880 * t) * np.exp(-t * 6) * (t < 0.5)
    pcm: np.ndarray = np.rint((out + chime) * 32767).astype(np.int16).reshape(-1, 1)
    return pcm


def relay(name: str, stream: object, sink: object) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        sink.write(f"{name:>6} | {line}")  # type: ignore[attr-defined]
        sink.flush()  # type: ignore[attr-defined]


def jcall(name: str, jid: str, password: str, server: Prosody, *args: str,
          debug: bool = False) -> subprocess.Popen[str]:
    env = dict(os.environ, JCALL_PASSWORD=password, PYTHONUNBUFFERED="1",
               PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "jcall", *(["-d"] if debug else []), "--jid", jid,
           "--server", server.server, "--ca-file", str(server.ca_file), *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    threading.Thread(target=relay, args=(name, proc.stdout, sys.stdout), daemon=True).start()
    threading.Thread(target=relay, args=(name, proc.stderr, sys.stderr), daemon=True).start()
    return proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "lab" / "demo",
                        help="where the sample and the received audio go (default lab/demo)")
    parser.add_argument("--codec", default="L16/44100", help="codec to use (default L16/44100)")
    parser.add_argument("-d", "--debug", action="store_true",
                        help="show the callee's XMPP stanza log (jcall -d)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sent, got = args.out / "sample.wav", args.out / "received.wav"
    stats = args.out / "callee-stats.json"
    pcm = sample()
    write_wav(sent, pcm, RATE)
    seconds = len(pcm) / RATE

    users = {"alice": secrets.token_urlsafe(12), "bob": secrets.token_urlsafe(12)}
    with tempfile.TemporaryDirectory(prefix="jcall-demo-") as tmp:
        server = Prosody(Path(tmp), accounts=users)
        print(f"demo: private Prosody for {server.domain} on 127.0.0.1 (throw-away CA)")
        with server:
            callee = jcall("bob", server.jid("bob") + "/demo", users["bob"], server,
                           "--silence", "--output", str(got), "--stats-json", str(stats),
                           "listen", "-a", "--once", debug=args.debug)
            # Dialling a bare JID waits (up to 3 s) for a callable resource to appear.
            caller = jcall("alice", server.jid("alice"), users["alice"], server,
                           "--input", str(sent), "--discard", "--codec", args.codec,
                           "dial", server.jid("bob"), "--duration", f"{seconds + 0.5:.1f}")
            rc_caller = caller.wait(timeout=seconds + 60)
            rc_callee = callee.wait(timeout=30)
    print(f"demo: caller exited {rc_caller}, callee exited {rc_callee}")
    if rc_caller or rc_callee or not got.exists():
        return 1
    received, rate = read_wav(got)
    if rate != RATE:  # another codec: resampled and possibly lossy, so no exact match
        print(f"demo: bob wrote {len(received) / rate:.1f} s of {rate} Hz audio to {got}")
        return 0
    # Align on the first non-zero sample of each (the sample itself starts at zero).
    start = int(np.argmax(received[:, 0] != 0)) - int(np.argmax(pcm[:, 0] != 0))
    heard = received[start:start + len(pcm)]
    exact = len(heard) == len(pcm) and np.array_equal(heard, pcm)
    loss = json.loads(stats.read_text())["received"]["lost"]
    print(f"demo: alice sent {sent} ({seconds:.1f} s); bob wrote {got}")
    print(f"demo: bob heard the sample {'sample-exactly' if exact else 'with differences'} "
          f"(leading silence {1000 * start / RATE:.0f} ms, {loss} packets lost)")
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
