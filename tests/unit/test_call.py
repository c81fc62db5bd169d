"""A Call between its session and a fake transport (tests/fakes.py): what the transport's
events and the peer's messages make of the call, and how it ends."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from jcall.audio.settings import AudioSettings
from jcall.call import Call, CallSettings
from jcall.errors import ExitCode
from jcall.events import Event
from jcall.reporters import LineReporter
from jcall.signaling.model import Action, Candidate, Message, PayloadType
from jcall.signaling.session import Role, Session
from jcall.terminal import Terminal
from jcall.transport.base import Connected, Failed, IceFlavor, Lost, PathInfo, Restored
from tests.fakes import FakeSignalling, FakeTransport

ME, PEER, SID = "alice@example.com/a", "bob@example.com/b", "77"
PCMU = (PayloadType(0, "PCMU", 8000),)
PATH = PathInfo(("10.0.0.1", 5000), "host", ("10.0.0.2", 6000), "host", IceFlavor.GOOGLE)
QUIET = AudioSettings(silent=True, mute_output=True)


class Lines:
    """The call's events, and the lines the line reporter makes of them."""

    def __init__(self) -> None:
        self.out, self.err = io.StringIO(), io.StringIO()
        self.events: list[Event] = []
        self._lines = LineReporter(Terminal(self.out, self.err))

    def report(self, event: Event) -> None:
        self.events.append(event)
        self._lines(event)

    @property
    def status(self) -> list[str]:
        return self.out.getvalue().splitlines()

    @property
    def errors(self) -> list[str]:
        return self.err.getvalue().splitlines()


def make(role: Role, transport: FakeTransport | None = None
         ) -> tuple[Call, FakeTransport, FakeSignalling, Lines]:
    initiator = ME if role is Role.INITIATOR else PEER
    session = Session(role=role, sid=SID, initiator=initiator, peer=PEER)
    transport = transport or FakeTransport()
    signalling = FakeSignalling()
    lines = Lines()
    call = Call(session=session, transport=transport, client=signalling,  # type: ignore[arg-type]
                report=lines.report, settings=CallSettings(audio=QUIET))
    return call, transport, signalling, lines


def from_peer(call: Call, action: Action, **fields: Any) -> None:
    msg = Message(action=action, sid=SID, initiator=call.session.initiator, **fields)
    call.session.receive(msg, PEER, call.now())
    call.pump()


def dial(call: Call) -> None:
    call.session.initiate(PCMU, call.now())
    call.pump()
    call.start_transport()


async def ended(call: Call) -> ExitCode:
    return await asyncio.wait_for(call.finished, 5)


async def test_a_failed_transport_ends_the_call_with_its_reason() -> None:
    call, transport, signalling, lines = make(Role.INITIATOR)
    dial(call)
    transport.emit(Failed("no answer to Google ICE checks on 2 candidate pairs for 15 s"))
    assert await ended(call) is ExitCode.CALL_FAILED
    assert lines.errors == [f"call failed: no media path to '{PEER}': no answer to Google "
                            "ICE checks on 2 candidate pairs for 15 s"]
    _, terminate, _ = signalling.sent[-1]
    assert terminate.get("type") == "terminate"
    assert [c.tag.rsplit("}")[-1] for c in terminate] == ["general-error"]
    assert transport.closed


async def test_accepted_but_never_connected_fails_even_when_the_peer_hangs_up_first() -> None:
    call, _, _, lines = make(Role.RESPONDER)
    from_peer(call, Action.INITIATE, payloads=PCMU)
    call.start_transport()
    call.accept(PCMU)
    from_peer(call, Action.TERMINATE)
    assert await ended(call) is ExitCode.CALL_FAILED
    assert "other side hung up" in lines.status
    assert lines.errors == [f"call failed: no media path to '{PEER}'"]


async def test_a_callee_that_hangs_up_before_accepting_did_not_answer() -> None:
    call, _, _, lines = make(Role.INITIATOR)
    dial(call)
    await asyncio.sleep(0)
    from_peer(call, Action.TERMINATE)
    assert await ended(call) is ExitCode.REJECTED
    assert "call not answered" in lines.status


async def test_an_acknowledged_candidate_message_tells_the_transport() -> None:
    mine = Candidate("10.0.0.1", 5000, "u" * 16, "p" * 24)
    call, transport, signalling, _ = make(Role.INITIATOR, FakeTransport([mine]))
    dial(call)
    for _ in range(5):
        await asyncio.sleep(0)
    assert "transport-info" in signalling.types()  # held until the initiate's ack
    assert transport.peer_ready
    call.hangup()
    await ended(call)


async def test_remote_candidates_go_to_the_transport() -> None:
    call, transport, _, _ = make(Role.INITIATOR)
    dial(call)
    theirs = Candidate("10.0.0.2", 6000, ufrag="Jyb7+0yiFQg4gktD", pwd="")
    from_peer(call, Action.TRANSPORT_INFO, candidates=(theirs,), bare_candidates=True)
    assert transport.remote == [theirs]
    call.hangup()
    await ended(call)


async def test_in_progress_once_connected_and_accepted_then_lost_and_restored() -> None:
    call, transport, _, lines = make(Role.INITIATOR)
    dial(call)
    transport.emit(Connected(PATH))
    await asyncio.sleep(0.01)
    assert "call in progress" not in lines.status  # not accepted yet
    from_peer(call, Action.ACCEPT, payloads=PCMU)
    assert lines.status[-1] == "call in progress" and call.path == PATH
    transport.emit(Lost())
    transport.emit(Restored(PATH))
    await asyncio.sleep(0.01)
    assert lines.status[-2:] == ["media lost", "media restored"]
    call.hangup()
    assert await ended(call) is ExitCode.OK


async def test_a_quiet_google_ice_peer_is_not_waited_for_on_hang_up() -> None:
    """libpurple answers no terminate: the candidates dialect with Google ICE gets 0.2 s."""
    call, transport, signalling, _ = make(Role.INITIATOR)
    signalling.auto_reply = False
    dial(call)
    signalling.sent[0][2].set_result(None)  # the initiate is acknowledged
    theirs = Candidate("10.0.0.2", 6000, ufrag="Jyb7+0yiFQg4gktD", pwd="")
    # Gingle's 'candidates' form:
    from_peer(call, Action.TRANSPORT_INFO, candidates=(theirs,), bare_candidates=True)
    transport.emit(Connected(PATH))
    await asyncio.sleep(0.01)
    loop = asyncio.get_running_loop()
    started = loop.time()
    call.hangup()
    assert await ended(call) is ExitCode.OK
    assert loop.time() - started < 0.5  # not TERMINATE_ACK_WAIT_S


async def test_a_caller_giving_up_while_it_rings_is_a_missed_call_not_a_success() -> None:
    call, _, _, lines = make(Role.RESPONDER)
    from_peer(call, Action.INITIATE, payloads=PCMU)
    call.start_transport()
    from_peer(call, Action.TERMINATE)  # before anyone accepted
    assert await ended(call) is ExitCode.REJECTED
    assert "other side hung up" in lines.status and not lines.errors
