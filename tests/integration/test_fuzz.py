"""The short fuzzing campaign (issue 12, item 3); ``scripts/fuzz`` runs the long one.
The datagram half binds one loopback socket for jcall's RFC ICE agent."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import pytest
from testbed import fuzz

CASES = 4_000  # per seed (a short campaign: the suite must stay under 10 minutes)


@pytest.fixture(autouse=True)
def traced() -> Iterator[None]:
    """Memory measured as Python's own allocations: exact, where the resident set
    moves in allocator-sized steps that say nothing of a leak."""
    tracemalloc.start()
    yield
    tracemalloc.stop()


@pytest.mark.parametrize("seed", [1, 2])
def test_mutated_stanzas_get_typed_answers_and_leave_memory_flat(seed: int) -> None:
    report = fuzz.run_stanzas(CASES, seed=seed)
    assert report.failures == [] and "escaped" not in report.outcomes, report.failures
    assert report.cases == CASES
    # Every path was taken: answers from each layer, and calls accepted.
    for outcome in ("policy-violation", "bad-request-parse", "bad-request", "not-allowed",
                    "result"):
        assert report.outcomes.get(outcome, 0) > 100, report.outcomes
    print(f"traced memory (KiB) over {CASES:,} cases: {report.rss_kb}")
    assert report.rss_growth_kb < 256, report.rss_kb


@pytest.mark.parametrize("seed", [1, 2])
def test_mutated_datagrams_never_raise_and_leave_memory_flat(seed: int) -> None:
    report = fuzz.run_datagrams(CASES, seed=seed)
    assert report.failures == [] and "escaped" not in report.outcomes, report.failures
    assert report.cases == CASES
    for outcome in ("stun-classic-parsed", "stun-classic-refused", "played", "filtered",
                    "rfc-stray"):
        assert report.outcomes.get(outcome, 0) > 100, report.outcomes
    assert report.outcomes["rfc-malformed-stun"] > 0  # aioice's struct.error, contained
    print(f"traced memory (KiB) over {CASES:,} cases: {report.rss_kb}")
    assert report.rss_growth_kb < 256, report.rss_kb
