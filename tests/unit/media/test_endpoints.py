"""What a call's audio settings open at the negotiated format (media/endpoints.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np

from jcall.audio.endpoints import FileSink, FileSource, NullSink, SilenceSource, ToneSource
from jcall.audio.files import write_wav
from jcall.audio.settings import AudioSettings
from jcall.media.endpoints import Endpoints, opener


def opened(audio: AudioSettings, open_stream: Any = None) -> Endpoints:
    async def open_them() -> Endpoints:
        return await opener(audio, open_stream)(16000, 1, 0.02)

    return asyncio.run(open_them())


def test_files_tones_and_silence_are_paced_ends() -> None:
    ends = opened(AudioSettings(tone=440.0, mute_output=True))
    assert isinstance(ends.source, ToneSource) and isinstance(ends.sink, NullSink)
    assert ends.devices is None
    assert isinstance(opened(AudioSettings(silent=True, mute_output=True)).source,
                      SilenceSource)


def test_files_are_opened_at_the_negotiated_format(tmp_path: Path) -> None:
    write_wav(tmp_path / "in.wav", np.zeros((800, 2), np.int16), 8000)
    ends = opened(AudioSettings(input=tmp_path / "in.wav", output=tmp_path / "out.wav"))
    assert isinstance(ends.source, FileSource) and isinstance(ends.sink, FileSink)
    assert ends.source.read(320).shape == (320, 1)  # 16 kHz mono from 8 kHz stereo
    ends.sink.close()


def test_the_devices_do_what_no_paced_end_does() -> None:
    asked: list[tuple[AudioSettings, int, float]] = []

    stream = object()

    async def open_stream(audio: AudioSettings, nchannels: int, packet_s: float) -> object:
        asked.append((audio, nchannels, packet_s))
        return stream

    audio = AudioSettings(tone=440.0)  # the speaker plays; a tone is sent
    ends = opened(audio, open_stream)
    assert ends.devices is stream and asked == [(audio, 1, 0.02)]
    assert isinstance(ends.source, ToneSource) and ends.sink is None
    # without a way to open them, nothing stands in for the devices
    assert opened(AudioSettings()) == Endpoints(None, None, None)
