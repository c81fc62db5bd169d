"""Garbage collection during start-up: none until the phone has started.

Starting, jcall imports its modules and libraries: it allocates classes, functions
and module dictionaries that live as long as the process, and frees almost nothing.
The cyclic garbage collector would run many times meanwhile, each time
traversing the young objects and finding none to free. ``hold`` (the entry point)
stops it; ``release`` (``Phone.start``, logged in with the media engine loaded)
moves everything allocated so far into the permanent generation (``gc.freeze``),
where no collection traverses it again, and starts the collector. A call's full
collections then traverse only what was allocated after start-up.

Only a process whose entry point held the collector is affected: ``release`` is a
no-op otherwise (tests that start phones in-process).
"""

from __future__ import annotations

import gc

_held = False


def hold() -> None:
    global _held
    if gc.isenabled():
        gc.disable()
        _held = True


def release() -> None:
    global _held
    if _held:
        _held = False
        gc.freeze()
        gc.enable()
