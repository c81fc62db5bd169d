"""The process's heap policy over the call events."""

from __future__ import annotations

from jcall.events import CallStats, Destroyed, InProgress, Snapshot
from jcall.heap import FrozenWhileInCall


def policy() -> tuple[FrozenWhileInCall, list[str]]:
    calls: list[str] = []
    return FrozenWhileInCall(lambda: calls.append("freeze"),
                             lambda: calls.append("unfreeze")), calls


def test_the_heap_is_frozen_while_a_call_is_in_progress() -> None:
    heap, calls = policy()
    heap(InProgress("bob@x/a", None))
    assert calls == ["freeze"] and heap.frozen
    heap(Snapshot("bob@x/a", {}))
    heap(CallStats("bob@x/a", {}))
    assert calls == ["freeze", "unfreeze"] and not heap.frozen
    heap(Destroyed("bob@x/a"))  # (after its CallStats: nothing more to undo)
    assert calls == ["freeze", "unfreeze"]


def test_it_stays_frozen_until_the_last_of_several_calls_ends() -> None:
    heap, calls = policy()
    heap(InProgress("bob@x/a", None))
    heap(InProgress("carol@x/b", None))
    heap(Destroyed("bob@x/a"))  # (a call without media ends with Destroyed alone)
    assert calls == ["freeze"]
    heap(CallStats("carol@x/b", {}))
    assert calls == ["freeze", "unfreeze"]


def test_a_call_that_never_was_in_progress_changes_nothing() -> None:
    heap, calls = policy()
    heap(Destroyed("dave@x/c"))
    heap(CallStats("dave@x/c", {}))
    assert calls == [] and not heap.frozen
