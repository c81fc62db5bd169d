"""Garbage collection held during start-up (jcall/startup.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from jcall import startup


@pytest.fixture(autouse=True)
def collector() -> Iterator[None]:
    """This process's collector as it was, afterwards."""
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    startup._held = False
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_held_until_released_then_what_start_up_made_is_frozen() -> None:
    gc.enable()
    startup.hold()
    assert not gc.isenabled()
    made_during_start_up: list[list[int]] = [[] for _ in range(100)]
    frozen = gc.get_freeze_count()
    startup.release()
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + len(made_during_start_up)
    startup.release()  # (once: a second release changes nothing)
    assert gc.isenabled()


def test_release_without_hold_changes_nothing() -> None:
    gc.disable()  # as a user's own policy might have it
    frozen = gc.get_freeze_count()
    startup.release()
    assert not gc.isenabled() and gc.get_freeze_count() == frozen


def test_a_collector_the_process_had_disabled_stays_disabled() -> None:
    gc.disable()
    startup.hold()
    startup.release()
    assert not gc.isenabled()
