"""The command line's start-up (jcall/cli.py): --help, --version and usage errors pay
for click only (issue 14 item 5); the options' choices are the enums' values."""

from __future__ import annotations

import subprocess
import sys

import click

from jcall.cli import dial, listen, main
from jcall.signaling.model import SignalingMode
from jcall.transport.base import IceMode

HEAVY = ("numpy", "slixmpp", "aioice", "asyncio", "sounddevice", "soxr", "jcall.phone")


def test_the_choices_are_the_enums() -> None:
    for command in (main, dial, listen):
        choices = {p.name: p.type.choices for p in command.params
                   if isinstance(p.type, click.Choice)}
        assert tuple(m.value for m in IceMode) == tuple(choices["ice_mode"])
        assert tuple(m.value for m in SignalingMode) == tuple(choices["signaling"])


def test_loading_the_command_line_imports_nothing_heavy() -> None:
    code = ("import sys, jcall.cli; print(' '.join(m for m in " + repr(HEAVY)
            + " if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.split()
    assert loaded == []
