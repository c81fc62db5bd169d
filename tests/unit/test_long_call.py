"""An hour-long call, accelerated where that is honest (issue 12, item 7): the pure
parts that live for the whole call -- the jitter buffer on a replayed arrival trace,
RFC 3550 statistics across sequence and timestamp wraps, consent freshness, the
Google ICE agent and the session machine -- driven through 60 minutes of a fake
clock. Their delay must not grow and their state must stay bounded."""

from __future__ import annotations

import random

import numpy as np

from jcall.rtp.jitterbuffer import JitterBuffer
from jcall.rtp.stats import ReceiveStats
from jcall.seqnum import uint32_add
from jcall.signaling.gingle import PayloadType
from jcall.signaling.session import SessionManager
from jcall.transport import consent
from jcall.transport import google_ice as gi
from jcall.transport.events import Connected

HOUR_S = 3600.0
RATE, PACKET, FRAME = 8000, 160, 80  # PCMU: 20 ms packets, 10 ms playout frames


def arrivals(rng: random.Random, n: int, ppm: float) -> list[float | None]:
    """A path with 20 ms base delay, everyday jitter, a 100 ms spike a minute, 1 %
    loss, and a sender clock ``ppm`` off the receiver's."""
    out: list[float | None] = []
    for i in range(n):
        if rng.random() < 0.01:
            out.append(None)
            continue
        sent = i * PACKET / RATE * (1 + ppm * 1e-6)
        jitter = rng.expovariate(1 / 0.003)
        if i % 3000 == 1500:
            jitter += 0.100
        out.append(sent + 0.020 + jitter)
    return out


def test_an_hour_of_jittery_lossy_skewed_audio_keeps_its_delay() -> None:
    rng = random.Random(2026)
    n = int(HOUR_S * RATE / PACKET)
    trace = arrivals(rng, n, ppm=150)
    jb = JitterBuffer(RATE, 1, FRAME)
    pcm = np.full((PACKET, 1), 1000, dtype=np.int16)
    events = sorted([(a, 0, i) for i, a in enumerate(trace) if a is not None]
                    + [(0.0037 + k * FRAME / RATE, 1, k)
                       for k in range(int(HOUR_S * RATE / FRAME))])
    delays: list[float] = []
    biggest_state = 0
    for t, kind, i in events:
        if kind == 0:
            jb.push(uint32_add(123, i * PACKET), pcm, t)
        else:
            jb.pop(t)
            if i % 100 == 0:  # once a second
                delays.append(jb.delay_s + jb.level_s)
                biggest_state = max(biggest_state, len(jb._chunks), len(jb._arrivals),
                                    len(jb._starts), len(jb._transit_min))
    minute = 60
    first, last = np.array(delays[minute:6 * minute]), np.array(delays[-5 * minute:])
    # No growth: the last five minutes sit where minutes 1-6 did (the p95 tracks the
    # same jitter; the 150 ppm skew is taken out, not queued up).
    assert np.percentile(last, 95) <= np.percentile(first, 95) + 0.005, \
        (np.percentile(first, 95), np.percentile(last, 95))
    assert np.median(last) <= np.median(first) + 0.005
    s = jb.stats
    assert s.received > 0.98 * n and s.underruns < 0.001 * n
    # Concealment: the 1 % lost, the minute spikes, little else.
    assert s.concealed_samples < 0.03 * HOUR_S * RATE
    assert biggest_state < 100  # bounded by the buffer's span, not by the call's length
    assert len(jb._jitter) <= 2000 and len(jb._jitter_sorted) == len(jb._jitter)


def test_an_hour_of_statistics_across_sequence_and_timestamp_wraps() -> None:
    rng = random.Random(5)
    stats = ReceiveStats(RATE)
    n = int(HOUR_S * RATE / PACKET)  # 180,000 packets: 2.7 sequence wraps
    seq0, ts0 = 65000, 2**32 - 10_000  # both wrap early on
    got = [i for i in range(n) if rng.random() >= 0.01]
    for i in got:
        stats.update((seq0 + i) & 0xFFFF, (ts0 + i * PACKET) & 0xFFFFFFFF,
                     i * PACKET / RATE + 0.02, 172)
    span = got[-1] - got[0] + 1  # RFC 3550 A.3: from the first to the highest seen
    assert (stats.packets, stats.expected, stats.lost) == (len(got), span, span - len(got))
    assert stats.jitter_ms < 0.01  # a perfectly paced trace has no jitter, even at wraps


def test_an_hour_of_consent_on_a_live_path_never_loses_or_expires() -> None:
    rng = random.Random(9)
    fresh = consent.Freshness.starting(0.0)
    now, checks, verdicts = 0.0, 0, []
    next_media = 0.02
    while now < HOUR_S:
        now = min(fresh.next_check(), next_media, fresh.wake_at())
        if now >= next_media:
            verdicts.append(fresh.heard(now))
            next_media += 0.02
        if now >= fresh.next_check():
            fresh.sent(now, rng.random())
            checks += 1
            if rng.random() > 0.05:  # 5 % of checks or answers lost
                verdicts.append(fresh.answered(now + 0.03))
        verdicts.append(fresh.poll(now))
    assert [v for v in verdicts if v is not None] == []
    # The regular 4-6 s schedule (media never went quiet): about 720 checks an hour.
    assert 600 < checks < 900


def test_an_hour_of_google_ice_keeps_its_connection_with_bounded_state() -> None:
    rng = random.Random(3)

    def token(k: int) -> bytes:
        return bytes(rng.randrange(256) for _ in range(k))

    ports = [gi.local_port(0, ("192.0.2.1", 5000), gi.new_username(token), ""),
             gi.local_port(0, ("192.0.2.2", 6000), gi.new_username(token), "")]
    agents = [gi.GoogleIceAgent([p], token) for p in ports]
    for me, other in ((0, 1), (1, 0)):
        agents[me].add_remote(ports[other].candidates, 0.0)
        agents[me].peer_has_candidates(0.0)
    events: list[object] = []
    now, biggest = 0.0, 0
    in_flight: list[tuple[float, int, bytes]] = []  # (arrival, to, data): 5 ms links
    while now < HOUR_S:
        due = [a.get_timer() for a in agents]
        now = min([t for t in due if t is not None] + [a for a, _, _ in in_flight[:1]]
                  + [now + 0.5])
        for arrival, to, data in [d for d in in_flight if d[0] <= now]:
            in_flight.remove((arrival, to, data))
            agents[to].receive(0, data, ports[1 - to].address, now)
        for k, agent in enumerate(agents):
            agent.handle_timer(now)
            for d in agent.datagrams():
                if rng.random() > 0.02:  # 2 % loss
                    in_flight.append((now + 0.005, 1 - k, d.data))
            events += agent.events()
            biggest = max(biggest, len(agent._transactions), len(agent._conns))
        in_flight.sort()
    assert all(isinstance(e, Connected) for e in events) and len(events) == 2, events
    assert all(a.best is not None for a in agents)
    assert biggest < 50


def test_a_session_an_hour_old_has_nothing_due_and_ends_cleanly() -> None:
    pcmu = (PayloadType(0, "PCMU", 8000),)
    manager = SessionManager("alice@example.com/a")
    session = manager.create_outgoing("bob@example.com/b", "77")
    session.initiate(pcmu, 0.0)
    [initiate] = session.outgoing()
    session.handle_reply(initiate.tag, None, 0.05)
    assert session.get_timer() is None  # nothing pending: no timer runs for an hour
    session.handle_timer(HOUR_S)
    assert not session.ended
    session.terminate(HOUR_S)
    [terminate] = session.outgoing()
    session.handle_reply(terminate.tag, None, HOUR_S + 0.05)
    manager.prune()
    assert manager.sessions == {}
