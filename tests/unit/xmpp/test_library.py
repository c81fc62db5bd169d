"""slixmpp imported without the libraries jcall has no use for (jcall/xmpp/library.py).
Each case runs in a fresh interpreter: this one has imported slixmpp already."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

PROBE = """
import json, sys
from jcall.xmpp import library
library.load(dns_srv={dns_srv})
resolver = sys.modules["slixmpp.xmlstream.resolver"]
tostring = sys.modules["slixmpp.xmlstream.tostring"]
state = {{"aiodns": resolver.AIODNS_AVAILABLE,
          "coloured": not isinstance(tostring.highlight("<a/>"), str),
          "pygments_loaded": "pygments" in sys.modules}}
import pygments, aiodns  # (the rest of the process may still import them)
print(json.dumps(state))
"""


def probe(dns_srv: bool) -> dict[str, bool]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(dns_srv=dns_srv)],
                         capture_output=True, text=True, check=True).stdout
    state: dict[str, bool] = json.loads(out)
    return state


needs_both = pytest.mark.skipif(
    importlib.util.find_spec("pygments") is None or importlib.util.find_spec("aiodns") is None,
    reason="pygments and aiodns are what it keeps out: both must be installed here")


@needs_both
def test_with_a_server_given_neither_library_is_imported() -> None:
    assert probe(dns_srv=False) == {"aiodns": False, "coloured": False,
                                    "pygments_loaded": False}


@needs_both
def test_with_dns_srv_the_resolver_is_kept() -> None:
    assert probe(dns_srv=True) == {"aiodns": True, "coloured": False,
                                   "pygments_loaded": False}
