"""STUN/TURN server specs as users write them (RFC 7064/7065 forms without the scheme)."""

import pytest

from jcall.transport.servers import (
    IceServers,
    ServerSpecError,
    StunServer,
    TurnServer,
    TurnTransport,
    from_specs,
    parse_stun,
    parse_turn,
)


@pytest.mark.parametrize(("spec", "expected"), [
    ("stun.example.org", StunServer("stun.example.org", 3478)),
    ("stun.example.org:19302", StunServer("stun.example.org", 19302)),
    ("stun:127.0.0.1:3479", StunServer("127.0.0.1", 3479)),
    ("[2001:db8::1]:3478", StunServer("2001:db8::1", 3478)),
    ("[2001:db8::1]", StunServer("2001:db8::1", 3478)),
])
def test_stun_specs(spec: str, expected: StunServer) -> None:
    assert parse_stun(spec) == expected


@pytest.mark.parametrize(("spec", "expected"), [
    ("turn.example.org", TurnServer("turn.example.org")),
    ("alice:s3cret@turn.example.org:3479",
     TurnServer("turn.example.org", 3479, "alice", "s3cret")),
    ("a:b@127.0.0.1?transport=tcp", TurnServer("127.0.0.1", 3478, "a", "b", TurnTransport.TCP)),
    ("turn:a%40x:p%3Aq@[::1]:5349?transport=UDP", TurnServer("::1", 5349, "a@x", "p:q")),
    ("1700000000:alice:pw@turn.example.org",  # REST-style user names hold a colon...
     TurnServer("turn.example.org", 3478, "1700000000", "alice:pw")),  # ...escape it: %3A
    ("u:p@w@turn.example.org", TurnServer("turn.example.org", 3478, "u", "p@w")),
])
def test_turn_specs(spec: str, expected: TurnServer) -> None:
    assert parse_turn(spec) == expected


@pytest.mark.parametrize("spec", ["", ":3478", "host:0", "host:65536", "host:x", "2001:db8::1",
                                  "[::1", "[::1]x", "a b", "h/ost"])
def test_bad_stun_specs(spec: str) -> None:
    with pytest.raises(ServerSpecError):
        parse_stun(spec)


@pytest.mark.parametrize("spec", ["user@host", ":p@host", "host?transport=sctp", "host?x=1",
                                  "u:p@", "u:p@host:99999"])
def test_bad_turn_specs(spec: str) -> None:
    with pytest.raises(ServerSpecError):
        parse_turn(spec)


def test_password_stays_out_of_text_and_repr() -> None:
    turn = parse_turn("alice:s3cret@turn.example.org")
    servers = from_specs(["stun.example.org"], ["alice:s3cret@turn.example.org"])
    assert "s3cret" not in str(turn) + repr(turn) + str(servers) + repr(servers)
    assert str(servers) == "stun stun.example.org:3478, turn alice@turn.example.org:3478 (udp)"


def test_own_servers_win_over_discovered_ones() -> None:
    discovered = IceServers(turn=(TurnServer("t.example.org"),))
    mine = from_specs(["s.example.org"])
    assert mine.or_discovered(discovered) is mine
    none_given = from_specs(relay_only=True)
    assert none_given.or_discovered(discovered) == IceServers(
        turn=(TurnServer("t.example.org"),), relay_only=True)
