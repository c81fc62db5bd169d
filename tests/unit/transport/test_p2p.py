import pytest

from jcall.signaling.gingle import Candidate
from jcall.transport.p2p import (
    GoogleIceError,
    IceCredentials,
    priority,
    remote_credentials,
    to_gingle,
    to_ice,
    usable,
)


def cand(user: str = "ufragufrag", pwd: str = "pw", **kw: object) -> Candidate:
    return Candidate(address="10.0.0.1", port=1000, username=user, password=pwd, **kw)  # type: ignore[arg-type]


def test_credentials_come_from_the_candidates() -> None:
    assert remote_credentials([cand(), cand()], None) == IceCredentials("ufragufrag", "pw")


def test_per_candidate_usernames_are_google_ice() -> None:
    with pytest.raises(GoogleIceError, match="Google ICE"):
        remote_credentials([cand("uloaCAVUNxLbDt4w"), cand("Xr9Ld2Q0aBfLmC3e")], None)
    with pytest.raises(GoogleIceError):
        remote_credentials([cand("other")], IceCredentials("ufragufrag", "pw"))


def test_type_and_preference_mapping() -> None:
    creds = IceCredentials("abcd", "p" * 22)
    host = to_gingle("10.0.0.2", 5000, "host", creds, 0)
    assert (host.type, host.preference, host.name, host.protocol) == ("local", 1.0, "rtp", "udp")
    assert to_gingle("1.2.3.4", 5000, "srflx", creds, 0).type == "stun"
    relay = to_gingle("1.2.3.4", 5000, "relay", creds, 1)
    assert (relay.type, relay.preference, relay.network) == ("relay", 0.5, 1)
    assert to_ice(cand(type="stun", preference=0.9)).type == "srflx"


def test_priority_orders_types_then_preference() -> None:
    assert priority("host", 1.0) > priority("srflx", 1.0) > priority("relay", 1.0)
    assert priority("host", 1.0) > priority("host", 0.5)
    assert priority("host", 1.0) == (126 << 24) + (65535 << 8) + 255


def test_only_udp_rtp_candidates_are_used() -> None:
    assert usable(cand())
    assert not usable(cand(name="rtcp"))
    assert not usable(cand(protocol="ssltcp"))
    assert not usable(cand(type="weird"))
