from jcall.xmpp.contacts import Change, Contacts


def test_only_voice_resources_are_callable() -> None:
    c = Contacts()
    assert c.available("bob@x/phone", voice=True) is Change.ADDED
    assert c.available("bob@x/web", voice=False) is None
    assert c.best("bob@x") == "bob@x/phone"
    assert c.best("carol@x") is None


def test_best_prefers_priority_then_recency() -> None:
    c = Contacts()
    c.available("bob@x/a", voice=True, priority=5)
    c.available("bob@x/b", voice=True, priority=1)
    assert c.best("bob@x") == "bob@x/a"
    c.available("bob@x/c", voice=True, priority=5)
    assert c.best("bob@x") == "bob@x/c"


def test_going_away_or_losing_voice_removes() -> None:
    c = Contacts()
    c.available("bob@x/a", voice=True)
    assert c.available("bob@x/a", voice=True) is None  # an update, not an addition
    assert c.available("bob@x/a", voice=False) is Change.REMOVED
    c.available("bob@x/a", voice=True)
    assert c.unavailable("bob@x/a") is Change.REMOVED
    assert c.unavailable("bob@x/a") is None
    assert c.callable() == []
