"""The XMPP stream's TLS context (jcall/xmpp/tls.py): verification always on, the
system's CA store or the CA file alone, built in a worker thread when asked to."""

from __future__ import annotations

import asyncio
import gc
import logging
import ssl
import threading
from pathlib import Path

import pytest

from jcall.errors import ConfigError
from jcall.xmpp import tls


def test_tls_verifies_against_the_system_store_or_the_ca_file_alone(tmp_path: Path) -> None:
    system = tls.context(None)
    assert system.verify_mode is ssl.CERT_REQUIRED and system.check_hostname
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match=f"^cannot use the CA file {bad}: "):
        tls.context(bad)


async def test_built_later_in_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[threading.Thread] = []
    real = tls.context

    def recorded(ca_file: Path | None) -> ssl.SSLContext:
        threads.append(threading.current_thread())
        return real(ca_file)

    monkeypatch.setattr(tls, "context", recorded)
    built = await tls.context_later(None)
    assert threads and threads[0] is not threading.main_thread()
    assert built.verify_mode is ssl.CERT_REQUIRED
    assert built.cert_store_stats() == real(None).cert_store_stats()


async def test_a_bad_ca_file_is_raised_where_awaited(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match=r"^cannot use the CA file "):
        await tls.context_later(bad)


async def test_a_failure_nobody_awaited_is_not_reported_at_exit(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")
    future = tls.context_later(tmp_path / "missing.pem")
    await asyncio.wait({future})
    del future
    gc.collect()
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
