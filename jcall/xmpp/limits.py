"""Bounds on what a stanza from anyone may make jcall do. Pure.

Anyone who knows jcall's full JID can send it stanzas, and the server passes on
whatever fits its size limit (Prosody's default is 256 KiB). Two things in such a
stanza can hurt: nesting, which recursive code (slixmpp's stanza objects, ElementTree's
serializer) turns into a RecursionError that ends the stream, and size, when an error
reply echoes the request (RFC 6120 section 8.3.1 allows it; libjingle echoes the
``<session>``) and so comes out bigger than the server accepts. So: stanzas nested
deeper than any real one are refused before slixmpp builds them, and what an error
reply echoes is bounded.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from dataclasses import dataclass

# No stanza of a real client comes near this: Gingle and Jingle go five deep below the
# iq, a roster push four, PEP events about ten.
MAX_DEPTH = 32
# An echoed payload, serialized, and an error's text: a reply stays small whatever
# the request carried.
MAX_ECHO_CHARS = 1024
MAX_TEXT_CHARS = 200


@dataclass(frozen=True)
class Shape:
    """How deep and how large a stanza's element tree is."""

    depth: int  # the stanza element itself is depth 1
    elements: int


def shape(elem: ET.Element, stop_at_depth: int = MAX_DEPTH) -> Shape:
    """How deep and how many elements, without recursion; counting stops below
    ``stop_at_depth + 1`` levels (the answer only needs to say "too deep")."""
    deepest, count = 0, 0
    stack = [(elem, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        deepest = max(deepest, depth)
        if depth <= stop_at_depth:
            stack.extend((child, depth + 1) for child in node)
    return Shape(deepest, count)


def too_deep(elem: ET.Element) -> bool:
    return shape(elem).depth > MAX_DEPTH


def clip(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, marked where it was cut."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def echo(payload: ET.Element) -> ET.Element | None:
    """What an error reply may echo of ``payload``: all of it when small; else the
    element alone with its attributes; else nothing."""
    if shape(payload).depth <= MAX_DEPTH and _size(payload) <= MAX_ECHO_CHARS:
        return copy.deepcopy(payload)
    bare = ET.Element(payload.tag, payload.attrib)
    return bare if _size(bare) <= MAX_ECHO_CHARS else None


def _size(elem: ET.Element) -> int:
    """The serialized size, give or take escaping; without recursion."""
    total = 0
    stack = [elem]
    while stack and total <= MAX_ECHO_CHARS:
        node = stack.pop()
        total += 2 * len(node.tag) + 5 + len(node.text or "") + len(node.tail or "")
        total += sum(len(k) + len(v) + 4 for k, v in node.attrib.items())
        stack.extend(node)
    return total
