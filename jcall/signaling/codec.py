"""The two dialects side by side: for each, the element it rides in, how it reads and
writes the neutral model, and how it answers a refused message. Pure.

The XMPP adapter registers one handler per :class:`Codec` and otherwise treats them
alike (shared/ARCHITECTURE.md section 2: one module per dialect, one router).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import RemoteProtocolError
from . import gingle, jingle
from .attributes import qname
from .model import Dialect, Fault, Message


@dataclass(frozen=True)
class StanzaError:
    """An error reply: RFC 6120 condition and type, and an application condition."""

    condition: str
    type: str
    app: ET.Element | None = None


@dataclass(frozen=True)
class Codec:
    """One session dialect's wire form: its element, and how it parses."""

    dialect: Dialect
    namespace: str
    element: str
    # Whether an error reply carries (a bounded copy of) the refused element, as
    # libjingle's do; XEP-0166's carry only the error.
    echoes: bool
    _parse: Callable[[ET.Element], Message]
    _write: Callable[[Message, str], ET.Element]
    _errors: Callable[[Fault], StanzaError]

    @property
    def tag(self) -> str:
        return qname(self.namespace, self.element)

    def parse(self, elem: ET.Element) -> Message:
        """Raises RemoteProtocolError (:attr:`Fault.MALFORMED`) for a malformed element."""
        try:
            return self._parse(elem)
        except ValueError as exc:  # GingleParseError, JingleParseError
            raise RemoteProtocolError(str(exc), Fault.MALFORMED) from None

    def write(self, msg: Message, local_jid: str) -> ET.Element:
        return self._write(msg, local_jid)

    def error(self, fault: Fault) -> StanzaError:
        return self._errors(fault)


def _gingle_error(fault: Fault) -> StanzaError:
    return StanzaError(*gingle.ERRORS[fault])


def _jingle_error(fault: Fault) -> StanzaError:
    condition, kind, app = jingle.FAULTS[fault]
    return StanzaError(condition, kind,
                       ET.Element(qname(jingle.NS_ERRORS, str(app))) if app is not None else None)


GINGLE = Codec(
    Dialect.GINGLE, gingle.NS_SESSION, "session", echoes=True,
    _parse=lambda e: gingle.to_model(gingle.parse_session(e)),
    _write=lambda m, _: gingle.session_element(gingle.from_model(m)),
    _errors=_gingle_error)

JINGLE = Codec(
    Dialect.JINGLE, jingle.NS_JINGLE, "jingle", echoes=False,
    _parse=lambda e: jingle.to_model(jingle.parse_jingle(e)),
    _write=lambda m, me: jingle.jingle_element(jingle.from_model(m, responder=me)),
    _errors=_jingle_error)

CODECS = {c.dialect: c for c in (GINGLE, JINGLE)}
