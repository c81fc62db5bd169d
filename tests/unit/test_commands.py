"""The console's commands: every verb in every mode and scope, answers, and help."""

from __future__ import annotations

import pytest

from jcall.commands import (
    HELP,
    VALID,
    Command,
    Invalid,
    Mode,
    Scope,
    Verb,
    help_lines,
    interpret,
    valid,
)


@pytest.mark.parametrize("scope", list(Scope))
@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("verb", list(Verb))
def test_each_verb_is_a_command_exactly_where_it_is_valid(verb: Verb, mode: Mode,
                                                          scope: Scope) -> None:
    line = f"{verb} bob@example.com" if verb is Verb.CALL else str(verb)
    got = interpret(line, mode, scope)
    allowed = verb in VALID[mode] and not (verb is Verb.CALL and scope is Scope.CALL)
    if allowed:
        assert got == Command(verb, "bob@example.com" if verb is Verb.CALL else "")
    else:
        assert isinstance(got, Invalid)
        assert got.help == help_lines(mode, scope)


def test_the_modes_of_libjingles_call() -> None:
    """gingle.md part D: idle roster/call/quit, incoming accept/reject, in a call
    hangup/mute/unmute."""
    assert {Verb.ROSTER, Verb.CALL, Verb.QUIT} <= set(valid(Mode.IDLE, Scope.CONSOLE))
    assert {Verb.ACCEPT, Verb.REJECT} <= set(valid(Mode.INCOMING, Scope.CONSOLE))
    assert {Verb.HANGUP, Verb.MUTE, Verb.UNMUTE, Verb.STATS} <= set(valid(Mode.IN_CALL,
                                                                         Scope.CONSOLE))
    assert Verb.ACCEPT not in valid(Mode.IDLE, Scope.CONSOLE)


@pytest.mark.parametrize(("typed", "verb"), [("y", Verb.ACCEPT), ("YES", Verb.ACCEPT),
                                             ("n", Verb.REJECT), ("no", Verb.REJECT),
                                             ("Accept", Verb.ACCEPT)])
def test_an_incoming_call_is_answered_by_yes_no_accept_reject(typed: str, verb: Verb) -> None:
    assert interpret(typed, Mode.INCOMING, Scope.CALL) == Command(verb)
    assert isinstance(interpret(typed, Mode.IDLE, Scope.CONSOLE), Invalid)


def test_unknown_command_names_itself_and_lists_the_modes_commands() -> None:
    got = interpret("dance now", Mode.IN_CALL, Scope.CONSOLE)
    assert isinstance(got, Invalid)
    assert got.problem == "unknown command 'dance'"
    assert got.help[0] == "Available commands:"
    assert [line.split()[0] for line in got.help[1:]] == [str(v) for v in VALID[Mode.IN_CALL]]


@pytest.mark.parametrize("line", ["call", "call a@b c@d", "hangup now", "quit 3"])
def test_arguments_are_checked(line: str) -> None:
    mode = Mode.IN_CALL if line.startswith("hangup") else Mode.IDLE
    assert isinstance(interpret(line, mode, Scope.CONSOLE), Invalid)


def test_blank_lines_mean_nothing_and_space_is_forgiven() -> None:
    assert interpret("   ", Mode.IDLE, Scope.CONSOLE) is None
    assert interpret("  call   bob@example.com  ", Mode.IDLE, Scope.CONSOLE) == \
        Command(Verb.CALL, "bob@example.com")


def test_every_verb_has_help_that_starts_with_its_name() -> None:
    for verb in Verb:
        assert HELP[verb].split()[0] == str(verb)
