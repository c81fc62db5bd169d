"""The Google ICE agent on a fake clock over a simulated network (tests/fakes.py)."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field

import pytest

from jcall.signaling.model import Candidate, CandidateType, priority
from jcall.transport import google_ice as gi
from jcall.transport import stun_classic as sc
from tests.fakes import Address, DatagramNetwork


@dataclass
class Peer:
    name: str
    agent: gi.GoogleIceAgent
    addresses: dict[int, Address]
    events: list[tuple[float, gi.Event]] = field(default_factory=list)
    media: list[tuple[float, bytes]] = field(default_factory=list)

    def candidates(self) -> list[Candidate]:
        return [c for p in self.agent.ports.values() for c in p.candidates]

    def port_at(self, address: Address) -> int:
        return next(i for i, a in self.addresses.items() if a == address)

    def of(self, kind: type) -> list[tuple[float, gi.Event]]:
        return [(t, e) for t, e in self.events if isinstance(e, kind)]


def make_peer(name: str, host: str, ports: int = 1, seed: int = 0,
              preferences: tuple[float, ...] = ()) -> Peer:
    rng = random.Random(seed)

    def token(n: int) -> bytes:
        return bytes(rng.randrange(256) for _ in range(n))

    made = []
    addresses = {}
    for i in range(ports):
        addr = (host, 5000 + i)
        username = gi.new_username(token)
        port = gi.local_port(i, addr, username, "")
        if preferences:
            host_cand = port.candidates[0]
            port = gi.LocalPort(i, addr, username, (Candidate(**{
                **host_cand.__dict__,
                "priority": priority(CandidateType.HOST, preferences[i])}),))
        made.append(port)
        addresses[i] = addr
    return Peer(name, gi.GoogleIceAgent(made, token), addresses)


class Sim:
    """Two peers, one network, one clock."""

    def __init__(self, a: Peer, b: Peer, net: DatagramNetwork | None = None) -> None:
        self.a, self.b = a, b
        self.net = net or DatagramNetwork()
        self.now = 0.0
        self.by_address = {addr: p for p in (a, b) for addr in p.addresses.values()}

    def exchange(self, ready: bool = True) -> None:
        """Each side learns the other's candidates; ``ready``: signalling says delivered."""
        self.a.agent.add_remote(self.b.candidates(), self.now)
        self.b.agent.add_remote(self.a.candidates(), self.now)
        if ready:
            self.a.agent.peer_has_candidates(self.now)
            self.b.agent.peer_has_candidates(self.now)
        self.flush()

    def flush(self) -> None:
        for peer in (self.a, self.b):
            for d in peer.agent.datagrams():
                self.net.send(peer.addresses[d.port], d.to, d.data, self.now)
            for event in peer.agent.events():
                peer.events.append((self.now, event))

    def deliver(self, to: Address, source: Address, data: bytes) -> None:
        peer = self.by_address.get(to)
        if peer is not None and peer.agent.receive(peer.port_at(to), data, source, self.now):
            peer.media.append((self.now, data))

    def run(self, until: float) -> None:
        while True:
            times = [t for t in (self.a.agent.get_timer(), self.b.agent.get_timer(),
                                 self.net.next_due()) if t is not None]
            step = max(self.now, min(times)) if times else math.inf
            if step > until:
                self.now = until
                return
            self.now = step
            self.net.deliver_due(self.now, self.deliver)
            for peer in (self.a, self.b):
                timer = peer.agent.get_timer()
                if timer is not None and timer <= self.now:
                    peer.agent.handle_timer(self.now)
            self.flush()

    def send_media(self, peer: Peer, data: bytes) -> bool:
        best = peer.agent.best
        if best is None:
            return False
        self.net.send(peer.addresses[best.port.index], best.remote.address, data, self.now)
        return True


def pair(**kw: object) -> Sim:
    return Sim(make_peer("a", "10.0.0.1", seed=1, **kw),  # type: ignore[arg-type]
               make_peer("b", "10.0.0.2", seed=2))


def connected_at(peer: Peer) -> float:
    (t, _), = peer.of(gi.Connected)
    return t


def test_two_agents_connect_within_one_round_trip_or_two() -> None:
    sim = pair()
    sim.exchange()
    sim.run(1.0)
    for peer in (sim.a, sim.b):
        assert connected_at(peer) < 0.010  # 1 ms links; triggered pings, not 50 ms ticks
        assert peer.agent.best is not None


def test_media_flows_on_the_best_connection_and_only_from_readable_ones() -> None:
    sim = pair()
    sim.exchange()
    sim.run(0.5)
    assert sim.send_media(sim.a, b"\x80media")
    sim.run(0.6)
    assert [d for _, d in sim.b.media] == [b"\x80media"]
    # the same bytes from an address that never pinged are not media, and are counted
    assert sim.b.agent.stray == 0
    assert not sim.b.agent.receive(0, b"\x80stray", ("10.9.9.9", 1), sim.now)
    assert sim.b.agent.stray == 1
    best = sim.b.agent.best
    assert best is not None
    assert sim.b.agent.admits(best.port.index, best.remote.address)
    assert not sim.b.agent.admits(best.port.index, ("10.9.9.9", 1))


def test_connects_through_loss_and_reordering() -> None:
    net = DatagramNetwork(seed=7)
    net.default.loss, net.default.delay_s, net.default.jitter_s = 0.3, 0.010, 0.080
    sim = Sim(make_peer("a", "10.0.0.1", seed=1), make_peer("b", "10.0.0.2", seed=2), net)
    sim.exchange()
    sim.run(5.0)
    assert connected_at(sim.a) < 1.0 and connected_at(sim.b) < 1.0
    assert net.dropped > 0
    assert not sim.a.of(gi.Failed) and not sim.b.of(gi.Failed)


def test_the_best_connection_is_the_reachable_one() -> None:
    sim = Sim(make_peer("a", "10.0.0.1", ports=2, seed=1), make_peer("b", "10.0.0.2", seed=2))
    sim.net.both_ways(sim.a.addresses[0], sim.b.addresses[0], up=False)  # port 0 cut off
    sim.exchange()
    sim.run(2.0)
    assert sim.a.agent.best is not None and sim.a.agent.best.port.index == 1


def test_preference_then_round_trip_time_decide_among_writable_connections() -> None:
    sim = Sim(make_peer("a", "10.0.0.1", ports=2, seed=1, preferences=(0.5, 1.0)),
              make_peer("b", "10.0.0.2", seed=2))
    sim.exchange()
    sim.run(2.0)
    assert sim.a.agent.best is not None and sim.a.agent.best.port.index == 1
    assert all(c.write is gi.WriteState.WRITABLE for c in sim.a.agent.connections)

    sim = Sim(make_peer("a", "10.0.0.1", ports=2, seed=1), make_peer("b", "10.0.0.2", seed=2))
    sim.net.both_ways(sim.a.addresses[0], sim.b.addresses[0], delay_s=0.040)
    sim.exchange()
    sim.run(3.0)
    best = sim.a.agent.best
    assert best is not None and best.port.index == 1 and best.rtt_s is not None
    assert best.rtt_s < 0.010


def test_no_answer_fails_after_the_write_timeout() -> None:
    sim = pair()
    sim.net.default.up = False
    sim.exchange()
    sim.run(30.0)
    (t, failed), = sim.a.of(gi.Failed)
    assert gi.WRITE_TIMEOUT_S < t < gi.WRITE_TIMEOUT_S + 0.2
    assert isinstance(failed, gi.Failed) and "no answer to Google ICE checks" in failed.reason
    assert sim.a.agent.get_timer() is None  # nothing more to do


def test_a_path_that_dies_is_lost_then_restored_when_it_comes_back() -> None:
    sim = pair()
    sim.exchange()
    sim.run(2.0)
    sim.net.both_ways(sim.a.addresses[0], sim.b.addresses[0], up=False)
    sim.run(12.0)
    (t_lost, _), = sim.a.of(gi.Lost)
    # five unanswered pings over more than 5 s (writable pings every 480 ms)
    assert 2.0 + gi.WRITE_CONNECT_TIMEOUT_S < t_lost < 2.0 + 7.0
    assert sim.a.agent.best is None
    sim.net.both_ways(sim.a.addresses[0], sim.b.addresses[0], up=True)
    sim.run(14.0)
    (t_back, _), = sim.a.of(gi.Restored)
    assert t_back < 12.2  # unwritable: pings every 50 ms
    assert not sim.a.of(gi.Failed)


def test_a_dead_path_ends_in_failure_once_nothing_is_heard_either() -> None:
    sim = pair()
    sim.exchange()
    sim.run(1.0)
    sim.net.default.up = False
    sim.net.links.clear()
    sim.run(40.0)
    (t, _), = sim.a.of(gi.Failed)
    assert gi.READ_TIMEOUT_S <= t < gi.READ_TIMEOUT_S + 1.5


def test_ping_cadence_50_ms_until_writable_then_480_ms() -> None:
    sim = pair()
    sim.net.both_ways(sim.a.addresses[0], sim.b.addresses[0], up=False)
    sim.exchange()
    times: list[float] = []
    for _ in range(10):
        timer = sim.a.agent.get_timer()
        assert timer is not None
        sim.a.agent.handle_timer(timer)
        times.append(timer)
        sim.a.agent.datagrams()
    gaps = {round(b - a, 3) for a, b in itertools.pairwise(times)}
    assert gaps == {gi.PING_UNWRITABLE_S}

    sim = pair()
    sim.exchange()
    sim.run(1.0)
    sent_before = sim.net.sent
    sim.run(11.0)
    # each agent sends a ping and answers one every PING_WRITABLE_S
    pings_per_second = (sim.net.sent - sent_before) / 10 / 2 / 2
    assert 0.95 / gi.PING_WRITABLE_S < pings_per_second < 1.05 / gi.PING_WRITABLE_S


def test_no_pings_before_the_peer_has_our_candidates() -> None:
    sim = pair()
    sim.exchange(ready=False)
    sim.run(gi.START_GRACE_S - 0.01)
    assert sim.net.sent == 0
    sim.run(gi.START_GRACE_S + 0.1)  # a peer that never says so is pinged all the same
    assert sim.a.of(gi.Connected)


def test_a_ping_from_the_peer_proves_it_has_our_candidates() -> None:
    sim = pair()
    sim.a.agent.add_remote(sim.b.candidates(), 0.0)
    sim.b.agent.add_remote(sim.a.candidates(), 0.0)
    sim.b.agent.peer_has_candidates(0.0)  # b's signalling delivered; a knows nothing
    sim.flush()
    sim.run(0.2)
    assert connected_at(sim.a) < 0.01 and connected_at(sim.b) < 0.01


def test_a_ping_ahead_of_the_candidates_is_answered_and_adopted() -> None:
    a, b = make_peer("a", "10.0.0.1", seed=1), make_peer("b", "10.0.0.2", seed=2)
    port_a, port_b = a.agent.ports[0], b.agent.ports[0]
    tid = bytes(range(16))
    ping = sc.request(tid, (port_a.username + port_b.username).encode())
    assert not a.agent.receive(0, ping, b.addresses[0], 0.0)
    (answer,) = a.agent.datagrams()
    msg = sc.parse(answer.data)
    assert msg.kind is sc.Kind.SUCCESS and msg.transaction_id == tid
    assert msg.mapped_address == b.addresses[0]
    assert not a.agent.connections  # b's candidates are not known yet
    a.agent.add_remote(b.candidates(), 0.05)
    (conn,) = a.agent.connections
    assert conn.readable  # the early ping counts


def test_a_ping_for_someone_else_is_refused() -> None:
    a, b = make_peer("a", "10.0.0.1", seed=1), make_peer("b", "10.0.0.2", seed=2)
    a.agent.add_remote(b.candidates(), 0.0)
    ping = sc.request(bytes(16), b"WRONGWRONGWRONG!" + b.agent.ports[0].username.encode())
    a.agent.receive(0, ping, b.addresses[0], 0.0)
    (answer,) = a.agent.datagrams()
    assert sc.parse(answer.data).error == (401, "Unauthorized")
    assert not a.agent.connections[0].readable


def test_a_peer_reflexive_address_gets_its_own_connection() -> None:
    sim = pair()
    a, b = sim.a, sim.b
    a.agent.add_remote(b.candidates(), 0.0)
    a.agent.peer_has_candidates(0.0)
    ping = sc.request(bytes(16), (a.agent.ports[0].username
                                  + b.agent.ports[0].username).encode())
    a.agent.receive(0, ping, ("192.0.2.9", 40000), 0.0)  # b behind a NAT
    kinds = {c.remote.type for c in a.agent.connections}
    assert kinds == {"host", "prflx"}


def test_rtcp_and_tcp_candidates_are_not_paired() -> None:
    a = make_peer("a", "10.0.0.1", seed=1)
    a.agent.add_remote([
        Candidate(address="10.0.0.2", port=1, ufrag="u" * 16, component=2),
        Candidate(address="10.0.0.2", port=2, ufrag="u" * 16, protocol="tcp"),
        Candidate(address="10.0.0.2", port=3, ufrag="u" * 16),
        Candidate(address="10.0.0.2", port=3, ufrag="u" * 16),  # duplicate
    ], 0.0)
    assert [c.remote.address for c in a.agent.connections] == [("10.0.0.2", 3)]


@pytest.mark.parametrize("seed", range(5))
def test_loss_and_reordering_with_several_ports_never_fails(seed: int) -> None:
    net = DatagramNetwork(seed=seed)
    net.default.loss, net.default.delay_s, net.default.jitter_s = 0.2, 0.005, 0.050
    sim = Sim(make_peer("a", "10.0.0.1", ports=3, seed=seed),
              make_peer("b", "10.0.0.2", ports=2, seed=seed + 10), net)
    sim.exchange()
    sim.run(20.0)
    for peer in (sim.a, sim.b):
        assert connected_at(peer) < 1.0
        assert not peer.of(gi.Failed)
        assert peer.agent.best is not None


def test_pings_from_many_sources_learn_a_bounded_number_of_connections() -> None:
    """Google ICE pings carry no integrity: one who knows the usernames could send
    them from any number of (spoofed) sources. jcall learns at most MAX_LEARNED
    peer-reflexive connections, and so pings at most that many new addresses."""
    a, b = make_peer("a", "10.0.0.1", seed=1), make_peer("b", "10.0.0.2", seed=2)
    b.agent.add_remote(a.candidates(), 0.0)
    b.agent.peer_has_candidates(0.0)
    username = (b.agent.ports[0].username + a.agent.ports[0].username).encode()
    for k in range(200):
        ping = sc.request(k.to_bytes(16, "big"), username)
        b.agent.receive(0, ping, ("203.0.113.9", 1000 + k), 0.001 * k)
    learned = [c for c in b.agent.connections if c.remote.type == "prflx"]
    assert len(learned) == gi.MAX_LEARNED
    now, pinged = 0.2, set()
    for _ in range(400):
        now += 0.05
        b.agent.handle_timer(now)
        pinged |= {d.to for d in b.agent.datagrams() if sc.parse(d.data).kind is
                   sc.Kind.REQUEST}
    assert len(pinged - set(a.addresses.values())) <= gi.MAX_LEARNED
