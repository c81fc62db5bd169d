"""slixmpp, imported the way jcall uses it.

Importing slixmpp also imports two optional libraries wherever they are installed:
pygments, to colour the XML of slixmpp's own debug log, and aiodns (with pycares),
for DNS SRV records. jcall prints stanzas itself (``-d``, libjingle's format), so it
never needs the first; with ``--server`` it never looks up SRV records, and the
host is then resolved by the system's resolver (slixmpp's fallback,
``xmlstream/resolver.py``). Both are paid at every start, so they are kept out
where jcall has no use for them.
"""

from __future__ import annotations

import sys

COLOURED_LOG = "pygments"
SRV_RESOLVER = "aiodns"


def load(*, dns_srv: bool) -> None:
    """Import slixmpp (once per process), without the libraries it would import for
    nothing: ``dns_srv`` says whether the server is found by its DNS SRV records.
    A ``None`` in ``sys.modules`` makes an import of that name fail, which is how
    slixmpp learns that a library is missing; they are put back afterwards, so
    that the rest of the process may import them."""
    if "slixmpp" in sys.modules:
        return
    unused = [COLOURED_LOG] if dns_srv else [COLOURED_LOG, SRV_RESOLVER]
    blocked = [name for name in unused if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import slixmpp  # noqa: F401
    finally:
        for name in blocked:
            del sys.modules[name]
