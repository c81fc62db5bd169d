"""Reading a stanza element's names and attributes, for both dialects' codecs
(``gingle.py``, ``jingle.py``). Pure. Each codec passes its own parse error, the
one its callers answer with ``bad-request``."""

from __future__ import annotations

import xml.etree.ElementTree as ET


def qname(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def required(elem: ET.Element, name: str, error: type[ValueError]) -> str:
    value = elem.get(name)
    if value is None:
        raise error(f"<{local(elem.tag)}> lacks required attribute '{name}'")
    return value


def integer(elem: ET.Element, name: str, error: type[ValueError],
            default: int | None = None) -> int:
    """The attribute as an integer; ``default`` when absent (None: it is required)."""
    raw = elem.get(name)
    if raw is None:
        if default is None:
            raise error(f"<{local(elem.tag)}> lacks required attribute '{name}'")
        return default
    try:
        return int(raw.strip())
    except ValueError:
        raise error(f"attribute '{name}' is not an integer: {raw[:40]!r}") from None
