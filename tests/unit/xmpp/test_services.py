"""XEP-0215 service discovery answers (section 3.2 examples, reshaped)."""

import xml.etree.ElementTree as ET

from jcall.transport.ice import IceServers
from jcall.xmpp.client import parse_services

ANSWER = """<iq xmlns="jabber:client" type="result"><services xmlns="urn:xmpp:extdisco:2">
<service host="stun.example.org" port="3478" transport="udp" type="stun"/>
<service host="turn.example.org" port="3479" transport="tcp" type="turn" username="t" password="x"/>
<service host="127.0.0.1" port="3480" transport="udp" type="turn" username="1700000000:alice"
 password="c2VjcmV0" expires="2026-01-01T00:00:00Z" restricted="1"/>
<service host="bad" port="nope" transport="udp" type="stun"/>
</services></iq>"""


def test_first_udp_stun_and_turn_are_taken() -> None:
    assert parse_services(ET.fromstring(ANSWER)) == IceServers(
        stun=("stun.example.org", 3478), turn=("127.0.0.1", 3480),
        turn_username="1700000000:alice", turn_password="c2VjcmV0")


def test_no_services() -> None:
    assert parse_services(ET.fromstring("<iq xmlns='jabber:client'/>")) == IceServers()
