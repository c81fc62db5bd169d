"""Reporters: present the events of ``events.py`` (ARCHITECTURE.md section 4).

:class:`LineReporter` prints the status lines of libjingle's ``call`` (gingle.md
part D) and jcall's own on stdout, errors on stderr. :class:`StatusLine` keeps one
live line about the call in progress on a terminal. :class:`StatsFile` writes
``--stats-json``. :func:`fan_out` hands each event to several of them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
    Snapshot,
    StanzaLog,
    TakingCrossing,
)
from .terminal import Terminal


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

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal

    def __call__(self, event: Event) -> None:
        status, error = self.terminal.status, self.terminal.error
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
                self.terminal.debug(text)
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
                self.terminal.bell()
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


METER_CELLS = 8
METER_FLOOR_DBFS = -60.0


def meter(level_dbfs: float) -> str:
    """A level as ``####----``: one cell per 7.5 dB above -60 dBFS."""
    cells = round((level_dbfs - METER_FLOOR_DBFS) / -METER_FLOOR_DBFS * METER_CELLS)
    cells = max(0, min(METER_CELLS, cells))
    return "#" * cells + "-" * (METER_CELLS - cells)


def clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return (f"{hours}:" if hours else "") + f"{rest // 60:02d}:{rest % 60:02d}"


def status_line(stats: dict[str, Any], width: int = 1000) -> str:
    """One line about a call in progress, from a snapshot (``Call.stats``), at most
    ``width`` characters: the fields at the end are left out whole where it is
    narrower (the time, codec and level meters come first)."""
    r, path = stats["received"], stats.get("path")
    levels = stats.get("levels", {})
    fields: list[str] = [clock(stats.get("duration_s", 0.0)), str(stats["codec"]),
              f"in {meter(levels.get('input_dbfs', METER_FLOOR_DBFS))}",
              f"out {meter(levels.get('output_dbfs', METER_FLOOR_DBFS))}"]
    if stats.get("muted"):
        fields.append("MUTED")
    if path is not None:
        fields.append(f"{path['local_type']}>{path['remote_type']} {path['ice']}")
    expected = r["packets"] + r["lost"]
    fields += ["rtt -" if stats.get("rtt_ms") is None else f"rtt {stats['rtt_ms']:.0f}ms",
               f"loss {100.0 * r['lost'] / expected if expected else 0.0:.1f}%",
               f"jitter {r['jitter_ms']:.1f}ms",
               f"buffer {r['jitter_buffer_delay_ms']:.0f}ms"]
    line = fields[0]
    for field in fields[1:]:
        if len(line) + 1 + len(field) > width:
            break
        line += " " + field
    return line


class StatusLine:
    """The live status line of the call in progress (a terminal only: the terminal
    draws nothing elsewhere); gone when the call ends."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal

    def __call__(self, event: Event) -> None:
        match event:
            case Snapshot(stats=stats):
                self.terminal.live(status_line(stats, self.terminal.width - 1))
            case CallStats() | Destroyed():
                self.terminal.clear_live()


class StatsFile:
    """``--stats-json``: the call's final statistics, written when it ends. With an
    ``interval``, also a live snapshot rewritten that often during the call (with
    ``"live": true``; a reader never sees half a file), and the final file carries
    them all as ``"snapshots"``."""

    def __init__(self, path: Path, terminal: Terminal, interval: float | None = None) -> None:
        self.path = path
        self.terminal = terminal
        self.interval = interval
        self._snapshots: list[dict[str, Any]] = []
        self._last: float | None = None  # the call time of the last snapshot kept
        self._failed = False

    def __call__(self, event: Event) -> None:
        match event:
            case Snapshot(stats=stats) if self.interval is not None:
                t = stats.get("duration_s", 0.0)
                if self._last is not None and t - self._last < self.interval - 1e-3:
                    return
                self._last = t
                self._snapshots.append(stats)
                self._write(stats | {"live": True})
            case CallStats(stats=stats):
                if self.interval is not None:
                    stats = stats | {"snapshots": self._snapshots}
                self._snapshots, self._last = [], None
                self._write(stats)

    def _write(self, stats: dict[str, Any]) -> None:
        partial = self.path.with_name(self.path.name + ".partial")
        try:
            partial.write_text(json.dumps(stats, indent=2) + "\n")
            os.replace(partial, self.path)
        except OSError as exc:
            if not self._failed:  # (once, not at every snapshot)
                self.terminal.error(f"cannot write {self.path}: {exc}")
            self._failed = True


def fan_out(reporters: Sequence[Report]) -> Report:
    """One report that hands each event to every reporter, in order."""
    if len(reporters) == 1:
        return reporters[0]

    def report(event: Event) -> None:
        for reporter in reporters:
            reporter(event)

    return report
