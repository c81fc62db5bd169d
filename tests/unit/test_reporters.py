"""The reporters: each event's line (gingle.md part D wording) and where it goes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from jcall.events import (
    Answered,
    CallFailed,
    Calling,
    CallStats,
    Connecting,
    Destroyed,
    Event,
    Failure,
    FoundFriend,
    HungUp,
    Incoming,
    InProgress,
    LoggedIn,
    LoggedOut,
    LoggingIn,
    MediaLost,
    MediaRestored,
    NoAudio,
    NotAnswered,
    Reconnected,
    Refusal,
    Refused,
    Ringing,
    RosterChange,
    ServerLost,
    Snapshot,
    StanzaLog,
    TakingCrossing,
)
from jcall.reporters import LineReporter, StatsFile, StatusLine, fan_out, meter, status_line
from jcall.terminal import Terminal
from jcall.transport.events import IceFlavor, PathInfo

PEER = "bob@example.com/b"
PATH = PathInfo(("10.0.0.1", 5000), "host", ("10.0.0.2", 6000), "srflx", IceFlavor.RFC)
STATS: dict[str, Any] = {"codec": "PCMU/8000", "sent": {"ssrc": 1, "bytes": 160, "packets": 1},
         "received": {"ssrc": 2, "bytes": 320, "packets": 2, "jitter_ms": 1.25, "lost": 0,
                      "late": 0, "concealed_ms": 20.0, "jitter_buffer_delay_ms": 40.0}}

# event -> (stdout lines, stderr lines)
LINES: list[tuple[Event, list[str], list[str]]] = [
    (Connecting(), ["connecting..."], []),
    (LoggingIn(), ["logging in..."], []),
    (LoggedIn("me@example.com/x"), ["logged in..."], []),
    (LoggedOut(), ["logged out..."], []),
    (LoggedOut("Socket error"), [], ["logged out... Socket error"]),
    (ServerLost("eof"), [], ["connection to the server lost (eof): reconnecting..."]),
    (Reconnected(True), ["reconnected (stream resumed)"], []),
    (Reconnected(False), ["reconnected (new session)"], []),
    (StanzaLog("<iq/>\n"), [], ["<iq/>"]),
    (RosterChange(PEER, True), [f"Adding to roster: {PEER}"], []),
    (RosterChange(PEER, False), [f"Removing from roster: {PEER}"], []),
    (FoundFriend(PEER), [f"Found online friend '{PEER}'"], []),
    (Calling(PEER), ["calling..."], []),
    (Ringing(PEER), ["ringing..."], []),
    (Incoming(PEER), [f"Incoming call from '{PEER}'"], []),
    (Incoming(PEER, asking=True), [], []),
    (Refused(PEER, Refusal.BUSY), [f"Rejected call from '{PEER}': busy"], []),
    (Refused(PEER, Refusal.UNANSWERED), [f"Rejected call from '{PEER}': not answered"], []),
    (Refused(PEER, Refusal.NO_CODEC), [], [f"Rejected call from '{PEER}': no codec in common"]),
    (Refused(PEER, Refusal.NO_TERMINAL), [],
     ["Rejected: not a terminal to ask on (use -a to accept calls)"]),
    (TakingCrossing(PEER), [f"'{PEER}' called as we called it: answering its call"], []),
    (Answered(PEER), ["call answered"], []),
    (InProgress(PEER, PATH), ["call in progress"], []),
    (MediaLost(), ["media lost"], []),
    (MediaRestored(PATH), ["media restored"], []),
    (NotAnswered(), ["call not answered"], []),
    (HungUp(PEER), ["other side hung up"], []),
    (CallFailed(Failure.NO_PATH, PEER), [], [f"call failed: no media path to '{PEER}'"]),
    (CallFailed(Failure.NO_PATH, PEER, "all checks failed"), [],
     [f"call failed: no media path to '{PEER}': all checks failed"]),
    (CallFailed(Failure.PATH_LOST, PEER, "consent expired"), [],
     [f"call failed: media path to '{PEER}' lost: consent expired"]),
    (CallFailed(Failure.ICE_TIMEOUT, PEER, "30"), [],
     [f"call failed: no ICE path to '{PEER}' within 30 s"]),
    (CallFailed(Failure.UNREACHABLE, PEER, "service-unavailable"), [],
     [f"call failed: could not reach '{PEER}' (service-unavailable)"]),
    (CallFailed(Failure.SIGNALLING, PEER, "no reply"), [], ["call failed: no reply"]),
    (CallFailed(Failure.MEDIA, PEER, "no sound output device found"), [],
     ["no sound output device found"]),
    (CallFailed(Failure.SERVER_LOST, PEER), [], ["call failed: connection to the server lost"]),
    (CallFailed(Failure.PEER_OFFLINE, PEER), [], [f"call failed: '{PEER}' went offline"]),
    (NoAudio(PEER, False), [], [f"no audio is arriving from '{PEER}'"]),
    (CallStats(PEER, STATS), ["Sender: ssrc=1 codec='PCMU/8000' bytes=160 packets=1",
                              "Receiver: ssrc=2 bytes=320 packets=2 jitter=1.2ms loss=0 late=0 "
                              "concealed=20ms delay=40ms"], []),
    (Snapshot(PEER, STATS), [], []),
    (Destroyed(PEER), ["call destroyed"], []),
]


def render(event: Event) -> tuple[list[str], list[str]]:
    out, err = io.StringIO(), io.StringIO()
    LineReporter(Terminal(out, err))(event)
    return out.getvalue().splitlines(), err.getvalue().splitlines()


@pytest.mark.parametrize(("event", "out", "err"), LINES, ids=lambda v: type(v).__name__)
def test_each_event_has_its_line(event: Event, out: list[str], err: list[str]) -> None:
    assert render(event) == (out, err)


def test_every_event_type_is_in_the_table() -> None:
    import typing

    from jcall import events

    covered = {type(event) for event, _, _ in LINES}
    assert covered == set(typing.get_args(events.Event))


def test_the_google_callee_hint_says_why_and_what_to_do() -> None:
    _, err = render(NoAudio(PEER, True))
    assert len(err) == 1 and "does not send audio on calls it receives" in err[0]
    assert "Ask them to call you instead." in err[0]


def test_the_stanza_log_goes_to_stderr_as_it_is() -> None:
    assert render(StanzaLog("[12:00:00] SEND >>>>>\n<iq/>\n")) == ([], ["[12:00:00] SEND >>>>>",
                                                                       "<iq/>"])


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_an_incoming_call_rings_the_bell_on_a_terminal_only() -> None:
    tty, err = Tty(), io.StringIO()
    LineReporter(Terminal(tty, err))(Incoming(PEER, asking=True))
    assert tty.getvalue() == "\a"
    assert render(Incoming(PEER, asking=True)) == ([], [])  # (not a terminal: no bell)


def test_stats_file_writes_the_final_statistics(tmp_path: Path) -> None:
    path = tmp_path / "stats.json"
    out, err = io.StringIO(), io.StringIO()
    stats_file = StatsFile(path, Terminal(out, err))
    stats_file(Snapshot(PEER, {"live": True}))
    assert not path.exists()
    stats_file(CallStats(PEER, STATS))
    assert json.loads(path.read_text()) == STATS
    assert err.getvalue() == ""


def test_stats_file_that_cannot_be_written_is_one_error_line(tmp_path: Path) -> None:
    path = tmp_path / "missing-dir" / "stats.json"
    out, err = io.StringIO(), io.StringIO()
    StatsFile(path, Terminal(out, err))(CallStats(PEER, STATS))
    assert err.getvalue().startswith(f"cannot write {path}: ")
    assert len(err.getvalue().splitlines()) == 1


def test_fan_out_hands_each_event_to_every_reporter_in_order() -> None:
    seen: list[tuple[str, Event]] = []
    report = fan_out([lambda e: seen.append(("a", e)), lambda e: seen.append(("b", e))])
    report(Calling(PEER))
    report(Ringing(PEER))
    assert seen == [("a", Calling(PEER)), ("b", Calling(PEER)), ("a", Ringing(PEER)),
                    ("b", Ringing(PEER))]


LIVE: dict[str, Any] = STATS | {"duration_s": 83.4, "rtt_ms": 12.6, "muted": False,
                "path": PATH.as_dict(),
                "levels": {"input_dbfs": -15.0, "output_dbfs": -60.0}}


def test_the_status_line_has_time_codec_path_rtt_loss_jitter_buffer_and_meters() -> None:
    assert status_line(LIVE) == ("01:23 PCMU/8000 in ######-- out -------- host>srflx RFC ICE "
                                 "rtt 13ms loss 0.0% jitter 1.2ms buffer 40ms")


def test_a_narrow_terminal_leaves_out_the_last_fields_whole() -> None:
    assert status_line(LIVE, 79) == ("01:23 PCMU/8000 in ######-- out -------- "
                                     "host>srflx RFC ICE rtt 13ms loss 0.0%")
    assert status_line(LIVE, 20) == "01:23 PCMU/8000"


def test_the_status_line_names_google_ice_loss_an_hour_unknown_rtt_and_mute() -> None:
    stats = LIVE | {"duration_s": 3725.0, "rtt_ms": None, "muted": True,
                    "path": LIVE["path"] | {"ice": "Google ICE"},
                    "received": LIVE["received"] | {"packets": 97, "lost": 3}}
    assert status_line(stats) == ("1:02:05 PCMU/8000 in ######-- out -------- MUTED "
                                  "host>srflx Google ICE rtt - loss 3.0% jitter 1.2ms "
                                  "buffer 40ms")


@pytest.mark.parametrize(("level", "shown"), [(0.0, "########"), (-60.0, "--------"),
                                               (-90.0, "--------"), (-30.0, "####----"),
                                               (5.0, "########")])
def test_meter(level: float, shown: str) -> None:
    assert meter(level) == shown


def test_the_live_line_is_redrawn_in_place_and_cleared_for_other_lines() -> None:
    tty, err = Tty(), io.StringIO()
    console = Terminal(tty, err)
    reporters = fan_out([LineReporter(console), StatusLine(console)])
    reporters(Snapshot(PEER, LIVE))
    reporters(Snapshot(PEER, LIVE | {"duration_s": 84.4}))
    reporters(MediaLost())
    reporters(Destroyed(PEER))
    width = console.width - 1
    first = status_line(LIVE, width)
    second = status_line(LIVE | {"duration_s": 84.4}, width)
    assert tty.getvalue() == (f"\r{first}\x1b[K\r{second}\x1b[K" "\r\x1b[K" "media lost\n"
                              "call destroyed\n")


def test_no_live_line_and_no_escape_codes_off_a_terminal() -> None:
    out, err = io.StringIO(), io.StringIO()
    StatusLine(Terminal(out, err))(Snapshot(PEER, LIVE))
    assert out.getvalue() == "" and err.getvalue() == ""


def test_stats_file_keeps_a_live_snapshot_every_interval_and_lists_them(
        tmp_path: Path) -> None:
    path = tmp_path / "stats.json"
    stats_file = StatsFile(path, Terminal(io.StringIO(), io.StringIO()), interval=2.0)
    for t in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0):  # snapshots every second, one kept in two
        stats_file(Snapshot(PEER, LIVE | {"duration_s": t}))
        if t == 3.0:
            live = json.loads(path.read_text())
            assert live["live"] is True and live["duration_s"] == 3.0
    stats_file(CallStats(PEER, LIVE | {"duration_s": 6.5}))
    final = json.loads(path.read_text())
    assert "live" not in final and final["duration_s"] == 6.5
    assert [s["duration_s"] for s in final["snapshots"]] == [1.0, 3.0, 5.0]
    assert not (tmp_path / "stats.json.partial").exists()
