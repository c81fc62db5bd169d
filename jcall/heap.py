"""The process's garbage-collector policy while calls carry media (ARCHITECTURE.md
section 3: process-wide policy sits at process level, not in a media session).

A full collection of a logged-in jcall's heap holds the GIL for tens of milliseconds,
long enough to make packets late and the jitter buffer stretch. So while any call is
in progress, the heap that existed when the first one started is frozen
(``gc.freeze``): the collector leaves it alone, and still collects what the calls
themselves allocate. Once no call is left, it is unfrozen, so that what the calls
left behind can go.

It listens to the call events (jcall/events.py) like a reporter, presenting nothing:
a call is in progress from ``InProgress`` until its ``CallStats`` (media stopped) or
its ``Destroyed``, whichever comes first."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable

from .events import CallStats, Destroyed, Event, InProgress


class FrozenWhileInCall:
    """``freeze``/``unfreeze``: the collector's (replaced in tests)."""

    def __init__(self, freeze: Callable[[], None] = gc.freeze,
                 unfreeze: Callable[[], None] = gc.unfreeze) -> None:
        self._freeze, self._unfreeze = freeze, unfreeze
        self._calls: Counter[str] = Counter()  # calls in progress, by peer

    def __call__(self, event: Event) -> None:
        if isinstance(event, InProgress):
            if not self._calls:
                self._freeze()
            self._calls[event.peer] += 1
        elif isinstance(event, CallStats | Destroyed) and self._calls[event.peer]:
            self._calls[event.peer] -= 1
            if not self._calls[event.peer]:
                del self._calls[event.peer]
            if not self._calls:
                self._unfreeze()

    @property
    def frozen(self) -> bool:
        return bool(self._calls)
