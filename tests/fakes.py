"""Fakes for the middle ring's unit tests: a clock and a datagram network that loses,
delays and reorders, both deterministic (seeded)."""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field

Address = tuple[str, int]


@dataclass(order=True)
class _InFlight:
    due: float
    seq: int
    data: bytes = field(compare=False)
    source: Address = field(compare=False)
    to: Address = field(compare=False)


@dataclass
class Link:
    """What happens to datagrams from one address to another."""

    loss: float = 0.0  # probability a datagram is dropped
    delay_s: float = 0.001
    jitter_s: float = 0.0  # extra uniform delay: datagrams overtake each other
    up: bool = True


class DatagramNetwork:
    """Datagrams between addresses, delivered in due-time order by :meth:`step`."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.links: dict[tuple[Address, Address], Link] = {}
        self.default = Link()
        self._queue: list[_InFlight] = []
        self._seq = itertools.count()
        self.sent = 0
        self.dropped = 0

    def link(self, source: Address, to: Address) -> Link:
        return self.links.setdefault((source, to), Link(self.default.loss, self.default.delay_s,
                                                        self.default.jitter_s))

    def both_ways(self, a: Address, b: Address, **settings: object) -> None:
        for pair in ((a, b), (b, a)):
            link = self.link(*pair)
            for name, value in settings.items():
                setattr(link, name, value)

    def send(self, source: Address, to: Address, data: bytes, now: float) -> None:
        self.sent += 1
        link = self.links.get((source, to), self.default)
        if not link.up or self.rng.random() < link.loss:
            self.dropped += 1
            return
        due = now + link.delay_s + self.rng.uniform(0, link.jitter_s)
        heapq.heappush(self._queue, _InFlight(due, next(self._seq), data, source, to))

    def next_due(self) -> float | None:
        return self._queue[0].due if self._queue else None

    def deliver_due(self, now: float, deliver: Callable[[Address, Address, bytes], None]
                    ) -> None:
        while self._queue and self._queue[0].due <= now:
            item = heapq.heappop(self._queue)
            deliver(item.to, item.source, item.data)
