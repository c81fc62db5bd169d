"""Packet loss concealment by pitch-period waveform substitution, after ITU-T G.711
Appendix I: repeat the last pitch period (found by autocorrelation over 2.5-15 ms),
keep full level for 10 ms, then attenuate by 20 % per 10 ms (silent after 60 ms), and
cross-fade back into real audio when packets resume.

Pure: arrays in, arrays out. Also used by the jitter buffer to stretch audio
("expand") when it must play more than it has.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt

Pcm = npt.NDArray[np.int16]
F64 = npt.NDArray[np.float64]

MIN_PITCH_S = 0.0025
MAX_PITCH_S = 0.015
FULL_LEVEL_S = 0.010  # concealment keeps full level this long
FADE_PER_S = 20.0  # then loses 20 % of full level every 10 ms
RESUME_XFADE_S = 0.004


def find_pitch(history: F64, rate: int) -> int:
    """The lag (samples) in [2.5, 15] ms with the best normalised autocorrelation of
    the history's last MAX_PITCH_S against itself."""
    lo, hi = max(1, int(rate * MIN_PITCH_S)), int(rate * MAX_PITCH_S)
    window = hi
    if len(history) < window + hi:
        return min(hi, max(lo, len(history) // 2))
    target = history[-window:]
    best, best_lag = -np.inf, lo
    energy_t = float(np.dot(target, target)) + 1e-9
    # Candidate segments, one per lag, as a strided view (no copies).
    segs = np.lib.stride_tricks.sliding_window_view(history[-(window + hi):-lo], window)
    # segs[j] starts (window + hi) - j samples before the end; lag = hi - j ... lo
    corr = segs @ target
    energy = np.einsum("ij,ij->i", segs, segs) + 1e-9
    score = corr / np.sqrt(energy * energy_t)
    lags = hi - np.arange(len(segs))
    valid = lags >= lo
    if np.any(valid):
        idx = int(np.argmax(np.where(valid, score, -np.inf)))
        best, best_lag = float(score[idx]), int(lags[idx])
    return best_lag if np.isfinite(best) else lo


class Concealer:
    """Keeps recent real audio; synthesises what is missing and smooths the return."""

    def __init__(self, rate: int, channels: int) -> None:
        self.rate = rate
        self.channels = channels
        self._history_len = int(rate * MAX_PITCH_S * 3)
        self._recent: deque[Pcm] = deque()  # the last played chunks, not copied
        self._recent_len = 0
        self._template: F64 | None = None  # one pitch period, when concealing
        self._phase = 0
        self._elapsed = 0  # samples concealed in this loss event

    @property
    def concealing(self) -> bool:
        return self._template is not None

    def _gain(self, start: int, n: int) -> F64:
        t = (start + np.arange(n)) / self.rate
        return np.clip(1.0 - np.maximum(t - FULL_LEVEL_S, 0.0) * FADE_PER_S, 0.0, 1.0)

    def _synth(self, n: int) -> F64:
        if self._template is None:
            history = self._history()
            period = find_pitch(history.mean(axis=1), self.rate)
            self._template = history[-period:].copy()
            self._phase = 0
            self._elapsed = 0
        period = len(self._template)
        idx = (self._phase + np.arange(n)) % period
        out = self._template[idx] * self._gain(self._elapsed, n)[:, None]
        self._phase = (self._phase + n) % period
        self._elapsed += n
        return out

    def conceal(self, n: int) -> Pcm:
        """``n`` samples standing in for audio that did not arrive."""
        return np.clip(np.rint(self._synth(n)), -32768, 32767).astype(np.int16)

    def play(self, pcm: Pcm) -> Pcm:
        """Real audio about to be played: cross-faded in after a concealment, and
        remembered as history."""
        out = pcm
        if self._template is not None:
            n = min(len(pcm), max(1, int(self.rate * RESUME_XFADE_S)))
            tail = self._synth(n)
            ramp = np.linspace(0.0, 1.0, n, endpoint=False)[:, None]
            mixed = pcm[:n] * ramp + tail * (1.0 - ramp)
            out = pcm.copy()
            out[:n] = np.clip(np.rint(mixed), -32768, 32767).astype(np.int16)
            self._template = None
        self.remember(out)
        return out

    def remember(self, pcm: Pcm) -> None:
        if not len(pcm):
            return
        self._recent.append(pcm)
        self._recent_len += len(pcm)
        while self._recent_len - len(self._recent[0]) >= self._history_len:
            self._recent_len -= len(self._recent.popleft())

    def _history(self) -> F64:
        """The last ``_history_len`` samples played, zero-padded at the start."""
        out = np.zeros((self._history_len, self.channels))
        if self._recent:
            recent = np.concatenate(list(self._recent))[-self._history_len:]
            out[len(out) - len(recent):] = recent
        return out
