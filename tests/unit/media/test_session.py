"""jcall/media/session.py without a network or devices (the sessions themselves run
in tests/integration/test_media_session.py)."""

import numpy as np
import pytest

from jcall.media.send import PacedPackets
from jcall.rtp.packet import RtpPacket
from tests.unit.media.test_send import Counting


class Recording:
    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []

    def write(self, pcm: np.ndarray) -> None:
        self.frames.append(pcm)

    def close(self) -> None:
        pass


async def test_datagrams_from_several_sockets_play_in_arrival_order() -> None:
    """One receive pass hands over the datagrams of one socket, then of the next: a
    peer's packets that came over two sockets (before selection) must still be played
    in the order they arrived, or each would wait behind a later one and be late."""
    from jcall.audio.endpoints import BatchedSink
    from jcall.audio.settings import AudioSettings
    from jcall.media import MediaSession, opener
    from jcall.signaling.gingle import PayloadType
    from tests.fakes import FakeTransport

    media = MediaSession(FakeTransport(), (PayloadType(0, "PCMU", 8000),),
                         opener(AudioSettings()))
    sink = Recording()
    media._sink = media._batched = BatchedSink(sink)
    media._play_due = 0.010
    packets = [(0.005 + 0.020 * i, bytes(RtpPacket(0, i, 160 * i, 7, b"\x55" * 160)))
               for i in range(50)]
    media._inbox.extend(packets[1::2] + packets[0::2])  # socket B's pass, then A's
    media._play_until(1.0)  # (no socket yet: the inbox only)
    j = media.jitter.stats
    assert (j.received, j.late, j.concealed_samples) == (50, 0, 0)


async def test_a_snapshot_shows_the_levels_sent_and_played_and_the_mute() -> None:
    from jcall.audio.endpoints import BatchedSink
    from jcall.audio.level import FLOOR_DBFS
    from jcall.audio.settings import AudioSettings
    from jcall.media import MediaSession, opener
    from jcall.signaling.gingle import PayloadType
    from tests.fakes import FakeTransport

    media = MediaSession(FakeTransport(), (PayloadType(0, "PCMU", 8000),),
                         opener(AudioSettings()))
    quiet = media.snapshot()
    assert quiet["levels"] == {"input_dbfs": FLOOR_DBFS, "output_dbfs": FLOOR_DBFS}
    assert quiet["muted"] is False
    media._packets = PacedPackets(Counting(), media.codec, media.packetizer, 160, 2)
    media._packets.next()
    media._sink = media._batched = BatchedSink(Recording())
    media._play_due = 0.010
    loud = bytes([0x80] * 160)  # PCMU near full scale
    media._inbox.extend((0.005 + 0.020 * i, bytes(RtpPacket(0, i, 160 * i, 7, loud)))
                        for i in range(20))
    media._play_until(0.3)
    levels = media.snapshot()["levels"]
    assert levels["input_dbfs"] == pytest.approx(-45.0, abs=0.5)  # (samples 0..319)
    assert levels["output_dbfs"] > -3
    media.set_muted(True)
    media._packets.next()
    media._packets.next()  # (the next batch is built muted)
    snap = media.snapshot()
    assert snap["muted"] is True and snap["levels"]["input_dbfs"] == FLOOR_DBFS


async def test_a_send_that_keeps_failing_is_said_once_and_summed_up_at_the_end(
        caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from jcall.audio.settings import AudioSettings
    from jcall.media import MediaSession, opener
    from jcall.signaling.gingle import PayloadType
    from tests.fakes import FakeTransport

    media = MediaSession(FakeTransport(), (PayloadType(0, "PCMU", 8000),),
                         opener(AudioSettings()))

    def unreachable(data: bytes) -> None:
        raise OSError(101, "Network is unreachable")

    media._send = unreachable
    with caplog.at_level(logging.INFO, logger="jcall.media.session"):
        for _ in range(5):
            media._send_datagram(bytes(172))
        stats = await media.stop()
    said = [r.getMessage() for r in caplog.records if "send failed" in r.getMessage()]
    assert said == ["send failed: [Errno 101] Network is unreachable",
                    "send failed 5 times: [Errno 101] Network is unreachable"]
    assert stats["sent"]["packets"] == 0


async def test_packets_the_event_loop_could_not_send_are_not_counted_as_sent() -> None:
    """On a relayed path the device's callback hands packets to the event loop."""
    import asyncio

    from jcall.audio.settings import AudioSettings
    from jcall.media import MediaSession, opener
    from jcall.signaling.gingle import PayloadType
    from tests.fakes import FakeTransport

    transport = FakeTransport()
    media = MediaSession(transport, (PayloadType(0, "PCMU", 8000),),
                         opener(AudioSettings()))
    outcomes = iter([None, OSError(105, "No buffer space available"), None])

    def send_now(data: bytes) -> None:
        failure = next(outcomes)
        if failure is not None:
            raise failure

    transport.send_now = send_now  # type: ignore[method-assign]
    media._send = media._send_through_loop
    for size in (100, 200, 300):
        media._send_datagram(bytes(size))
    await asyncio.sleep(0.01)
    assert media._sent_so_far() | {"ssrc": 0} == {"ssrc": 0, "packets": 2, "bytes": 400}
    assert (media.sent.refused, media.sent.reason) == (1, "[Errno 105] No buffer space available")
