"""The peer's candidates for aioice, and ours for the session (transport/p2p.py)."""

import pytest

from jcall.signaling.model import Candidate, CandidateType, Credentials, priority
from jcall.transport.p2p import (
    GoogleIceError,
    local_candidate,
    preference,
    remote_credentials,
    to_ice,
    usable,
)


def cand(user: str = "ufragufrag", pwd: str = "pw", **kw: object) -> Candidate:
    return Candidate(address="10.0.0.1", port=1000, ufrag=user, pwd=pwd, **kw)  # type: ignore[arg-type]


def test_credentials_come_from_the_candidates() -> None:
    assert remote_credentials([cand(), cand()], None) == Credentials("ufragufrag", "pw")


def test_per_candidate_usernames_are_google_ice() -> None:
    with pytest.raises(GoogleIceError, match="Google ICE"):
        remote_credentials([cand("uloaCAVUNxLbDt4w"), cand("Xr9Ld2Q0aBfLmC3e")], None)
    with pytest.raises(GoogleIceError):
        remote_credentials([cand("other")], Credentials("ufragufrag", "pw"))


def test_our_candidates_keep_the_agents_priority_or_get_the_types() -> None:
    creds = Credentials("abcd", "p" * 22)
    host = local_candidate("10.0.0.2", 5000, "host", creds, 0)
    assert (host.type, host.priority, host.component, host.protocol) == (
        CandidateType.HOST, priority(CandidateType.HOST), 1, "udp")
    relay = local_candidate("1.2.3.4", 5000, "relay", creds, 1, prio=12345, foundation="f",
                            related=("10.0.0.2", 5000))
    assert (relay.priority, relay.network, relay.foundation, relay.related) == (
        12345, 1, "f", ("10.0.0.2", 5000))
    assert to_ice(cand(type=CandidateType.SRFLX)).type == "srflx"
    assert to_ice(cand(type=CandidateType.SRFLX)).priority == priority(CandidateType.SRFLX)
    assert to_ice(cand(priority=77)).priority == 77


def test_priority_orders_types_then_preference() -> None:
    host, srflx, relay = CandidateType.HOST, CandidateType.SRFLX, CandidateType.RELAY
    assert priority(host, 1.0) > priority(srflx, 1.0) > priority(relay, 1.0)
    assert priority(host, 1.0) > priority(host, 0.5)
    assert priority(host, 1.0) == (126 << 24) + (65535 << 8) + 255
    assert preference(cand(priority=priority(srflx, 0.9))) == pytest.approx(0.9, abs=1e-4)


def test_only_udp_rtp_candidates_are_used() -> None:
    assert usable(cand())
    assert not usable(cand(component=2))
    assert not usable(cand(protocol="ssltcp"))
