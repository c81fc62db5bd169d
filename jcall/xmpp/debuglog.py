"""libjingle's ``-d`` stanza log (``DebugLog`` in the 0.4 ``call`` sample), reproduced.

Pure: raw chunks and a timestamp in, text out. Format (gingle.md part C): for every
chunk written or read on the XMPP socket a header ``SEND`` + 25 ``>`` (or ``RECV`` +
25 ``<``), `` : `` and the C ``asctime()`` of the local time; then each tag on its own
line, indented from 3 spaces: an opening tag is printed and the indent grows by 2, a
closing tag shrinks it by 2 and is printed, a self-closing tag leaves it alone, text
between tags gets its own line. Like libjingle, bytes after the last complete tag or
text run are kept for the next chunk of the same direction.

Unlike libjingle, which only censored the text after SASL ``<auth>``, the text after
``<response>`` is removed too: SCRAM and DIGEST-MD5 responses carry proofs of the
password (RFC 5802 section 5).
"""

from __future__ import annotations

import re
import time
from enum import Enum

HEADER_RUN = 25
TEXT_REMOVED = "## TEXT REMOVED ##"
FIRST_INDENT = 3

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Tags whose text content is a credential (SASL, RFC 6120 section 6.4).
_CENSORED_TAG = re.compile(r"^<(?:[\w.-]+:)?(auth|response)[\s/>]")


_SASL_TEXT = re.compile(
    r"(<(?:[\w.-]+:)?(?:auth|response|challenge|success)\b[^>]*(?<!/)>)([^<]+)(?=</)")


def censor(text: str) -> str:
    """``text`` with the content of every SASL ``auth``, ``response``, ``challenge`` and
    ``success`` element removed: the password (PLAIN) or what a guesser needs (SCRAM's
    salt, iteration count and proofs). For libraries' own debug logs, which jcall does
    not format."""
    return _SASL_TEXT.sub(lambda m: m.group(1) + TEXT_REMOVED, text)


class Direction(Enum):
    SEND = ">"
    RECV = "<"


def asctime(when: time.struct_time) -> str:
    """C ``asctime()`` without its newline: ``Sun Sep 21 17:30:02 2008``."""
    return (f"{_DAYS[when.tm_wday]} {_MONTHS[when.tm_mon - 1]} {when.tm_mday:2d} "
            f"{when.tm_hour:02d}:{when.tm_min:02d}:{when.tm_sec:02d} {when.tm_year}")


def _indent(nest: int) -> str:
    # libjingle wrote `setw(nest) << " "`: never fewer than one space.
    return " " * max(nest, 1)


def header(direction: Direction, when: time.struct_time) -> str:
    return f"{direction.name} {direction.value * HEADER_RUN} : {asctime(when)}"


class DebugLog:
    """Formats one direction's chunks; keeps the unfinished tail between chunks."""

    def __init__(self, direction: Direction) -> None:
        self.direction = direction
        self._buffer = ""
        self._censor = False

    def feed(self, chunk: str, when: time.struct_time) -> str:
        """Return the lines for ``chunk`` (newline-terminated), or "" if there is none."""
        buf = self._buffer + chunk
        if not buf:
            return ""
        lines = [header(self.direction, when)]
        start, nest = 0, FIRST_INDENT
        for i, ch in enumerate(buf):
            if ch == ">":
                tag = buf[start:i + 1]
                if i > 0 and buf[i - 1] == "/":
                    grow = False
                elif tag.startswith("</"):
                    grow = False
                    nest -= 2
                else:
                    grow = True
                lines.append(_indent(nest) + tag)
                if grow:
                    nest += 2
                # Only the text right after an opening <auth>/<response> is secret.
                self._censor = grow and bool(_CENSORED_TAG.match(tag))
                start = i + 1
            elif ch == "<" and start < i:
                text = buf[start:i]
                lines.append(_indent(nest) + (TEXT_REMOVED if self._censor else text))
                self._censor = False
                start = i
        self._buffer = buf[start:]
        return "\n".join(lines) + "\n"
