from jcall.signaling.model import Dialect
from jcall.xmpp.contacts import (
    JINGLE_FEATURES,
    VOICE_EXT,
    VOICE_FEATURE,
    Change,
    Contacts,
    dialects_of,
)

VOICE, NONE = frozenset({Dialect.GINGLE}), frozenset[Dialect]()


def test_only_voice_resources_are_callable() -> None:
    c = Contacts()
    assert c.available("bob@x/phone", dialects=VOICE) is Change.ADDED
    assert c.available("bob@x/web", dialects=NONE) is None
    assert c.best("bob@x") == "bob@x/phone"
    assert c.best("carol@x") is None


def test_best_prefers_priority_then_recency() -> None:
    c = Contacts()
    c.available("bob@x/a", dialects=VOICE, priority=5)
    c.available("bob@x/b", dialects=VOICE, priority=1)
    assert c.best("bob@x") == "bob@x/a"
    c.available("bob@x/c", dialects=VOICE, priority=5)
    assert c.best("bob@x") == "bob@x/c"


def test_going_away_or_losing_voice_removes() -> None:
    c = Contacts()
    c.available("bob@x/a", dialects=VOICE)
    assert c.available("bob@x/a", dialects=VOICE) is None  # an update, not an addition
    assert c.available("bob@x/a", dialects=NONE) is Change.REMOVED
    c.available("bob@x/a", dialects=VOICE)
    assert c.unavailable("bob@x/a") is Change.REMOVED
    assert c.unavailable("bob@x/a") is None
    assert c.callable() == []


def test_dialects_come_from_features_or_the_legacy_ext() -> None:
    assert dialects_of(set(), [VOICE_EXT]) == {Dialect.GINGLE}
    assert dialects_of({VOICE_FEATURE}) == {Dialect.GINGLE}
    assert dialects_of(set(JINGLE_FEATURES)) == {Dialect.JINGLE}
    assert dialects_of(set(JINGLE_FEATURES[:3])) == set()  # no ICE-UDP: nothing jcall speaks
    assert dialects_of({*JINGLE_FEATURES, VOICE_FEATURE}) == set(Dialect)
    c = Contacts()
    c.available("bob@x/a", dialects=frozenset(Dialect))
    assert c.dialects("bob@x/a") == set(Dialect) and c.dialects("bob@x/b") == set()
