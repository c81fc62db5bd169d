"""A real Prosody for the integration tests (one per test session, loopback only)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .jcallproc import Account, reap

ACCOUNTS = {"alice": "alice-secret-1", "bob": "bob-secret-2", "carol": "carol-secret-3",
            "dave": "dave-secret-4", "erin": "erin-secret-5", "mallory": "mallory-secret-6"}
OUTSIDERS = frozenset({"mallory"})  # in nobody's roster: a stranger to everyone


@pytest.fixture(autouse=True)
def _no_jcall_left_behind() -> Iterator[None]:
    """A test that fails between starting a jcall and waiting for it leaves it running;
    it is killed here, so no test inherits another's process (or its XMPP resource)."""
    yield
    reap()


@pytest.fixture(scope="session")
def prosody(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if shutil.which("prosody") is None:
        pytest.fail("prosody is not installed: run scripts/setup (apt-get install prosody)")
    from testbed.prosody import Prosody

    server = Prosody(tmp_path_factory.mktemp("prosody"), accounts=dict(ACCOUNTS),
                     outsiders=OUTSIDERS)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def accounts(prosody: object) -> dict[str, Account]:
    domain = prosody.domain  # type: ignore[attr-defined]
    return {user: Account(f"{user}@{domain}", pw) for user, pw in ACCOUNTS.items()}


@pytest.fixture(scope="session")
def server(prosody: object) -> str:
    return prosody.server  # type: ignore[attr-defined,no-any-return]


@pytest.fixture(scope="session")
def ca_file(prosody: object) -> Path:
    return prosody.ca_file  # type: ignore[attr-defined,no-any-return]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if shutil.which("turnserver") is None:
        pytest.fail("coturn is not installed: run scripts/setup (apt-get install coturn)")
    from testbed.coturn import Coturn

    turn = Coturn(tmp_path_factory.mktemp("coturn"))
    turn.start()
    yield turn
    turn.stop()
