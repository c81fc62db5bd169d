"""Reporters: present the events of ``events.py`` (ARCHITECTURE.md section 4).

:class:`LineReporter` prints the status lines of libjingle's ``call`` (gingle.md
part D) and jcall's own on stdout, errors on stderr. :class:`StatsFile` writes
``--stats-json``. :func:`fan_out` hands each event to several of them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .console import Console
from .events import (
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
    Report,
    Ringing,
    RosterChange,
    ServerLost,
    StanzaLog,
    TakingCrossing,
)


def stats_lines(stats: dict[str, Any]) -> list[str]:
    """libjingle's ``stats`` lines, extended with the jitter buffer's view."""
    s, r = stats["sent"], stats["received"]
    return [
        f"Sender: ssrc={s['ssrc']} codec='{stats['codec']}' bytes={s['bytes']} "
        f"packets={s['packets']}",
        f"Receiver: ssrc={r['ssrc']} bytes={r['bytes']} packets={r['packets']} "
        f"jitter={r['jitter_ms']:.1f}ms loss={r['lost']} late={r['late']} "
        f"concealed={r['concealed_ms']:.0f}ms delay={r['jitter_buffer_delay_ms']:.0f}ms",
    ]


def failure_line(event: CallFailed) -> str:
    peer, detail = event.peer, event.detail
    match event.why:
        case Failure.NO_PATH:
            return f"call failed: no media path to '{peer}'" + (f": {detail}" if detail else "")
        case Failure.PATH_LOST:
            return f"call failed: media path to '{peer}' lost: {detail}"
        case Failure.ICE_TIMEOUT:
            return f"call failed: no ICE path to '{peer}' within {detail} s"
        case Failure.UNREACHABLE:
            return f"call failed: could not reach '{peer}' ({detail})"
        case Failure.SERVER_LOST:
            return "call failed: connection to the server lost"
        case Failure.PEER_OFFLINE:
            return f"call failed: '{peer}' went offline"
        case Failure.MEDIA:
            return detail
        case Failure.SIGNALLING:
            return f"call failed: {detail}"


class LineReporter:
    """Status lines, one per event worth a line; errors go to stderr."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, event: Event) -> None:
        status, error = self.console.status, self.console.error
        match event:
            case Connecting():
                status("connecting...")
            case LoggingIn():
                status("logging in...")
            case LoggedIn():
                status("logged in...")
            case LoggedOut(reason=None):
                status("logged out...")
            case LoggedOut(reason=reason):
                error(f"logged out... {reason}")
            case ServerLost(reason=reason):
                error(f"connection to the server lost ({reason}): reconnecting...")
            case Reconnected(resumed=resumed):
                status("reconnected (stream resumed)" if resumed else "reconnected (new session)")
            case StanzaLog(text=text):
                self.console.debug(text)
            case RosterChange(jid=jid, added=True):
                status(f"Adding to roster: {jid}")
            case RosterChange(jid=jid, added=False):
                status(f"Removing from roster: {jid}")
            case FoundFriend(jid=jid):
                status(f"Found online friend '{jid}'")
            case Calling():
                status("calling...")
            case Ringing():
                status("ringing...")
            case Incoming(peer=peer, asking=asking):
                self.console.bell()
                if not asking:  # (the question names the caller)
                    status(f"Incoming call from '{peer}'")
            case Refused(peer=peer, why=Refusal.NO_TERMINAL):
                error("Rejected: not a terminal to ask on (use -a to accept calls)")
            case Refused(peer=peer, why=Refusal.NO_CODEC):
                error(f"Rejected call from '{peer}': no codec in common")
            case Refused(peer=peer, why=why):
                status(f"Rejected call from '{peer}': {why.value}")
            case TakingCrossing(peer=peer):
                status(f"'{peer}' called as we called it: answering its call")
            case Answered():
                status("call answered")
            case InProgress():
                status("call in progress")
            case MediaLost():
                status("media lost")
            case MediaRestored():
                status("media restored")
            case NotAnswered():
                status("call not answered")
            case HungUp():
                status("other side hung up")
            case CallFailed() as failed:
                error(failure_line(failed))
            case NoAudio(peer=peer, google_callee=True):
                error(f"no audio is arriving from '{peer}': a Google ICE peer on libnice "
                      "(Pidgin/libpurple) does not send audio on calls it receives; it hears "
                      "you. Ask them to call you instead.")
            case NoAudio(peer=peer):
                error(f"no audio is arriving from '{peer}'")
            case CallStats(stats=stats):
                for line in stats_lines(stats):
                    status(line)
            case Destroyed():
                status("call destroyed")


class StatsFile:
    """``--stats-json``: the last call's final statistics, written when it ends."""

    def __init__(self, path: Path, console: Console) -> None:
        self.path = path
        self.console = console

    def __call__(self, event: Event) -> None:
        if isinstance(event, CallStats):
            try:
                self.path.write_text(json.dumps(event.stats, indent=2) + "\n")
            except OSError as exc:
                self.console.error(f"cannot write {self.path}: {exc}")


def fan_out(reporters: Sequence[Report]) -> Report:
    """One report that hands each event to every reporter, in order."""
    if len(reporters) == 1:
        return reporters[0]

    def report(event: Event) -> None:
        for reporter in reporters:
            reporter(event)

    return report
