from jcall.audio.formats import PCMU, SUPPORTED, answer, offer
from jcall.signaling.gingle import PayloadType


def test_offer_uses_static_numbers_and_dynamic_ones_from_96() -> None:
    ids = {(p.name, p.clockrate, p.channels): p.id for p in offer()}
    assert ids[("L16", 44100, 1)] == 11
    assert ids[("L16", 44100, 2)] == 10
    assert ids[("PCMU", 8000, 1)] == 0 and ids[("PCMA", 8000, 1)] == 8
    assert sorted(i for i in ids.values() if i >= 96) == [96, 97, 98]


def test_answer_keeps_offerers_order_and_drops_unknown() -> None:
    purple = (PayloadType(110, "speex", 16000), PayloadType(111, "speex", 8000),
              PayloadType(0, "PCMU", 8000), PayloadType(8, "PCMA", 8000),
              PayloadType(10, "L16", 44100, channels=2), PayloadType(106, "telephone-event", 8000))
    assert [p.id for p in answer(purple)] == [0, 8, 10]


def test_nameless_static_payload_type_is_matched_by_number() -> None:
    assert answer((PayloadType(0),)) == (PayloadType(0),)
    assert answer((PayloadType(96),)) == ()
    assert answer((PayloadType(5, "plain", 44100),)) == ()
    assert PCMU in SUPPORTED


def test_prefer_moves_matches_first() -> None:
    import pytest

    from jcall.audio.formats import L16_16000, L16_44100, L16_44100_STEREO, PCMA, prefer

    assert prefer("pcma")[0] == PCMA
    assert prefer("L16/16000")[0] == L16_16000
    assert prefer("L16/44100/2")[0] == L16_44100_STEREO  # as the statistics print it
    assert prefer("L16/44100/1")[0] == L16_44100
    assert prefer(None) == SUPPORTED
    assert sorted(prefer("L16"), key=id) == sorted(SUPPORTED, key=id)
    with pytest.raises(ValueError, match="unknown codec 'speex'"):
        prefer("speex")
    with pytest.raises(ValueError, match="NAME"):
        prefer("L16/fast")
    with pytest.raises(ValueError, match="NAME"):
        prefer("L16/44100/2/1")
    with pytest.raises(ValueError, match="unknown codec"):
        prefer("PCMU/8000/2")


def test_l16_payload_type_10_is_stereo_whatever_channels_says() -> None:
    from jcall.audio.formats import L16_44100, L16_44100_STEREO, channels_of

    purple = PayloadType(10, "L16", 44100)  # libpurple: no channels attribute
    assert channels_of(purple) == 2
    assert L16_44100_STEREO.matches(purple) and not L16_44100.matches(purple)
    assert channels_of(PayloadType(11, "L16", 44100, channels=2)) == 1  # RFC 3551: mono
    assert channels_of(PayloadType(96, "L16", 48000, channels=2)) == 2  # dynamic: honoured
    assert channels_of(PayloadType(10, "speex", 16000)) == 1  # not L16: the attribute


def test_the_devices_rate_goes_first_and_nothing_else_moves() -> None:
    from jcall.audio.formats import L16_48000, SUPPORTED, at_rate

    got = at_rate(48000)
    assert got[0] == L16_48000 and got[1:] == tuple(f for f in SUPPORTED if f != L16_48000)
    assert at_rate(None) == SUPPORTED and at_rate(22050) == SUPPORTED
