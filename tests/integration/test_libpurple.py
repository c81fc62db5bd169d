"""Gingle calls with a real Pidgin stack: libpurple 2.14 (its XMPP client, its
google_session.c), farstream and libnice 0.1.21 from Debian, run headless by
purple/purplepeer.c (built here with gcc against those packages). Audio is a test tone
each way, checked by its frequency and duration (farstream resamples and packs as it
likes, so nothing is sample-exact here; tests/integration/test_purple_call.py is).

What the issue asks of this pairing (gingle.md part G): a libpurple caller carries
audio both ways; jcall calling a stock libpurple carries jcall's audio only, and jcall
says why."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from jcall.audio.files import read_wav
from jcall.errors import ExitCode

from .jcallproc import Account, JcallProcess, start

SOURCE = Path(__file__).with_name("purple") / "purplepeer.c"
JCALL_TONE, PURPLE_TONE = 660.0, 440.0


@pytest.fixture(scope="session")
def purple_peer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("pkg-config") is None or subprocess.run(
            ["pkg-config", "--exists", "purple", "gstreamer-1.0"]).returncode != 0:
        pytest.fail("libpurple-dev and libgstreamer1.0-dev are missing: run scripts/setup")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "purple", "gstreamer-1.0"],
                           check=True, capture_output=True, text=True).stdout.split()
    binary = tmp_path_factory.mktemp("purple") / "purplepeer"
    subprocess.run(["gcc", "-O1", "-Wall", "-Werror", "-o", str(binary), str(SOURCE), *flags],
                   check=True)
    return binary


@pytest.fixture
def ca_dir(ca_file: Path, tmp_path: Path) -> Path:
    """The test CA alone: libpurple loads every certificate in its CA directory."""
    directory = tmp_path / "ca"
    directory.mkdir()
    shutil.copy(ca_file, directory / "ca.crt")
    return directory


class Pidgin:
    def __init__(self, binary: Path, account: Account, server: str, ca_dir: Path,
                 tmp: Path, *args: str) -> None:
        user_dir = tmp / "purple-home"
        user_dir.mkdir()
        self.record = tmp / "purple_got.raw"
        popen = subprocess.Popen(
            [str(binary), "--user-dir", str(user_dir), "--jid", account.jid,
             "--password", account.password, "--server", server, "--ca-dir", str(ca_dir),
             "--record", str(self.record), "--tone", str(PURPLE_TONE), *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
        self.proc = JcallProcess("libpurple", popen)

    def heard(self) -> np.ndarray:
        return np.fromfile(self.record, dtype="<i2") if self.record.exists() else \
            np.zeros(0, np.int16)


def tone(pcm: np.ndarray, rate: int) -> tuple[float, float]:
    """(the strongest frequency, seconds of audio that is not silence)."""
    x = pcm.astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    peak = float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spectrum))])
    return peak, float(np.count_nonzero(np.abs(pcm) > 100) / rate)


def jcall_proc(name: str, account: Account, server: str, ca_file: Path, tmp: Path,
               *args: str, signaling: str = "gingle") -> JcallProcess:
    """``signaling="gingle"``: jcall advertises (and so is called in) Google voice only;
    libpurple prefers Jingle where a peer shows both."""
    return start(name, account, server, ca_file, "--stats-json", str(tmp / "jcall.json"),
                 "--signaling", signaling, *args, audio=("--tone", str(JCALL_TONE),
                               "--output", str(tmp / "jcall_got.wav")))


@pytest.mark.parametrize("signaling", ["gingle", "jingle"])
@pytest.mark.parametrize("codec, jcall_codec", [("PCMU/8000", "PCMU"),
                                                ("L16/44100/2", "L16/44100")],
                         ids=["PCMU", "L16"])
async def test_pidgin_calling_jcall_has_audio_both_ways(
        codec: str, jcall_codec: str, signaling: str, purple_peer: Path, ca_dir: Path,
        tmp_path: Path, accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    """In Jingle (what libpurple picks when jcall shows both: ``auto``) and in Gingle."""
    bob = Account(f"{accounts['bob'].jid}/for-pidgin-{jcall_codec[:4]}-{signaling}",
                  accounts["bob"].password)
    callee = jcall_proc("bob", bob, server, ca_file, tmp_path, "--codec", jcall_codec,
                        "listen", "-a", "--once",
                        signaling="auto" if signaling == "jingle" else signaling)
    pidgin = None
    try:
        await asyncio.to_thread(callee.wait_for, "logged in...")
        erin = Account(f"{accounts['erin'].jid}/pidgin", accounts["erin"].password)
        pidgin = Pidgin(purple_peer, erin, server, ca_dir, tmp_path, "--call", bob.jid,
                        "--seconds", "3")
        await asyncio.to_thread(pidgin.proc.wait_for_start, "candidate-pair 1 ", 20)
        await asyncio.to_thread(pidgin.proc.wait_for, "ended", 20)
        assert await asyncio.to_thread(callee.finish) == ExitCode.OK, callee.err
        assert "call in progress" in callee.out_lines
        stats = json.loads((tmp_path / "jcall.json").read_text())
        assert stats["codec"] == codec and stats["signaling"] == signaling
        assert stats["path"]["ice"] == ("RFC ICE" if signaling == "jingle" else "Google ICE")
        heard, rate = read_wav(tmp_path / "jcall_got.wav")
        peak, seconds = tone(heard[:, 0], rate)
        assert abs(peak - PURPLE_TONE) < 5 and seconds > 1.0, (peak, seconds, stats)
        peak, seconds = tone(pidgin.heard(), 8000)
        assert abs(peak - JCALL_TONE) < 5 and seconds > 2.0, (peak, seconds)
        assert not any("no audio" in line for line in callee.err_lines)
    finally:
        callee.popen.kill()
        if pidgin is not None:
            pidgin.proc.popen.kill()


@pytest.mark.parametrize("jcall_codec", ["PCMU", "L16/44100"], ids=["PCMU", "L16"])
async def test_jcall_calling_a_stock_pidgin_is_heard_and_says_why_it_hears_nothing(
        jcall_codec: str, purple_peer: Path, ca_dir: Path, tmp_path: Path,
        accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    erin = Account(f"{accounts['erin'].jid}/pidgin-callee", accounts["erin"].password)
    pidgin = Pidgin(purple_peer, erin, server, ca_dir, tmp_path, "--answer", "--seconds", "30")
    caller = None
    try:
        await asyncio.to_thread(pidgin.proc.wait_for, "signed-on", 20)
        caller = jcall_proc("alice", accounts["alice"], server, ca_file, tmp_path,
                            "--codec", jcall_codec, "dial", erin.jid, "--duration", "4.5")
        assert await asyncio.to_thread(caller.finish, 30) == ExitCode.OK, caller.err
        await asyncio.to_thread(pidgin.proc.wait_for, "ended", 10)
        assert "call in progress" in caller.out_lines
        assert any("no audio is arriving" in line and "call you instead" in line
                   for line in caller.err_lines), caller.err
        peak, seconds = tone(pidgin.heard(), 8000)
        assert abs(peak - JCALL_TONE) < 5 and seconds > 3.0, (peak, seconds)
        assert not any(line.startswith("candidate-pair") for line in pidgin.proc.out_lines)
    finally:
        pidgin.proc.popen.kill()
        if caller is not None:
            caller.popen.kill()


@pytest.mark.parametrize("codec, jcall_codec", [("PCMU/8000", "PCMU"),
                                                ("L16/44100/2", "L16/44100/2")],
                         ids=["PCMU", "L16"])
async def test_jcall_calling_pidgin_over_jingle_has_audio_both_ways(
        codec: str, jcall_codec: str, purple_peer: Path, ca_dir: Path, tmp_path: Path,
        accounts: dict[str, Account], server: str, ca_file: Path) -> None:
    """libpurple shows Jingle in its caps: jcall calls it in Jingle, and, unlike Google
    ICE in GOOGLE mode, a called libnice in RFC 5245 mode sends too."""
    erin = Account(f"{accounts['erin'].jid}/pidgin-jcallee", accounts["erin"].password)
    pidgin = Pidgin(purple_peer, erin, server, ca_dir, tmp_path, "--answer", "--seconds", "30")
    caller = None
    try:
        await asyncio.to_thread(pidgin.proc.wait_for, "signed-on", 20)
        caller = jcall_proc("alice", accounts["alice"], server, ca_file, tmp_path,
                            "--codec", jcall_codec, "dial", erin.jid, "--duration", "3",
                            signaling="auto")
        assert await asyncio.to_thread(caller.finish, 30) == ExitCode.OK, caller.err
        await asyncio.to_thread(pidgin.proc.wait_for, "ended", 10)
        stats = json.loads((tmp_path / "jcall.json").read_text())
        assert stats["signaling"] == "jingle" and stats["codec"] == codec
        heard, rate = read_wav(tmp_path / "jcall_got.wav")
        peak, seconds = tone(heard[:, 0], rate)
        assert abs(peak - PURPLE_TONE) < 5 and seconds > 1.0, (peak, seconds, stats)
        peak, seconds = tone(pidgin.heard(), 8000)
        assert abs(peak - JCALL_TONE) < 5 and seconds > 2.0, (peak, seconds)
        assert not any("no audio" in line for line in caller.err_lines), caller.err
    finally:
        if caller is not None:
            caller.popen.kill()
        pidgin.proc.popen.kill()
