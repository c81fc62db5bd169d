"""The Phone's login (jcall/phone.py): the media engine loads beside it, in a worker
thread, while the login waits on the network (issue 14 item 5)."""

from __future__ import annotations

import asyncio
import threading
from typing import cast

import pytest

import jcall.phone
import jcall.startup
from jcall.events import Event
from jcall.phone import Phone, PhoneSettings
from jcall.transport.servers import NO_SERVERS
from jcall.xmpp.client import XmppClient


class SlowLogin:
    """A client whose login completes when ``done`` is set (the server's answers)."""

    discovered = NO_SERVERS

    def __init__(self) -> None:
        self.done = asyncio.Event()
        self.logged_in = False

    async def login(self) -> None:
        await self.done.wait()
        self.logged_in = True


def phone_for(client: SlowLogin) -> Phone:
    events: list[Event] = []
    return Phone(cast(XmppClient, client), events.append, PhoneSettings())


async def test_the_media_engine_loads_in_a_worker_while_the_login_waits(
        monkeypatch: pytest.MonkeyPatch) -> None:
    client = SlowLogin()
    loop = asyncio.get_running_loop()
    seen: list[tuple[bool, bool]] = []  # (in the main thread, logged in) at each load

    def load_media() -> None:
        seen.append((threading.current_thread() is threading.main_thread(),
                     client.logged_in))
        loop.call_soon_threadsafe(client.done.set)  # (the login's answers come now)

    monkeypatch.setattr(jcall.phone, "load_media", load_media)
    assert await asyncio.wait_for(phone_for(client).start(asyncio.Event()), 5.0)
    assert seen == [(False, False)]


async def test_start_returns_once_the_media_engine_has_loaded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    client = SlowLogin()
    client.done.set()  # (the login is quicker than the import)
    loaded = threading.Event()

    def load_media() -> None:
        loaded.wait(5.0)

    monkeypatch.setattr(jcall.phone, "load_media", load_media)
    start = asyncio.ensure_future(phone_for(client).start(asyncio.Event()))
    await asyncio.sleep(0.05)
    assert client.logged_in and not start.done()
    loaded.set()
    assert await asyncio.wait_for(start, 5.0)


async def test_start_up_ends_when_the_phone_has_started(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The entry point held the garbage collector (jcall/startup.py): logged in with
    the media engine loaded, it runs again."""
    released: list[bool] = []
    monkeypatch.setattr(jcall.phone, "load_media", lambda: None)
    monkeypatch.setattr(jcall.startup, "release", lambda: released.append(True))
    client = SlowLogin()
    client.done.set()
    assert await asyncio.wait_for(phone_for(client).start(asyncio.Event()), 5.0)
    assert released == [True]


async def test_giving_up_during_the_login_returns_at_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jcall.phone, "load_media", lambda: None)
    hangup = asyncio.Event()
    hangup.set()
    assert not await asyncio.wait_for(phone_for(SlowLogin()).start(hangup), 5.0)
