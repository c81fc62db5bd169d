"""slixmpp imported without the libraries jcall has no use for, and its SCRAM
deriving the salted password with hashlib (jcall/xmpp/library.py). The import cases
run in a fresh interpreter: this one has imported slixmpp already."""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slixmpp.util.sasl.mechanisms import SCRAM

from jcall.xmpp import library

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


VERSION_PROBE = """
import json, sys
from jcall.xmpp import library
library.load(dns_srv=False)
import slixmpp
state = {"metadata_loaded": "importlib.metadata" in sys.modules,
         "version": slixmpp.__version__, "info": slixmpp.__version_info__,
         "module": slixmpp.version.__version__}
import importlib.metadata
state["installed"] = importlib.metadata.version("slixmpp")
print(json.dumps(state))
"""


def test_slixmpps_version_is_read_without_importlib_metadata() -> None:
    out = subprocess.run([sys.executable, "-c", VERSION_PROBE], capture_output=True,
                         text=True, check=True).stdout
    state = json.loads(out)
    assert state["metadata_loaded"] is False
    assert state["version"] == state["module"] == state["installed"]
    assert state["info"] == [int(n) for n in state["installed"].split(".")[:3]]


def installed(tmp_path: Path, *dist_info: str) -> Path:
    (tmp_path / "slixmpp").mkdir()
    for name in dist_info:
        (tmp_path / name).mkdir()
    (tmp_path / "slixmpp_other-2.0.0.dist-info").mkdir()  # another distribution
    return tmp_path / "slixmpp"


def test_the_version_is_the_dist_info_directorys(tmp_path: Path) -> None:
    module = library.version_module(installed(tmp_path, "slixmpp-1.17.0.dist-info"))
    assert module is not None
    assert (module.__name__, module.__version__, module.__version_info__) == (
        "slixmpp.version", "1.17.0", (1, 17, 0))


@pytest.mark.parametrize("dist_info", [
    (),  # installed some other way: slixmpp asks importlib.metadata
    ("slixmpp-1.16.0.dist-info", "slixmpp-1.17.0.dist-info"),  # which is imported?
    ("slixmpp-1.17.dist-info",),  # slixmpp warns of these two and keeps (0, 0, 0)
    ("slixmpp-1.17.0rc1.dist-info",),
])
def test_otherwise_slixmpp_looks_it_up(tmp_path: Path, dist_info: tuple[str, ...]) -> None:
    assert library.version_module(installed(tmp_path, *dist_info)) is None


def hi_by_definition(hash_name: str, password: bytes, salt: bytes, iterations: int) -> bytes:
    """RFC 5802 section 2.2, as written: U1 := HMAC(str, salt + INT(1)), each next
    U the HMAC of the one before, Hi := U1 XOR U2 XOR ... XOR Ui."""
    u = hmac.digest(password, salt + b"\0\0\0\1", hash_name)
    result = int.from_bytes(u, "big")
    for _ in range(iterations - 1):
        u = hmac.digest(password, u, hash_name)
        result ^= int.from_bytes(u, "big")
    return result.to_bytes(len(u), "big")


def mechanism(name: str) -> Any:
    library.scram_with_hashlib()
    return SCRAM(name, {"username": b"user", "password": b"pencil", "authzid": b"",  # type: ignore[no-untyped-call]
                        "channel_binding": b""},
                 {"encrypted": True, "unencrypted_scram": False, "tls_version": "TLSv1.3",
                  "binding_proposed": True})


@given(st.sampled_from(["SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512"]),
       st.one_of(st.binary(max_size=40), st.text(max_size=20)), st.binary(max_size=24),
       st.integers(min_value=1, max_value=40))
def test_the_salted_password_is_rfc_5802s_hi(name: str, password: bytes | str, salt: bytes,
                                              iterations: int) -> None:
    mech = mechanism(name)
    raw = password.encode() if isinstance(password, str) else password
    assert mech.Hi(password, salt, iterations) == \
        hi_by_definition(mech.hash().name, raw, salt, iterations)


def test_rfc_6070_pbkdf2_vectors() -> None:
    hi = mechanism("SCRAM-SHA-1").Hi
    assert hi("password", b"salt", 1).hex() == "0c60c80f961f0e71f3a9b524af6012062fe037a6"
    assert hi(b"password", b"salt", 4096).hex() == "4b007901b765489abead49d926f721d065a429c1"


@pytest.mark.parametrize(("name", "cnonce", "server_first", "proof", "verifier"), [
    # RFC 5802 section 5
    ("SCRAM-SHA-1", b"fyko+d2lbbFgONRv9qkxdawL",
     b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
     b"v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", b"rmF9pqV8S7suAoZWja4dJRkFsKQ="),
    # RFC 7677 section 3
    ("SCRAM-SHA-256", b"rOprNGfwEbeRWgbNEkqO",
     b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
     b"i=4096", b"dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
     b"6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
])
def test_the_rfc_example_exchanges(name: str, cnonce: bytes, server_first: bytes, proof: bytes,
                                   verifier: bytes) -> None:
    """slixmpp's whole client side of the RFCs' examples, with their client nonce
    in place of the one it drew: the client proof, and the server's signature
    accepted (mutual authentication)."""
    mech = mechanism(name)
    assert mech.process(b"").startswith(b"n,,n=user,r=")
    mech.cnonce = cnonce
    mech.client_first_message_bare = b"n=user,r=" + cnonce
    final = mech.process(server_first)
    assert final.endswith(b",p=" + proof)
    mech.process(b"v=" + verifier)
    assert mech._mutual_auth


def test_the_client_nonce_is_not_pythons_seeded_generator() -> None:
    """Two logins from the same state of ``random``'s Mersenne Twister: slixmpp would
    send the same nonce twice."""
    library.scram_nonce_from_the_os()
    nonces = []
    for _ in range(2):
        random.seed(5802)
        first = mechanism("SCRAM-SHA-1").process(b"")
        nonces.append(first.split(b",r=", 1)[1])
    assert nonces[0] != nonces[1]
    assert all(nonce and b"," not in nonce and nonce.isascii() for nonce in nonces)


def test_the_salted_password_comes_from_hashlib(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, int]] = []
    real = hashlib.pbkdf2_hmac

    def counted(name: str, password: bytes, salt: bytes, iterations: int) -> bytes:
        calls.append((name, iterations))
        return real(name, password, salt, iterations)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", counted)
    mechanism("SCRAM-SHA-1").Hi(b"pencil", b"salt", 4096)
    assert calls == [("sha1", 4096)]
