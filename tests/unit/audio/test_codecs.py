"""Codecs against known G.711 code points (ITU-T G.711 tables) and, for decoding,
against the standard library's audioop, an independent implementation."""

import warnings

import numpy as np
import pytest

from jcall.audio.codecs import (
    ALAW_TABLE,
    G711,
    L16,
    ULAW_TABLE,
    alaw_encode,
    codec_for,
    ulaw_encode,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import audioop
    except ImportError:  # Python >= 3.13
        audioop = None  # type: ignore[assignment]

ALL16 = np.arange(-32768, 32768, dtype=np.int16)


@pytest.mark.parametrize("code, value", [(0x00, -32124), (0x80, 32124), (0x7F, 0), (0xFF, 0),
                                         (0x70, -120), (0xF0, 120), (0x0F, -16764)])
def test_ulaw_known_code_points(code: int, value: int) -> None:
    assert ULAW_TABLE[code] == value


@pytest.mark.parametrize("code, value", [(0x55, -8), (0xD5, 8), (0x2A, -32256), (0xAA, 32256),
                                         (0x54, -24), (0xD4, 24)])
def test_alaw_known_code_points(code: int, value: int) -> None:
    assert ALAW_TABLE[code] == value


def test_every_code_survives_decode_then_encode() -> None:
    codes = np.arange(256, dtype=np.uint8)
    u = ulaw_encode(ULAW_TABLE[codes])
    assert np.array_equal(u[codes != 0x7F], codes[codes != 0x7F])  # 0x7F is "-0": 0xFF
    assert np.array_equal(alaw_encode(ALAW_TABLE[codes]), codes)


@pytest.mark.skipif(audioop is None, reason="audioop is gone from this Python")
def test_decoders_match_audioop() -> None:
    codes = bytes(range(256))
    assert np.array_equal(np.frombuffer(audioop.ulaw2lin(codes, 2), "<i2"), ULAW_TABLE)
    assert np.array_equal(np.frombuffer(audioop.alaw2lin(codes, 2), "<i2"), ALAW_TABLE)


@pytest.mark.skipif(audioop is None, reason="audioop is gone from this Python")
def test_encoders_match_audioop_for_non_negative_samples() -> None:
    # G.191 and audioop (Sun) differ only in how negative samples are truncated.
    pos = ALL16[ALL16 >= 0]
    raw = pos.astype("<i2").tobytes()
    assert np.array_equal(ulaw_encode(pos), np.frombuffer(audioop.lin2ulaw(raw, 2), np.uint8))
    assert np.array_equal(alaw_encode(pos), np.frombuffer(audioop.lin2alaw(raw, 2), np.uint8))


def test_quantisation_error_is_bounded_by_the_segment_step() -> None:
    u = ULAW_TABLE[ulaw_encode(ALL16)].astype(np.int32)
    a = ALAW_TABLE[alaw_encode(ALL16)].astype(np.int32)
    x = ALL16.astype(np.int32)
    assert np.max(np.abs(u - x)[np.abs(x) < 32000]) <= 512  # half the top segment's step
    assert np.max(np.abs(a - x)[np.abs(x) < 32000]) <= 512
    assert np.all(np.diff(u) >= 0) and np.all(np.diff(a) >= 0)  # monotonic


def test_l16_is_big_endian_interleaved() -> None:
    stereo = np.array([[1, -2], [0x1234, 0x7FFF]], dtype=np.int16)
    codec = L16(44100, 2)
    wire = codec.encode(stereo)
    assert wire == bytes.fromhex("0001fffe12347fff")
    assert np.array_equal(codec.decode(wire), stereo)
    assert codec.decode(wire + b"\x01").shape == (2, 2)  # a stray odd byte is dropped


def test_codec_for() -> None:
    assert codec_for("pcmu", 8000) == G711("PCMU")
    assert codec_for("L16", 16000) == L16(16000)
    with pytest.raises(ValueError):
        codec_for("speex", 16000)
