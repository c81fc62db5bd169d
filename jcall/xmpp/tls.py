"""The TLS context of the XMPP stream (RFC 6120 section 5: STARTTLS, the server's
certificate verified against the system's CA store, or against ``--ca-file`` alone, as
curl's ``--cacert``).

Building it parses the CA store, every certificate of the system's. OpenSSL does that
with the GIL released, so ``context_later`` builds it in a worker thread from the
start of the command, beside the imports, and it is ready by the time the login
needs it.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

from ..errors import ConfigError


def context(ca_file: Path | None) -> ssl.SSLContext:
    """Verification against the system's CA store, or with ``ca_file`` that CA alone.
    Ours rather than slixmpp's, which loads the store twice."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot use the CA file {ca_file}: {exc}") from None


def context_later(ca_file: Path | None) -> asyncio.Future[ssl.SSLContext]:
    """``context(ca_file)`` in a worker thread. Its failure is raised where it is
    awaited (the login); one nobody awaits (the command ended first, say on a missing
    CA file) is not reported again at exit."""
    future = asyncio.get_running_loop().run_in_executor(None, context, ca_file)
    future.add_done_callback(lambda done: done.cancelled() or done.exception())
    return future
