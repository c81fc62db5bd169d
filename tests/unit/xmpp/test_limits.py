"""Stanza bounds (jcall/xmpp/limits.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from jcall.xmpp import limits


def chain(depth: int) -> ET.Element:
    root = node = ET.Element("a")
    for _ in range(depth - 1):
        node = ET.SubElement(node, "a")
    return root


def test_depth_counts_the_element_itself_and_needs_no_recursion() -> None:
    assert limits.shape(ET.Element("iq")) == limits.Shape(1, 1)
    assert limits.shape(chain(limits.MAX_DEPTH)).depth == limits.MAX_DEPTH
    assert not limits.too_deep(chain(limits.MAX_DEPTH))
    assert limits.too_deep(chain(limits.MAX_DEPTH + 1))
    # Far beyond the interpreter's recursion limit.
    assert limits.too_deep(chain(100_000))


def test_counting_stops_below_the_bound() -> None:
    deep = chain(10_000)
    assert limits.shape(deep).elements == limits.MAX_DEPTH + 1


@given(st.integers(1, 60), st.integers(0, 20))
def test_depth_of_a_chain_with_siblings(depth: int, siblings: int) -> None:
    root = chain(depth)
    for _ in range(siblings):
        ET.SubElement(root, "b")
    got = limits.shape(root, stop_at_depth=100)
    assert got.depth == max(depth, 2 if siblings else 1)
    assert got.elements == depth + siblings


def test_a_small_payload_is_echoed_whole_and_as_a_copy() -> None:
    session = ET.fromstring('<session type="info" id="1"><x a="b">t</x></session>')
    echoed = limits.echo(session)
    assert echoed is not None and echoed is not session
    assert ET.tostring(echoed) == ET.tostring(session)


def test_a_big_payload_is_echoed_without_children_or_not_at_all() -> None:
    wide = ET.fromstring('<session id="1">' + "<x/>" * 5000 + "</session>")
    echoed = limits.echo(wide)
    assert echoed is not None and len(echoed) == 0 and echoed.get("id") == "1"
    deep = chain(limits.MAX_DEPTH + 1)
    echoed = limits.echo(deep)
    assert echoed is not None and len(echoed) == 0
    huge_id = ET.Element("session", {"id": "9" * 140_000})
    assert limits.echo(huge_id) is None


@given(st.text(max_size=1000))
def test_clip_bounds_the_text_and_keeps_short_ones(text: str) -> None:
    clipped = limits.clip(text)
    assert len(clipped) <= limits.MAX_TEXT_CHARS
    assert clipped == text or len(text) > limits.MAX_TEXT_CHARS
