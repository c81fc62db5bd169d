import numpy as np
import pytest

from jcall.audio.plc import Concealer, find_pitch


@pytest.mark.parametrize("f0", [80.0, 120.0, 200.0, 350.0])
def test_pitch_of_a_harmonic_signal(f0: float) -> None:
    rate = 16000
    t = np.arange(int(0.06 * rate)) / rate
    x = np.sum([np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6)], axis=0)
    lag = find_pitch(x, rate)
    period = rate / f0
    # Any whole number of periods repeats seamlessly (a longer template, less buzz).
    assert min(abs(lag - m * period) for m in range(1, 8)) <= 1.5


def test_concealment_continues_then_fades_to_silence() -> None:
    rate = 8000
    t = np.arange(800) / rate
    tone = (8000 * np.sin(2 * np.pi * 200 * t)).astype(np.int16).reshape(-1, 1)
    c = Concealer(rate, 1)
    c.play(tone[:400])
    synth = c.conceal(800)[:, 0].astype(float)
    assert np.abs(synth[:80]).max() > 6000  # full level for the first 10 ms
    assert np.abs(synth[-80:]).max() == 0  # silent after 60 ms
    # The first 10 ms match the continued tone closely (it is periodic).
    err = synth[:80] - tone[400:480, 0]
    assert np.sqrt(np.mean(err**2)) < 0.1 * 8000


def test_resume_crossfades_without_a_jump() -> None:
    rate = 8000
    c = Concealer(rate, 1)
    c.play(np.full((400, 1), 1000, np.int16))
    c.conceal(40)
    back = c.play(np.full((80, 1), -1000, np.int16))
    assert abs(int(back[0, 0]) - 1000) < 100  # starts where the concealment was
    assert back[-1, 0] == -1000
