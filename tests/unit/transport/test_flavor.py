"""Which ICE a peer speaks, from its candidates and its checks (transport/flavor.py)."""

from __future__ import annotations

from jcall.signaling.model import Candidate
from jcall.transport import flavor
from jcall.transport import stun_classic as sc
from jcall.transport.base import IceFlavor
from tests.unit.transport.test_stun_classic import LIBNICE_REQUEST, RFC5769_REQUEST

PWD = "p" * 24


def cand(user: str = "ufragufragufrag1", pwd: str = PWD, **kw: object) -> Candidate:
    return Candidate(address="10.0.0.1", port=1000, ufrag=user, pwd=pwd, **kw)  # type: ignore[arg-type]


def test_jcalls_own_candidates_are_rfc_ice() -> None:
    assert flavor.from_candidates([cand(), cand(network=1)]) is IceFlavor.RFC


def test_nothing_known_yet() -> None:
    assert flavor.from_candidates([]) is None


def test_libpurples_empty_password_is_google_ice() -> None:
    # gingle.md part G: same username on rtp and rtcp, password ""
    purple = [cand("Jyb7+0yiFQg4gktD", ""), cand("Jyb7+0yiFQg4gktD", "", component=2)]
    assert flavor.from_candidates(purple) is IceFlavor.GOOGLE
    assert flavor.explain(purple) == "candidates without an ICE password"


def test_libjingles_16_character_password_is_too_short_for_rfc_ice() -> None:
    # gingle.md part B: username="uloaCAVUNxLbDt4w" password="yewpj2tpBCTP9C5u"
    one = [cand("uloaCAVUNxLbDt4w", "yewpj2tpBCTP9C5u")]
    assert flavor.from_candidates(one) is IceFlavor.GOOGLE
    assert flavor.explain(one) == "candidate passwords too short for RFC ICE"


def test_per_candidate_credentials_are_google_ice_even_with_long_passwords() -> None:
    both = [cand("a" * 16), cand("b" * 16)]
    assert flavor.from_candidates(both) is IceFlavor.GOOGLE
    assert flavor.explain(both) == "a different username on each candidate"


def test_an_rfc_3489_check_is_google_ice() -> None:
    assert flavor.from_datagram(LIBNICE_REQUEST) is IceFlavor.GOOGLE


def test_a_cookie_form_check_without_a_colon_is_google_ice() -> None:
    cookie_tid = sc.MAGIC_COOKIE + bytes(12)
    assert flavor.from_datagram(sc.request(cookie_tid, b"a" * 32)) is IceFlavor.GOOGLE


def test_an_rfc_8445_check_is_rfc_ice() -> None:
    assert flavor.from_datagram(RFC5769_REQUEST) is IceFlavor.RFC


def test_answers_media_and_junk_show_nothing() -> None:
    answer = sc.success(sc.parse(LIBNICE_REQUEST), ("127.0.0.1", 5))
    for data in (answer, b"\x80" + bytes(40), b"\x00\x01", bytes(20)):
        assert flavor.from_datagram(data) is None
