import wave
from pathlib import Path

import numpy as np
import pytest

from jcall.audio.endpoints import FileSource, ToneSource
from jcall.audio.files import WavWriter, read_wav, tone, write_wav
from jcall.errors import JcallError


def test_wav_round_trip_is_exact(tmp_path: Path) -> None:
    pcm = np.array([[0, 1], [-32768, 32767], [1234, -1234]], dtype=np.int16)
    write_wav(tmp_path / "a.wav", pcm, 16000)
    back, rate = read_wav(tmp_path / "a.wav")
    assert rate == 16000 and np.array_equal(back, pcm)


def test_streaming_writer_header_is_right_after_close(tmp_path: Path) -> None:
    w = WavWriter(tmp_path / "s.wav", 8000, 1)
    for _ in range(3):
        w.write(np.ones((160, 1), dtype=np.int16))
    w.close()
    with wave.open(str(tmp_path / "s.wav")) as f:
        assert (f.getnframes(), f.getframerate(), f.getnchannels()) == (480, 8000, 1)


@pytest.mark.parametrize("width, raw, expected", [
    (1, bytes([0, 128, 255]), [-32768, 0, 32512]),
    (4, np.array([2**31 - 1, -(2**31), 65536], "<i4").tobytes(), [32767, -32768, 1]),
])
def test_other_sample_widths(tmp_path: Path, width: int, raw: bytes, expected: list[int]) -> None:
    with wave.open(str(tmp_path / "w.wav"), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(width)
        f.setframerate(8000)
        f.writeframes(raw)
    pcm, _ = read_wav(tmp_path / "w.wav")
    assert pcm[:, 0].tolist() == expected


def test_unreadable_inputs_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(JcallError, match="input file not found"):
        read_wav(tmp_path / "missing.wav")
    (tmp_path / "junk.wav").write_bytes(b"not a wav file at all")
    with pytest.raises(JcallError, match=r"cannot read .* as a PCM WAV file"):
        read_wav(tmp_path / "junk.wav")


def test_file_source_converts_and_pads_with_silence(tmp_path: Path) -> None:
    pcm = np.full((800, 2), 1000, dtype=np.int16)  # 0.1 s stereo at 8 kHz
    write_wav(tmp_path / "in.wav", pcm, 8000)
    src = FileSource(tmp_path / "in.wav", 16000, 1)
    first = src.read(1000)
    assert first.shape == (1000, 1)
    rest = src.read(1000)
    assert rest.shape == (1000, 1) and np.all(rest[-300:] == 0)


def test_tone_source_is_continuous_across_reads() -> None:
    src = ToneSource(440, 8000, 1)
    joined = np.concatenate([src.read(80), src.read(80)])
    assert np.array_equal(joined, tone(440, 8000, 1, 0, 160))
