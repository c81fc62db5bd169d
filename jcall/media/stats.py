"""The call's media statistics as ``--stats-json``, the status line and ``stats`` show
them: what was received (RFC 3550 A.3 loss, A.8 jitter; the jitter buffer's lateness,
concealment and stretching) and the level meters. Pure: counters in, a dict out."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..audio.level import dbfs
from .receive import NativeReceivePath, ReceivePath

Pcm = npt.NDArray[np.int16]


def received(path: ReceivePath | NativeReceivePath, stray: int) -> dict[str, Any]:
    """``stray``: RTP refused because it came from elsewhere than the selected pair."""
    j, r, f = path.jitter.stats, path.stats, path.filter.counters
    ms = 1000.0 / path.rate
    return {
        "ssrc": path.filter.ssrc, "packets": r.packets, "bytes": r.bytes,
        "lost": max(0, r.lost), "late": j.late, "duplicates": j.duplicates,
        "malformed": f.malformed, "foreign": f.foreign_ssrc + f.wrong_payload_type,
        "stray": stray,
        "ssrc_changes": f.ssrc_changes,
        "jitter_ms": round(r.jitter_ms, 3),
        "concealed_ms": round(j.concealed_samples * ms, 1),
        "expanded_ms": round(j.expanded_samples * ms, 1),
        "accelerated_ms": round(j.accelerated_samples * ms, 1),
        "jitter_buffer_delay_ms": round(1000 * path.jitter.delay_s, 1),
    }


def levels(sent: Pcm | None, played: Pcm | None) -> dict[str, float]:
    """The level meters: dBFS of the audio sent and played last."""
    return {"input_dbfs": round(dbfs(sent), 1), "output_dbfs": round(dbfs(played), 1)}
