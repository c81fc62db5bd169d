"""slixmpp, imported the way jcall uses it.

Importing slixmpp also imports two optional libraries wherever they are installed:
pygments, to colour the XML of slixmpp's own debug log, and aiodns (with pycares),
for DNS SRV records. jcall prints stanzas itself (``-d``, libjingle's format), so it
never needs the first; with ``--server`` it never looks up SRV records, and the
host is then resolved by the system's resolver (slixmpp's fallback,
``xmlstream/resolver.py``). Both are paid at every start, so they are kept out
where jcall has no use for them.

slixmpp's SCRAM mechanism derives the salted password with a loop of HMACs in
Python, one per iteration the server asks for (thousands): the largest piece of
CPU in a login. RFC 5802 section 2.2 defines that derivation, Hi(), as PBKDF2 with
HMAC as its pseudorandom function and one block of output, which hashlib computes
in C (releasing the GIL); ``scram_with_hashlib`` makes slixmpp use it.

slixmpp's ``version`` module asks ``importlib.metadata`` for the installed version,
which imports the ``email`` package to parse the distribution's METADATA file: a
noticeable part of importing slixmpp, for a string jcall never reads. An installed
distribution's ``.dist-info`` directory is named after its version ("{name}-{version}
.dist-info", the binary distribution format, PEP 427), so ``version_module`` reads it
there, beside the package, and leaves the lookup to slixmpp wherever that is not
unambiguous.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import random
import sys
import types
from pathlib import Path
from typing import Any

COLOURED_LOG = "pygments"
SRV_RESOLVER = "aiodns"
VERSION = "slixmpp.version"
SYSTEM_RANDOM = random.SystemRandom()


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
    spec = importlib.util.find_spec("slixmpp")
    version = (version_module(Path(spec.submodule_search_locations[0]))
               if spec is not None and spec.submodule_search_locations else None)
    if version is not None:
        sys.modules[VERSION] = version
    try:
        import slixmpp
    finally:
        for name in blocked:
            del sys.modules[name]
    if version is not None:
        slixmpp.version = version  # (as its import would have set it)


def version_module(package: Path) -> types.ModuleType | None:
    """What slixmpp's ``version`` module holds (``__version__``, and its first three
    numbers as ``__version_info__``), for the package in directory ``package``: from
    the one slixmpp ``.dist-info`` directory beside it. None if there is not exactly
    one, or its version does not begin with three numbers (slixmpp then warns)."""
    try:
        names = os.listdir(package.parent)
    except OSError:
        return None
    prefix, suffix = f"{package.name}-", ".dist-info"
    found = [name for name in names if name.startswith(prefix) and name.endswith(suffix)]
    if len(found) != 1:
        return None
    version = found[0][len(prefix):-len(suffix)]
    numbers = version.split(".")[:3]
    if len(numbers) != 3 or not all(n.isdecimal() for n in numbers):
        return None
    module = types.ModuleType(VERSION)
    module.__version__ = version  # type: ignore[attr-defined]
    module.__version_info__ = tuple(int(n) for n in numbers)  # type: ignore[attr-defined]
    return module


def scram_with_hashlib() -> None:
    """Make slixmpp's SCRAM mechanisms derive the salted password with
    ``salted_password`` (idempotent; the client calls it, however slixmpp was
    imported)."""
    from slixmpp.util.sasl.mechanisms import SCRAM

    SCRAM.Hi = salted_password  # type: ignore[method-assign,assignment]


def scram_nonce_from_the_os() -> None:
    """Make slixmpp's SASL mechanisms draw their client nonces from the operating
    system's random source (idempotent). They take them from ``random.random()``,
    Python's Mersenne Twister, whose output is predictable to whoever has seen
    enough of it; RFC 5802 asks for a random nonce (section 5.1) and points to RFC
    4086 for how to generate one (section 9). The mechanisms module's ``random``
    becomes a ``random.SystemRandom``, which draws on ``os.urandom``."""
    from slixmpp.util.sasl import mechanisms

    mechanisms.random = SYSTEM_RANDOM  # type: ignore[attr-defined,assignment]


def salted_password(mechanism: Any, password: str | bytes, salt: bytes,
                    iterations: int) -> bytes:
    """RFC 5802 section 2.2's Hi(password, salt, iterations) for a slixmpp SCRAM
    mechanism: PBKDF2 (RFC 8018 section 5.2) with HMAC over the mechanism's hash
    as its pseudorandom function, the output one hash long."""
    if isinstance(password, str):
        password = password.encode()
    return hashlib.pbkdf2_hmac(mechanism.hash().name, password, salt, iterations)
