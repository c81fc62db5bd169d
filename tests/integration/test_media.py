"""Real calls carrying audio between two jcall processes through Prosody."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jcall.audio.codecs import ULAW_TABLE, ulaw_encode
from jcall.audio.files import read_wav, write_wav
from jcall.errors import ExitCode

from .jcallproc import Account, start

RNG = np.random.default_rng(2026)


def speechlike(seconds: float, rate: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.5 * t + seed)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    x = sum(np.sin(k * phase + rng.uniform(0, 6)) / k for k in range(1, 10))
    env = 0.5 + 0.5 * np.abs(np.sin(2 * np.pi * 2.3 * t))
    y = 8000 * x * env + rng.normal(0, 200, len(t)) + 500  # never silent at the start
    return np.clip(np.rint(y), -32768, 32767).astype(np.int16).reshape(-1, 1)


def received(path: Path) -> np.ndarray:
    pcm, _ = read_wav(path)
    start = int(np.argmax(pcm[:, 0] != 0))
    return pcm[start:]


def two_way_call(tmp: Path, accounts: dict[str, Account], server: str, ca_file: Path,
                 resource: str, rate: int, caller_args: tuple[str, ...] = (),
                 seconds: float = 2.0
                 ) -> tuple[np.ndarray, np.ndarray, dict[str, Any], dict[str, Any]]:
    a_in, b_in = speechlike(seconds, rate, 1), speechlike(seconds, rate, 2)
    write_wav(tmp / "a.wav", a_in, rate)
    write_wav(tmp / "b.wav", b_in, rate)
    bob = Account(f"{accounts['bob'].jid}/{resource}", accounts["bob"].password)
    callee = start("bob", bob, server, ca_file, "--stats-json", str(tmp / "b.json"),
                   "listen", "-a", "--once",
                   audio=("--input", str(tmp / "b.wav"), "--output", str(tmp / "b_got.wav")))
    callee.wait_for("logged in...")
    caller = start("alice", accounts["alice"], server, ca_file, *caller_args,
                   "--stats-json", str(tmp / "a.json"), "dial", bob.jid,
                   "--duration", str(seconds + 0.6),
                   audio=("--input", str(tmp / "a.wav"), "--output", str(tmp / "a_got.wav")))
    assert caller.finish() == ExitCode.OK, caller.err
    assert callee.finish() == ExitCode.OK, callee.err
    a_stats = json.loads((tmp / "a.json").read_text())
    b_stats = json.loads((tmp / "b.json").read_text())
    for stats in (a_stats, b_stats):
        assert stats["received"]["lost"] == 0
        assert stats["received"]["malformed"] == 0
    assert any(line.startswith("Receiver: ") for line in caller.out_lines)
    return a_in, b_in, a_stats, b_stats


@pytest.mark.parametrize("dialect", ["gingle", "jingle"])
def test_l16_is_sample_exact_both_ways(tmp_path: Path, accounts: dict[str, Account],
                                       server: str, ca_file: Path, dialect: str) -> None:
    a_in, b_in, a_stats, b_stats = two_way_call(tmp_path, accounts, server, ca_file, "l16",
                                                44100, caller_args=("--signaling", dialect))
    assert a_stats["codec"] == b_stats["codec"] == "L16/44100"
    assert a_stats["signaling"] == b_stats["signaling"] == dialect
    for sent, got in ((a_in, received(tmp_path / "b_got.wav")),
                      (b_in, received(tmp_path / "a_got.wav"))):
        assert len(got) >= len(sent)
        assert np.array_equal(got[:len(sent)], sent), (a_stats, b_stats)
    # Paced in real time: about 100 packets of 10 ms per second of call.
    for stats in (a_stats, b_stats):
        assert stats["received"]["concealed_ms"] == 0
        assert 0.8 * 260 <= stats["sent"]["packets"] <= 1.1 * 260


@pytest.mark.parametrize("dialect", ["gingle", "jingle"])
def test_pcmu_matches_the_g711_round_trip_both_ways(
        tmp_path: Path, accounts: dict[str, Account], server: str, ca_file: Path,
        dialect: str) -> None:
    a_in, b_in, a_stats, b_stats = two_way_call(
        tmp_path, accounts, server, ca_file, "pcmu", 8000,
        caller_args=("--codec", "PCMU", "--signaling", dialect))
    assert a_stats["codec"] == "PCMU/8000"
    assert a_stats["signaling"] == b_stats["signaling"] == dialect
    for sent, got in ((a_in, received(tmp_path / "b_got.wav")),
                      (b_in, received(tmp_path / "a_got.wav"))):
        expected = ULAW_TABLE[ulaw_encode(sent[:, 0])].reshape(-1, 1)
        assert np.array_equal(got[:len(expected)], expected)


def test_no_sound_device_is_one_clear_line(accounts: dict[str, Account], server: str,
                                           ca_file: Path) -> None:
    proc = start("alice", accounts["alice"], server, ca_file, "listen", audio=(),
                 extra_env={"JACK_NO_START_SERVER": "1", "JACK_DEFAULT_SERVER": "jcall-none"})
    assert proc.finish() == ExitCode.AUDIO_DEVICE
    assert len(proc.err_lines) == 1, proc.err
    assert "--input/--output" in proc.err_lines[0]
    assert proc.out_lines == []  # it did not even try to log in


def test_missing_input_file_fails_before_login(tmp_path: Path, accounts: dict[str, Account],
                                               server: str, ca_file: Path) -> None:
    proc = start("alice", accounts["alice"], server, ca_file, "listen",
                 audio=("--input", str(tmp_path / "nope.wav"), "--discard"))
    assert proc.finish() == ExitCode.ERROR
    assert proc.err_lines == [f"input file not found: {tmp_path / 'nope.wav'}"]
    assert proc.out_lines == []
