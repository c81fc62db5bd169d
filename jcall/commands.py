"""The call console's commands: what a typed line means in the console's current mode
(pure; ``console.py`` runs them).

libjingle's ``call`` (gingle.md part D): idle -- ``roster``, ``call <jid>``, ``quit``;
an incoming call -- ``accept``, ``reject``; in a call -- ``hangup``, ``mute``,
``unmute``; later versions ``stats`` and ``getdevs`` (here ``devices``). A command that
is not valid in the mode prints the commands that are (``Available commands:``).
During ``dial`` and ``listen`` the in-call commands are read too, but not ``call``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Mode(enum.Enum):
    IDLE = "idle"
    INCOMING = "incoming"  # a call rings here, undecided
    CALLING = "calling"  # our call, not yet in progress
    IN_CALL = "in call"


class Scope(enum.Enum):
    CONSOLE = "console"  # ``jcall console``: every command
    CALL = "call"  # ``dial``/``listen`` on a terminal: no ``call``


class Verb(enum.StrEnum):
    ROSTER = "roster"
    CALL = "call"
    ACCEPT = "accept"
    REJECT = "reject"
    HANGUP = "hangup"
    MUTE = "mute"
    UNMUTE = "unmute"
    STATS = "stats"
    DEVICES = "devices"
    QUIT = "quit"


HELP = {
    Verb.ROSTER: "roster         List the callable contacts.",
    Verb.CALL: "call <jid>     Call a contact (a bare JID: its best callable resource).",
    Verb.ACCEPT: "accept         Take the incoming call (or: y).",
    Verb.REJECT: "reject         Decline the incoming call (or: n).",
    Verb.HANGUP: "hangup         End the call.",
    Verb.MUTE: "mute           Stop sending audio (silence goes out).",
    Verb.UNMUTE: "unmute         Send audio again.",
    Verb.STATS: "stats          Print the call's statistics.",
    Verb.DEVICES: "devices        List the sound devices.",
    Verb.QUIT: "quit           Hang up, log out and leave.",
}

VALID: dict[Mode, tuple[Verb, ...]] = {
    Mode.IDLE: (Verb.ROSTER, Verb.CALL, Verb.DEVICES, Verb.QUIT),
    Mode.INCOMING: (Verb.ACCEPT, Verb.REJECT, Verb.ROSTER, Verb.DEVICES, Verb.QUIT),
    Mode.CALLING: (Verb.HANGUP, Verb.ROSTER, Verb.DEVICES, Verb.QUIT),
    Mode.IN_CALL: (Verb.HANGUP, Verb.MUTE, Verb.UNMUTE, Verb.STATS, Verb.ROSTER,
                   Verb.DEVICES, Verb.QUIT),
}

# Answers to the question about an incoming call.
ANSWERS = {"y": Verb.ACCEPT, "yes": Verb.ACCEPT, "n": Verb.REJECT, "no": Verb.REJECT}


@dataclass(frozen=True)
class Command:
    """One line typed at the console: its verb and what follows it."""

    verb: Verb
    argument: str = ""


@dataclass(frozen=True)
class Invalid:
    """Not a command of this mode: say which are (``help``), and why (``problem``)."""

    problem: str
    help: tuple[str, ...]


def valid(mode: Mode, scope: Scope) -> tuple[Verb, ...]:
    return tuple(v for v in VALID[mode] if scope is Scope.CONSOLE or v is not Verb.CALL)


def help_lines(mode: Mode, scope: Scope) -> tuple[str, ...]:
    return ("Available commands:", *(f"  {HELP[v]}" for v in valid(mode, scope)))


def interpret(line: str, mode: Mode, scope: Scope) -> Command | Invalid | None:
    """What ``line`` asks for in ``mode``; None for an empty line."""
    words = line.split(maxsplit=1)
    if not words:
        return None
    word, argument = words[0].lower(), (words[1].strip() if len(words) > 1 else "")
    if mode is Mode.INCOMING and word in ANSWERS and not argument:
        return Command(ANSWERS[word])
    try:
        verb = Verb(word)
    except ValueError:
        return Invalid(f"unknown command '{words[0]}'", help_lines(mode, scope))
    if verb not in valid(mode, scope):
        return Invalid(f"'{verb}' is not available now ({mode.value})", help_lines(mode, scope))
    if verb is Verb.CALL and (not argument or " " in argument):
        return Invalid("call takes one JID: call <jid>", help_lines(mode, scope))
    if verb is not Verb.CALL and argument:
        return Invalid(f"'{verb}' takes no argument", help_lines(mode, scope))
    return Command(verb, argument)
