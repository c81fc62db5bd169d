"""What a call's audio is to be (files, a tone, silence, or the sound devices), as the
command line and the config file say: no audio is touched here, and nothing heavy is
imported (numpy loads when media starts)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import JcallError


@dataclass(frozen=True)
class AudioSettings:
    """Where a call's audio comes from and goes to: files, a tone, silence or devices."""

    input: Path | None = None
    output: Path | None = None
    tone: float | None = None
    input_device: str | None = None
    output_device: str | None = None
    silent: bool = False  # send silence (no microphone)
    mute_output: bool = False  # discard received audio (no speaker)

    def check_files(self) -> None:
        """Fail before logging in, not once a call is up: the input must be a readable
        WAV file and the output's folder must exist."""
        if self.input is not None:
            from .files import read_wav

            read_wav(self.input)
        if self.output is not None and not self.output.resolve().parent.is_dir():
            raise JcallError(f"cannot write {self.output}: no such folder")

    @property
    def uses_input_device(self) -> bool:
        return self.input is None and self.tone is None and not self.silent

    @property
    def uses_output_device(self) -> bool:
        return self.output is None and not self.mute_output
