"""The slixmpp stream's stanza path: bounds and per-stanza failures
(jcall/xmpp/client.py ``_Stream``), without a server."""

from __future__ import annotations

import ssl
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from jcall.xmpp import limits
from jcall.xmpp.client import _Stream

STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"


@pytest.fixture
async def stream(monkeypatch: pytest.MonkeyPatch) -> tuple[_Stream, list[ET.Element]]:
    s = _Stream("bob@example.com/x", "secret", None, ssl.create_default_context())
    sent: list[ET.Element] = []
    monkeypatch.setattr(s, "send", lambda stanza, *a, **k: sent.append(stanza.xml))
    return s, sent


def iq(payload: str, kind: str = "set") -> ET.Element:
    return ET.fromstring(f'<iq xmlns="jabber:client" type="{kind}" id="q1" '
                         f'from="eve@example.com/r" to="bob@example.com/x">{payload}</iq>')


def condition(reply: ET.Element) -> str:
    error = reply.find("{jabber:client}error")
    assert error is not None
    return next(c.tag.split("}")[1] for c in error if c.tag.startswith(f"{{{STANZAS}}}"))


async def test_a_too_deep_iq_is_refused_before_slixmpp_builds_it(
        stream: tuple[_Stream, list[ET.Element]], monkeypatch: pytest.MonkeyPatch) -> None:
    s, sent = stream
    built: list[Any] = []
    monkeypatch.setattr(s, "recv_stanza", built.append)
    s._spawn_event(iq("<x>" * 3000 + "</x>" * 3000))
    assert built == []
    [reply] = sent
    assert (reply.get("type"), reply.get("id"), reply.get("to")) == \
        ("error", "q1", "eve@example.com/r")
    assert condition(reply) == "policy-violation"
    assert len(reply) == 1  # the error alone: nothing echoed


async def test_a_deep_message_is_dropped_without_an_answer(
        stream: tuple[_Stream, list[ET.Element]]) -> None:
    s, sent = stream
    deep = "<body>" * (limits.MAX_DEPTH + 1) + "</body>" * (limits.MAX_DEPTH + 1)
    s._spawn_event(ET.fromstring(f'<message xmlns="jabber:client" from="e@x/y">{deep}</message>'))
    assert sent == []


async def test_whatever_one_stanza_raises_stays_with_that_stanza(
        stream: tuple[_Stream, list[ET.Element]], monkeypatch: pytest.MonkeyPatch) -> None:
    s, sent = stream

    def fails(stanza: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(s, "recv_stanza", fails)
    s._spawn_event(iq("<x/>"))
    [reply] = sent
    assert condition(reply) == "internal-server-error"
    s._spawn_event(iq("<x/>", kind="result"))  # a result is not answered
    assert len(sent) == 1


async def test_a_stanza_within_the_bound_goes_through(
        stream: tuple[_Stream, list[ET.Element]], monkeypatch: pytest.MonkeyPatch) -> None:
    s, sent = stream
    built: list[Any] = []
    monkeypatch.setattr(s, "recv_stanza", built.append)
    depth = limits.MAX_DEPTH - 1  # below the iq
    s._spawn_event(iq("<x>" * depth + "</x>" * depth))
    assert len(built) == 1 and sent == []


async def test_slixmpps_own_parse_path_goes_through_the_bound(
        stream: tuple[_Stream, list[ET.Element]]) -> None:
    """The bound is an override of slixmpp's private ``_spawn_event``: bytes fed to
    the stream as the socket would must reach it (pinned slixmpp; this fails if a
    new slixmpp stops calling it)."""
    s, sent = stream
    s.init_parser()
    s.data_received(b"<stream:stream xmlns='jabber:client' "
                    b"xmlns:stream='http://etherx.jabber.org/streams'>")
    deep = b"<x>" * 2000 + b"</x>" * 2000
    s.data_received(b"<iq type='set' id='q2' from='eve@example.com/r'>" + deep + b"</iq>")
    [reply] = sent
    assert reply.get("id") == "q2" and condition(reply) == "policy-violation"
