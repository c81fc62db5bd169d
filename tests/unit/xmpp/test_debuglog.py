"""The -d stanza log against hand-written golden files (gingle.md parts B and C)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from jcall.xmpp.debuglog import TEXT_REMOVED, DebugLog, Direction, asctime, censor, header

GOLDEN = Path(__file__).parent.parent / "golden"


def replay(chunks_file: Path, when: time.struct_time) -> str:
    logs = {d: DebugLog(d) for d in Direction}
    out = []
    for line in chunks_file.read_text().splitlines():
        direction, chunk = Direction[line[:4]], line[5:]
        out.append(logs[direction].feed(chunk, when))
    return "".join(out)


def struct(y: int, mo: int, d: int, h: int, mi: int, s: int) -> time.struct_time:
    return time.struct_time((y, mo, d, h, mi, s, 0, 1, 0))


@pytest.mark.parametrize("name", ["sample_call", "login"])
def test_golden(name: str) -> None:
    stamp = {"sample_call": (2008, 9, 21, 17, 30, 2), "login": (2008, 9, 1, 9, 5, 7)}[name]
    when = time.localtime(time.mktime(struct(*stamp)))
    expected = (GOLDEN / f"{name}.log").read_text()
    assert replay(GOLDEN / f"{name}.chunks", when) == expected


def test_asctime_pads_day_with_space() -> None:
    when = time.localtime(time.mktime(struct(2008, 9, 1, 9, 5, 7)))
    assert asctime(when) == "Mon Sep  1 09:05:07 2008"


def test_header_runs_are_25_characters() -> None:
    when = time.localtime(0)
    assert header(Direction.SEND, when).split(" : ")[0] == "SEND " + ">" * 25
    assert header(Direction.RECV, when).split(" : ")[0] == "RECV " + "<" * 25


def test_plain_auth_payload_never_printed() -> None:
    log = DebugLog(Direction.SEND)
    out = log.feed('<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">'
                   "AGFsaWNlAHNlY3JldA==</auth>", time.localtime(0))
    assert "AGFsaWNlAHNlY3JldA" not in out
    assert "## TEXT REMOVED ##" in out


def test_self_closing_auth_does_not_censor_later_text() -> None:
    log = DebugLog(Direction.SEND)
    out = log.feed('<auth mechanism="ANONYMOUS"/><message><body>hi</body></message>',
                   time.localtime(0))
    assert "       hi" in out.splitlines()


def test_empty_chunk_prints_nothing() -> None:
    assert DebugLog(Direction.RECV).feed("", time.localtime(0)) == ""


def test_censor_removes_sasl_secrets_from_library_log_lines() -> None:
    sasl = "urn:ietf:params:xml:ns:xmpp-sasl"
    line = (f"SEND: <auth xmlns=\"{sasl}\" mechanism=\"PLAIN\">AGFsaWNlAHNlY3JldA==</auth>"
            f"<challenge xmlns='{sasl}'>cj1meWtv,cz1RU0,aT00MDk2</challenge>"
            f"<response xmlns='{sasl}'>Yz1iaXdzLHI9,cD1wcm9vZg==</response>"
            f"<success xmlns='{sasl}'>dj1ybUY5cHFWOFM3c3VBb1pXamE0ZEpSa0ZzS1E9</success>"
            "<message><body>hello</body></message><auth/>")
    assert censor(line) == (
        f"SEND: <auth xmlns=\"{sasl}\" mechanism=\"PLAIN\">{TEXT_REMOVED}</auth>"
        f"<challenge xmlns='{sasl}'>{TEXT_REMOVED}</challenge>"
        f"<response xmlns='{sasl}'>{TEXT_REMOVED}</response>"
        f"<success xmlns='{sasl}'>{TEXT_REMOVED}</success>"
        "<message><body>hello</body></message><auth/>")
