"""Google ICE's Binding messages: bytes from RFC 5769 and from a real libnice 0.1.21."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jcall.transport import stun_classic as sc

# Captured on loopback from Debian's libnice 0.1.21 in GOOGLE mode (tests/integration/
# nicepeer.py), talking to a socket whose candidate username was "jcallUser0000001".
LIBNICE_REQUEST = bytes.fromhex(
    "00010024821a5cca5d057e271faa9f85722a929f000600206a63616c6c5573657230303030303031"
    "557455344f75562f5a52765354476e56")
LIBNICE_SUCCESS = bytes.fromhex(
    "010100309caeb54521b8400b1d767130419a462c000100080001b14f7f0000010006002055745534"
    "4f75562f5a52765354476e566a63616c6c5573657230303030303031")

# RFC 5769 section 2.1 (sample request) and 2.2 (sample IPv4 response).
RFC5769_REQUEST = bytes.fromhex(
    "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74"
    "002400046e0001ff80290008932ff9b151263b36000600096576746a3a6836765920202000080014"
    "9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf")
RFC5769_RESPONSE = bytes.fromhex(
    "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f722000200008"
    "0001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d780280004c07d4c96")


def test_a_libnice_google_ping_is_classic_with_the_two_usernames() -> None:
    msg = sc.parse(LIBNICE_REQUEST)
    assert msg.kind is sc.Kind.REQUEST and msg.classic
    assert msg.username == b"jcallUser0000001UtU4OuV/ZRvSTGnV"  # remote + local
    assert msg.mapped_address is None and msg.error is None


def test_a_libnice_google_answer_has_mapped_address_and_the_echoed_username() -> None:
    msg = sc.parse(LIBNICE_SUCCESS)
    assert msg.kind is sc.Kind.SUCCESS and msg.classic
    assert msg.mapped_address == ("127.0.0.1", 45391)
    assert msg.username == b"UtU4OuV/ZRvSTGnVjcallUser0000001"


def test_libnice_bytes_round_trip_exactly() -> None:
    for data in (LIBNICE_REQUEST, LIBNICE_SUCCESS):
        assert sc.encode(sc.parse(data)) == data


def test_jcall_answers_a_libnice_ping_the_way_libnice_answers_one() -> None:
    ping = sc.parse(LIBNICE_REQUEST)
    answer = sc.parse(sc.success(ping, ("127.0.0.1", 45391)))
    assert answer.transaction_id == ping.transaction_id  # all 16 bytes, no cookie
    assert answer.username == ping.username
    assert answer.mapped_address == ("127.0.0.1", 45391)
    # the same layout libnice writes: MAPPED-ADDRESS, then USERNAME
    reply = sc.success(ping, ("127.0.0.1", 45391))
    assert reply[20:24] == bytes.fromhex("00010008") and reply[32:36] == bytes.fromhex("00060020")


def test_rfc5769_request_is_read_with_its_padding() -> None:
    msg = sc.parse(RFC5769_REQUEST)
    assert msg.kind is sc.Kind.REQUEST and not msg.classic
    assert msg.username == b"evtj:h6vY"  # three bytes of padding (spaces) skipped


def test_rfc5769_response_xor_mapped_address() -> None:
    msg = sc.parse(RFC5769_RESPONSE)
    assert msg.kind is sc.Kind.SUCCESS and not msg.classic
    assert msg.mapped_address == ("192.0.2.1", 32853)


def test_unpadded_classic_attributes_as_libjingle_writes_them() -> None:
    # a 5-byte username, no padding, the length exact: libjingle 0.4's form
    data = bytes.fromhex("00010009") + bytes(range(16)) + bytes.fromhex("00060005") + b"abcde"
    assert sc.parse(data).username == b"abcde"


def test_classic_error_response_with_nul_padded_reason() -> None:
    req = sc.parse(LIBNICE_REQUEST)
    data = sc.error(req, 430, "Stale Credentials")
    msg = sc.parse(data)
    assert msg.kind is sc.Kind.ERROR and msg.error == (430, "Stale Credentials")
    assert len(data) % 4 == 0


def test_a_response_to_a_cookie_request_keeps_the_cookie_form() -> None:
    req = sc.parse(RFC5769_REQUEST)
    reply = sc.success(req, ("10.0.0.1", 5000))
    assert reply[4:8] == sc.MAGIC_COOKIE
    assert sc.parse(reply).mapped_address == ("10.0.0.1", 5000)


def test_ipv6_mapped_address() -> None:
    req = sc.parse(LIBNICE_REQUEST)
    assert sc.parse(sc.success(req, ("2001:db8::1", 4000))).mapped_address == ("2001:db8::1",
                                                                              4000)


@pytest.mark.parametrize("data, message", [
    (b"\x00\x01\x00", "shorter than its 20-byte header"),
    (bytes.fromhex("00030000") + bytes(16), "not a Binding message"),
    (bytes.fromhex("00010004") + bytes(16), "does not match"),
    (bytes.fromhex("00010004") + bytes(16) + bytes.fromhex("0006"), "does not match"),
    (bytes.fromhex("00010004") + bytes(16) + bytes.fromhex("00060010"), "overruns"),
    (bytes.fromhex("01010008") + bytes(16) + bytes.fromhex("0001000400050000"),
     "family 5 is malformed"),
    (bytes.fromhex("01110006") + bytes(16) + bytes.fromhex("00090002") + b"\0\0",
     "ERROR-CODE shorter"),
])
def test_malformed_messages_fail_precisely(data: bytes, message: str) -> None:
    with pytest.raises(sc.StunFormatError, match=message):
        sc.parse(data)


def test_rtp_is_not_stun() -> None:
    assert sc.is_stun(LIBNICE_REQUEST)
    assert not sc.is_stun(b"\x80" + bytes(19))
    assert not sc.is_stun(b"\x00\x01")


@given(tid=st.binary(min_size=16, max_size=16),
       username=st.binary(min_size=1, max_size=64).filter(lambda b: not b.endswith(b"\0")),
       port=st.integers(1, 65535))
def test_round_trip_any_form(tid: bytes, username: bytes, port: int) -> None:
    req = sc.parse(sc.request(tid, username))
    assert (req.transaction_id, req.username) == (tid, username)
    answer = sc.parse(sc.success(req, ("192.0.2.7", port)))
    assert (answer.username, answer.mapped_address) == (username, ("192.0.2.7", port))


@given(st.binary(max_size=120))
def test_arbitrary_bytes_parse_or_fail_with_a_format_error(data: bytes) -> None:
    with contextlib.suppress(sc.StunFormatError):
        sc.parse(data)
