import numpy as np
import pytest

from jcall.audio.convert import StreamResampler, channels, resample


def sine(hz: float, rate: int, seconds: float, amp: float = 10000) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.rint(amp * np.sin(2 * np.pi * hz * t)).astype(np.int16).reshape(-1, 1)


def dominant(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x[:, 0].astype(float) * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate / len(x))


@pytest.mark.parametrize("rate_in, rate_out", [(48000, 44100), (44100, 8000), (8000, 16000)])
def test_resampling_keeps_frequency_amplitude_and_duration(rate_in: int, rate_out: int) -> None:
    x = sine(1000, rate_in, 1.0)
    y = resample(x, rate_in, rate_out)
    assert abs(len(y) - rate_out) <= 2
    assert dominant(y, rate_out) == pytest.approx(1000, abs=2)
    mid = y[len(y) // 4: 3 * len(y) // 4, 0].astype(float)
    assert np.sqrt(np.mean(mid**2)) == pytest.approx(10000 / np.sqrt(2), rel=0.02)


def test_identity_rate_is_untouched() -> None:
    x = sine(440, 8000, 0.1)
    assert resample(x, 8000, 8000) is x
    stream = StreamResampler(8000, 8000, 1)
    assert stream(x) is x


def test_stream_resampler_matches_the_whole_signal_rate() -> None:
    x = sine(700, 48000, 1.0)
    stream = StreamResampler(48000, 44100, 1)
    chunks = [stream(x[i:i + 960]) for i in range(0, len(x), 960)]
    y = np.concatenate(chunks)
    assert 0 <= 44100 - len(y) <= 0.005 * 44100  # live: at most 5 ms held back
    assert dominant(y, 44100) == pytest.approx(700, abs=2)


def test_channels() -> None:
    stereo = np.array([[100, 300], [-50, 50]], dtype=np.int16)
    assert channels(stereo, 1).tolist() == [[200], [0]]
    mono = np.array([[7], [8]], dtype=np.int16)
    assert channels(mono, 2).tolist() == [[7, 7], [8, 8]]
    assert channels(stereo, 2) is stereo
