"""Which ICE a Gingle peer speaks, from what it shows (gingle.md parts A.5, F and G). Pure.

jcall's own candidates carry one RFC 8445 ufrag/pwd pair on every candidate, the pwd
24 characters long (RFC 8445 section 5.3 asks for at least 128 bits: 22 base64
characters). A Google ICE peer cannot look like that by accident:

* libpurple/libnice send an **empty password** (farstream has none in GOOGLE mode);
  libjingle sends a 16-character one, too short for an RFC pwd;
* libjingle gives **each port its own username**, so candidates disagree on credentials;
* its checks are **RFC 3489 Binding requests** (no magic cookie), or cookie-form ones
  whose USERNAME is two usernames run together with no colon.

An ``rtcp`` candidate or the ``candidates`` dialect alone decide nothing (jcall never
sends the first, and libjingle >= 0.5 uses the second with either ICE); together with
missing credentials they are covered by the password rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..signaling.model import Candidate
from . import stun_classic as sc
from .base import IceFlavor

MIN_RFC_PWD_CHARS = 22  # RFC 8445 section 5.3: at least 128 bits of base64


def from_candidates(candidates: Sequence[Candidate]) -> IceFlavor | None:
    """The flavour all of the peer's candidates so far show; None before the first."""
    return _judge(candidates)[0]


def explain(candidates: Sequence[Candidate]) -> str:
    """Why ``from_candidates`` says what it says, for the log and error messages."""
    return _judge(candidates)[1]


def _judge(candidates: Sequence[Candidate]) -> tuple[IceFlavor | None, str]:
    if not candidates:
        return None, "no candidates yet"
    if any(not c.pwd for c in candidates):
        return IceFlavor.GOOGLE, "candidates without an ICE password"
    if any(len(c.pwd) < MIN_RFC_PWD_CHARS for c in candidates):
        return IceFlavor.GOOGLE, "candidate passwords too short for RFC ICE"
    if len({c.credentials for c in candidates}) > 1:
        return IceFlavor.GOOGLE, "a different username on each candidate"
    return IceFlavor.RFC, "candidates with RFC ICE credentials"


def from_datagram(data: bytes) -> IceFlavor | None:
    """The flavour a connectivity check shows; None for anything that is not one."""
    if not sc.is_stun(data):
        return None
    try:
        msg = sc.parse(data)
    except sc.StunFormatError:
        return None  # not a Binding message this codec reads
    if msg.kind is not sc.Kind.REQUEST or msg.username is None:
        return None
    if msg.classic or b":" not in msg.username:
        return IceFlavor.GOOGLE
    return IceFlavor.RFC

