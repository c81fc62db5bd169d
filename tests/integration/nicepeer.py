"""A real libnice agent (Debian libnice10 through PyGObject) as a third-party ICE peer.

Run by Debian's own Python (``/usr/bin/python3``, which has ``python3-gi``), not by the
test runner's: the tests drive it over JSON lines (stdin commands, stdout events) and
do the XMPP side themselves, as libpurple does with farstream and libnice.

What GObject introspection cannot do on Debian 12 is done with ctypes against the same
shared libraries: the typelib's NiceCandidate field offsets disagree with libnice
0.1.21's struct (reading ``username`` returns garbage, ``password`` crashes), and the
data calls take no binary buffers. So the candidate's ``username``/``password``
pointers are read and written at their C offsets, and ``nice_agent_attach_recv`` /
``nice_agent_send`` are called directly.

Commands (one JSON object per line):
  {"cmd": "start", "compatibility": "google"|"rfc5245", "controlling": bool,
   "address": "127.0.0.1", "components": 2, "set_credentials": false}
      -> {"event": "candidates", "candidates": [...]} once gathering is done
  {"cmd": "remote", "candidates": [{"address", "port", "username", "password",
   "priority", "type", "component"}], "ufrag": "", "pwd": ""}
  {"cmd": "send", "hex": "..."}                    one datagram on component 1
  {"cmd": "play", "path": FILE, "interval": 0.02, "on_selected": false}
      length-prefixed datagrams, paced; with on_selected, from the moment a pair is
      selected on component 1 (at once if one is)
  {"cmd": "record", "path": FILE}                  component 1's datagrams, with times
  {"cmd": "quit"}
Events: "state" (component, state name), "selected" (component), "received" (count of
datagrams on component 1, at most every 100 ms), "played" (sent, failed), "error".
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import struct
import sys
import time
from typing import Any

import gi

gi.require_version("Nice", "0.1")
from gi.repository import GLib, Nice  # noqa: E402

GLIBLIB = ctypes.CDLL("libglib-2.0.so.0")
NICELIB = ctypes.CDLL("libnice.so.10")
GLIBLIB.g_strdup.restype = ctypes.c_void_p
GLIBLIB.g_strdup.argtypes = [ctypes.c_char_p]
GLIBLIB.g_free.argtypes = [ctypes.c_void_p]
GLIBLIB.g_main_context_default.restype = ctypes.c_void_p
RECV_FUNC = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint,
                             ctypes.c_uint, ctypes.POINTER(ctypes.c_char), ctypes.c_void_p)
NICELIB.nice_agent_attach_recv.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint,
                                           ctypes.c_void_p, RECV_FUNC, ctypes.c_void_p]
NICELIB.nice_agent_send.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint,
                                    ctypes.c_uint, ctypes.c_char_p]
NICELIB.nice_agent_send.restype = ctypes.c_int


class _Candidate(ctypes.Structure):
    """struct _NiceCandidate of libnice 0.1.21 (agent/candidate.h)."""

    _fields_ = [("type", ctypes.c_int), ("transport", ctypes.c_int),
                ("addr", ctypes.c_uint8 * 28), ("base_addr", ctypes.c_uint8 * 28),
                ("priority", ctypes.c_uint32), ("stream_id", ctypes.c_uint),
                ("component_id", ctypes.c_uint), ("foundation", ctypes.c_char * 33),
                ("username", ctypes.c_void_p), ("password", ctypes.c_void_p)]


def _address_of(boxed: Any) -> int:
    # PyGObject shows the wrapped C pointer in repr(): "<... (NiceCandidate at 0x...)>"
    match = re.search(r"\(\w+ at (0x[0-9a-f]+)\)", repr(boxed))
    assert match, repr(boxed)
    return int(match.group(1), 16)


def _raw(boxed: Any) -> _Candidate:
    return _Candidate.from_address(_address_of(boxed))


def _text(ptr: int | None) -> str:
    return ctypes.string_at(ptr).decode() if ptr else ""


def emit(**event: Any) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


TYPES = {"host": Nice.CandidateType.HOST, "srflx": Nice.CandidateType.SERVER_REFLEXIVE,
         "prflx": Nice.CandidateType.PEER_REFLEXIVE, "relay": Nice.CandidateType.RELAYED}
TYPE_NAMES = {int(v): k for k, v in TYPES.items()}
STATES = {int(Nice.ComponentState.DISCONNECTED): "disconnected",
          int(Nice.ComponentState.GATHERING): "gathering",
          int(Nice.ComponentState.CONNECTING): "connecting",
          int(Nice.ComponentState.CONNECTED): "connected",
          int(Nice.ComponentState.READY): "ready",
          int(Nice.ComponentState.FAILED): "failed"}


class Peer:
    def __init__(self) -> None:
        self.loop = GLib.MainLoop()
        self.agent: Any = None
        self.stream = 0
        self.components = 2
        self.set_credentials = False
        self.record: Any = None
        self.received = 0
        self.reported = 0
        self.selected = False
        self.waiting_play: tuple[str, float] | None = None
        self._recv_cb = RECV_FUNC(self._on_data)  # kept alive as long as the agent

    # -- commands ---------------------------------------------------------------------
    def command(self, line: str) -> None:
        msg = json.loads(line)
        getattr(self, "cmd_" + msg.pop("cmd"))(**msg)

    def cmd_start(self, compatibility: str = "google", controlling: bool = False,
                  address: str = "127.0.0.1", components: int = 2,
                  set_credentials: bool = False) -> None:
        compat = {"google": Nice.Compatibility.GOOGLE,
                  "rfc5245": Nice.Compatibility.RFC5245}[compatibility]
        self.components = components
        self.set_credentials = set_credentials
        agent = Nice.Agent.new(GLib.MainContext.default(), compat)
        agent.props.controlling_mode = controlling
        agent.props.upnp = False
        local = Nice.Address.new()
        local.set_from_string(address)
        agent.add_local_address(local)
        self.stream = agent.add_stream(components)
        agent.connect("component-state-changed", self._on_state)
        agent.connect("new-selected-pair", self._on_selected)
        agent.connect("candidate-gathering-done", self._on_gathered)
        ptr = _address_of(agent)
        for component in range(1, components + 1):
            NICELIB.nice_agent_attach_recv(ptr, self.stream, component,
                                           GLIBLIB.g_main_context_default(),
                                           self._recv_cb, None)
        self.agent = agent
        agent.gather_candidates(self.stream)

    def cmd_remote(self, candidates: list[dict[str, Any]], ufrag: str = "",
                   pwd: str = "") -> None:
        if ufrag or self.set_credentials:
            # What libpurple never does in GOOGLE mode (gingle.md part G); without it a
            # controlled libnice never selects a pair.
            first = ufrag or candidates[0]["username"]
            self.agent.set_remote_credentials(self.stream, first, pwd)
        for component in range(1, self.components + 1):
            mine = [c for c in candidates if c.get("component", 1) == component]
            if mine:
                self.agent.set_remote_candidates(self.stream, component,
                                                 [self._candidate(c) for c in mine])

    def _candidate(self, c: dict[str, Any]) -> Any:
        cand = Nice.Candidate.new(TYPES[c.get("type", "host")])
        # The typelib cannot set fields (see the module doc): every one goes through C.
        raw = _raw(cand)
        raw.component_id = c.get("component", 1)
        raw.stream_id = self.stream
        raw.priority = int(c.get("priority", 1000))
        raw.transport = int(Nice.CandidateTransport.UDP)
        raw.foundation = str(c.get("foundation", "1")).encode()
        address = Nice.Address.new()
        address.set_from_string(c["address"])
        address.set_port(int(c["port"]))
        ctypes.memmove(ctypes.addressof(raw) + _Candidate.addr.offset,
                       _address_of(address), 28)
        raw.username = GLIBLIB.g_strdup(c.get("username", "").encode())
        raw.password = GLIBLIB.g_strdup(c.get("password", "").encode())
        return cand

    def cmd_send(self, hex: str, component: int = 1) -> None:
        data = bytes.fromhex(hex)
        sent = NICELIB.nice_agent_send(_address_of(self.agent), self.stream, component,
                                       len(data), data)
        emit(event="sent", result=sent)

    def cmd_play(self, path: str, interval: float = 0.02, on_selected: bool = False) -> None:
        if on_selected and not self.selected:
            self.waiting_play = (path, interval)
            return
        with open(path, "rb") as fh:
            blob = fh.read()
        packets = []
        pos = 0
        while pos < len(blob):
            (size,) = struct.unpack_from("!H", blob, pos)
            packets.append(blob[pos + 2:pos + 2 + size])
            pos += 2 + size
        start = time.monotonic()
        state = {"i": 0, "sent": 0, "failed": 0}

        def tick() -> bool:
            # absolute deadlines: packet i is due at start + i * interval
            while state["i"] < len(packets) and \
                    time.monotonic() >= start + state["i"] * interval:
                data = packets[state["i"]]
                rc = NICELIB.nice_agent_send(_address_of(self.agent), self.stream, 1,
                                             len(data), data)
                state["sent" if rc == len(data) else "failed"] += 1
                state["i"] += 1
            if state["i"] >= len(packets):
                emit(event="played", sent=state["sent"], failed=state["failed"])
                return False
            return True

        GLib.timeout_add(max(1, int(interval * 500)), tick)

    def cmd_record(self, path: str) -> None:
        self.record = open(path, "ab")  # noqa: SIM115 (closed at quit)
        emit(event="recording")

    def cmd_quit(self) -> None:
        if self.record is not None:
            self.record.close()
        self.loop.quit()

    # -- libnice signals ----------------------------------------------------------------
    def _on_gathered(self, agent: Any, stream: int) -> None:
        # Reading candidates inside the signal deadlocks libnice 0.1.21: do it next.
        GLib.idle_add(self._report_candidates)

    def _report_candidates(self) -> bool:
        out = []
        for component in range(1, self.components + 1):
            for cand in self.agent.get_local_candidates(self.stream, component):
                raw = _raw(cand)
                sdp = self.agent.generate_local_candidate_sdp(cand)
                fields = sdp.split()
                out.append({"component": component, "address": fields[4],
                            "port": int(fields[5]), "priority": raw.priority,
                            "type": TYPE_NAMES.get(raw.type, "host"),
                            "username": _text(raw.username),
                            "password": _text(raw.password),
                            "foundation": raw.foundation.decode()})
        ufrag, pwd = self.agent.get_local_credentials(self.stream)[1:]
        emit(event="candidates", candidates=out, ufrag=ufrag, pwd=pwd)
        return False

    def _on_state(self, agent: Any, stream: int, component: int, state: int) -> None:
        emit(event="state", component=component, state=STATES.get(state, str(state)))

    def _on_selected(self, agent: Any, stream: int, component: int, local: str,
                     remote: str) -> None:
        emit(event="selected", component=component, t=time.monotonic())
        if component == 1:
            self.selected = True
            if self.waiting_play is not None:
                path, interval = self.waiting_play
                self.waiting_play = None

                def play_now() -> bool:
                    self.cmd_play(path, interval)
                    return False  # (once)

                GLib.idle_add(play_now)

    def _on_data(self, agent: int, stream: int, component: int, length: int,
                 buf: Any, data: Any) -> None:
        if component != 1:
            return
        self.received += 1
        if self.record is not None:
            payload = ctypes.string_at(buf, length)
            self.record.write(struct.pack("!dH", time.monotonic(), length) + payload)
            self.record.flush()  # the test reads the file while the call goes on
        if self.received == 1 or self.received - self.reported >= 50:
            self.reported = self.received
            emit(event="received", count=self.received)

    # -- stdin --------------------------------------------------------------------------
    def on_stdin(self, fd: int, condition: int) -> bool:
        line = sys.stdin.readline()
        if not line:
            self.cmd_quit()
            return False
        try:
            self.command(line)
        except Exception as exc:  # report, keep serving: the test decides
            emit(event="error", error=f"{type(exc).__name__}: {exc}")
        return True


def main() -> None:
    peer = Peer()
    GLib.io_add_watch(sys.stdin.fileno(), GLib.PRIORITY_DEFAULT, GLib.IO_IN | GLib.IO_HUP,
                      peer.on_stdin)
    emit(event="ready", pid=os.getpid())
    peer.loop.run()
    if peer.record is not None and not peer.record.closed:
        peer.record.close()
    emit(event="bye", received=peer.received)


if __name__ == "__main__":
    main()
