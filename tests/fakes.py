"""Fakes for the middle ring's unit tests: a datagram network that loses, delays and
reorders (deterministic, seeded), a media transport whose events the test emits, and
the signalling side of a call."""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

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


class FakeTransport:
    """A MediaTransport whose events the test emits; it records what the call did."""

    def __init__(self, candidates: list[Any] | None = None) -> None:
        from jcall.transport.base import EventStream

        self._candidates = candidates or []
        self._events = EventStream()
        self.remote: list[Any] = []
        self.peer_ready = False
        self.closed = False
        self.sent: list[bytes] = []
        self.flavor: Any = None
        self.path: Any = None
        self.credentials: Any = None

    def emit(self, event: Any) -> None:
        if hasattr(event, "path"):
            self.path = event.path
            self.flavor = event.path.flavor
        self._events.put(event)

    async def local_candidates(self) -> AsyncIterator[list[Any]]:
        yield list(self._candidates)

    def add_remote(self, candidates: Any) -> None:
        self.remote += list(candidates)

    def end_of_candidates(self) -> None:
        pass

    def peer_has_candidates(self) -> None:
        self.peer_ready = True

    def events(self) -> AsyncIterator[Any]:
        return self._events.__aiter__()

    def send_now(self, data: bytes) -> None:
        self.sent.append(data)

    def set_receiver(self, callback: Any) -> None:
        pass

    stray = 0
    rtt_s: float | None = None

    def direct(self) -> None:
        return None

    async def close(self) -> None:
        self.closed = True
        self._events.close()


class FakeSignalling:
    """The XMPP side of a Call: what it sends, and the peer's replies on demand."""

    def __init__(self, auto_reply: bool = True) -> None:
        import asyncio

        self.sent: list[tuple[str, Any, Any]] = []  # (to, session element, reply future)
        self.auto_reply = auto_reply
        self.jid = "alice@example.com/a"
        self._loop = asyncio.get_running_loop()

    def send_session(self, to: str, element: Any) -> Any:
        fut = self._loop.create_future()
        self.sent.append((to, element, fut))
        if self.auto_reply:
            self._loop.call_soon(self._reply, fut)
        return fut

    @staticmethod
    def _reply(fut: Any) -> None:
        if not fut.done():
            fut.set_result(None)

    def types(self) -> list[str]:
        """What was sent: Gingle's session types, or Jingle's actions."""
        return [str(e.get("type") or e.get("action")) for _, e, _ in self.sent]
