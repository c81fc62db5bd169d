"""Which candidate addresses jcall checks (transport/filters.py)."""

from __future__ import annotations

import pytest

from jcall.signaling.model import Candidate
from jcall.transport.filters import AddressPolicy, MediaGate, checkable, refusal

STRICT = AddressPolicy()


@pytest.mark.parametrize("address, reason", [
    ("0.0.0.0", "unspecified"), ("0.1.2.3", "unspecified"), ("::", "unspecified"),
    ("224.0.0.1", "multicast"), ("239.255.255.250", "multicast"), ("ff02::1", "multicast"),
    ("255.255.255.255", "broadcast"), ("240.0.0.1", "reserved"),
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("169.254.1.1", "link-local"), ("fe80::1", "link-local"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:224.0.0.5", "multicast"),
    ("192.0.2.7", None), ("10.1.2.3", None), ("2001:db8::7", None), ("100.64.0.1", None),
])
def test_what_is_never_checked_by_default(address: str, reason: str | None) -> None:
    assert refusal(address, STRICT) == reason


def test_loopback_and_link_local_only_where_the_user_allows_them() -> None:
    loopback = AddressPolicy.for_local(None, loopback=True)
    assert refusal("127.0.0.1", loopback) is None and refusal("::1", loopback) is None
    assert refusal("169.254.1.1", loopback) == "link-local"
    assert refusal("224.0.0.1", loopback) == "multicast"  # never, whatever is allowed
    pinned = AddressPolicy.for_local(["127.0.0.1"])  # --ice-address 127.0.0.1
    assert refusal("127.0.0.1", pinned) is None
    assert refusal("169.254.9.9", AddressPolicy.for_local(["169.254.0.5"])) is None
    assert AddressPolicy.for_local(["192.0.2.1"]) == STRICT


def test_checkable_splits_and_says_why() -> None:
    cands = [Candidate(a, 5000, "u" * 16) for a in ("192.0.2.1", "224.0.0.9", "127.0.0.1")]
    kept, refused = checkable(cands, STRICT)
    assert [c.address for c in kept] == ["192.0.2.1"]
    assert [(c.address, why) for c, why in refused] == [("224.0.0.9", "multicast"),
                                                         ("127.0.0.1", "loopback")]


def test_before_selection_validated_sources_are_media_after_it_only_the_selected() -> None:
    gate = MediaGate()
    peer, other_peer, stranger = ("10.0.0.2", 5000), ("10.0.0.2", 5001), ("6.6.6.6", 1)
    assert not gate.admits("sock0", peer)  # nothing validated yet
    gate.validate("sock0", peer)
    gate.validate("sock1", other_peer)
    assert gate.admits("sock0", peer) and gate.admits("sock1", other_peer)
    assert not gate.admits("sock1", peer)  # validated on another socket only
    assert not gate.admits("sock0", stranger)
    gate.select("sock1", other_peer)
    assert gate.admits("sock1", other_peer)
    assert not gate.admits("sock0", peer)
    gate.validate("sock0", stranger)  # (a late success changes nothing now)
    assert not gate.admits("sock0", stranger)
    assert gate.stray == 5
