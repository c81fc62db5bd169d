"""The command line's start-up (jcall/cli.py): --help, --version and usage errors pay
for click only (issue 14 item 5); the literal choices match the enums they stand for."""

from __future__ import annotations

import subprocess
import sys

from jcall.cli import ICE_MODES, SIGNALING_MODES
from jcall.phone import SignalingMode
from jcall.transport.base import IceMode

HEAVY = ("numpy", "slixmpp", "aioice", "asyncio", "sounddevice", "soxr", "jcall.phone")


def test_the_choices_are_the_enums() -> None:
    assert tuple(m.value for m in IceMode) == ICE_MODES
    assert tuple(m.value for m in SignalingMode) == SIGNALING_MODES


def test_loading_the_command_line_imports_nothing_heavy() -> None:
    code = ("import sys, jcall.cli; print(' '.join(m for m in " + repr(HEAVY)
            + " if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.split()
    assert loaded == []
