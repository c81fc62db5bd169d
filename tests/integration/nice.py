"""Drive ``nicepeer.py`` (a real libnice agent in Debian's Python) from the tests."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import struct
from pathlib import Path
from typing import Any

import pytest

from jcall.signaling import model
from jcall.signaling.gingle import Candidate, candidate_from_model, candidate_to_model

HELPER = Path(__file__).with_name("nicepeer.py")
PYTHON = os.environ.get("JCALL_NICE_PYTHON", "/usr/bin/python3")
GINGLE_TYPE = {"host": "local", "srflx": "stun", "prflx": "stun", "relay": "relay"}


def require_libnice() -> None:
    if not shutil.which(PYTHON):
        pytest.fail(f"{PYTHON} not found: run scripts/setup (python3-gi, gir1.2-nice-0.1)")


class NicePeer:
    """One libnice agent in its own process; events arrive in order on ``events``."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.seen: list[dict[str, Any]] = []
        self._reader = asyncio.ensure_future(self._read())
        self.candidates: list[dict[str, Any]] = []
        self.compatibility = "google"
        self.ufrag = self.pwd = ""

    @classmethod
    async def start(cls, *, compatibility: str = "google", controlling: bool,
                    set_credentials: bool = False, components: int = 2) -> NicePeer:
        require_libnice()
        proc = await asyncio.create_subprocess_exec(
            PYTHON, str(HELPER), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        peer = cls(proc)
        peer.compatibility = compatibility
        await peer.wait_for("ready")
        peer.command("start", compatibility=compatibility, controlling=controlling,
                     components=components, set_credentials=set_credentials)
        got = await peer.wait_for("candidates")
        peer.candidates = got["candidates"]
        peer.ufrag, peer.pwd = got["ufrag"], got["pwd"]
        return peer

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            event = json.loads(line)
            self.seen.append(event)
            await self.events.put(event)

    def command(self, cmd: str, **args: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps({"cmd": cmd, **args}) + "\n").encode())

    async def wait_for(self, name: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            while True:
                event = await self.events.get()
                if event["event"] == "error":
                    raise AssertionError(f"libnice peer: {event['error']}")
                if event["event"] == name and all(event.get(k) == v for k, v in match.items()):
                    return event
        return await asyncio.wait_for(find(), timeout)

    def happened(self, name: str, **match: Any) -> bool:
        return any(e["event"] == name and all(e.get(k) == v for k, v in match.items())
                   for e in self.seen)

    def gingle_candidates(self, generation: int = 0) -> list[Candidate]:
        """As libpurple puts them on the wire (google_session.c): name rtp/rtcp,
        preference = priority / 1000, the candidate's username, an empty password. In
        RFC 5245 mode the stream's ufrag/pwd go in their place, as jcall's do."""
        rfc = self.compatibility == "rfc5245"
        return [Candidate(address=c["address"], port=c["port"],
                          username=self.ufrag if rfc else c["username"],
                          password=self.pwd if rfc else c["password"],
                          name="rtp" if c["component"] == 1 else "rtcp",
                          preference=min(1.0, c["priority"] / 1000), protocol="udp",
                          generation=generation, type=GINGLE_TYPE.get(c["type"], "local"),
                          network=0)
                for c in self.candidates]

    def candidates_model(self) -> list[model.Candidate]:
        """:meth:`gingle_candidates` as jcall's session hands them to its transport."""
        return [m for c in self.gingle_candidates()
                if (m := candidate_to_model(c)) is not None]

    def add_remote(self, ours: list[model.Candidate], **credentials: str) -> None:
        """Our candidates, as libpurple hands them to libnice (priority = pref x 1000)."""
        candidates = [candidate_from_model(c) for c in ours]
        self.command("remote", candidates=[
            {"address": c.address, "port": c.port, "username": c.username,
             "password": c.password, "priority": int(c.preference * 1000),
             "type": {"local": "host", "stun": "srflx", "relay": "relay"}.get(c.type, "host"),
             "component": 1 if c.name == "rtp" else 2} for c in candidates], **credentials)

    def play(self, packets: list[bytes], path: Path, interval: float,
             on_selected: bool = False) -> None:
        path.write_bytes(b"".join(struct.pack("!H", len(p)) + p for p in packets))
        self.command("play", path=str(path), interval=interval, on_selected=on_selected)

    async def record(self, path: Path) -> None:
        self.command("record", path=str(path))
        await self.wait_for("recording")

    async def close(self) -> None:
        if self.proc.returncode is None:
            self.command("quit")
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self._reader.cancel()


def recorded(path: Path) -> list[tuple[float, bytes]]:
    """What ``record`` wrote: (monotonic arrival, datagram) pairs."""
    blob = path.read_bytes() if path.exists() else b""
    out = []
    pos = 0
    while pos < len(blob):
        when, size = struct.unpack_from("!dH", blob, pos)
        pos += 10
        out.append((when, blob[pos:pos + size]))
        pos += size
    return out
