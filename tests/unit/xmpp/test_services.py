"""XEP-0215 service discovery answers (section 3.2 examples, reshaped)."""

import xml.etree.ElementTree as ET

from jcall.transport.servers import IceServers, StunServer, TurnServer, TurnTransport
from jcall.xmpp.client import parse_services

ANSWER = """<iq xmlns="jabber:client" type="result"><services xmlns="urn:xmpp:extdisco:2">
<service host="stun.example.org" port="3478" transport="udp" type="stun"/>
<service host="turn.example.org" port="3479" transport="tcp" type="turn" username="t" password="x"/>
<service host="127.0.0.1" port="3480" transport="udp" type="turn" username="1700000000:alice"
 password="c2VjcmV0" expires="2026-01-01T00:00:00Z" restricted="1"/>
<service host="bad" port="nope" transport="udp" type="stun"/>
<service host="stun.example.org" port="443" transport="tcp" type="stun"/>
<service host="x" port="1" transport="sctp" type="turn"/>
<service host="ftp.example.org" port="21" transport="tcp" type="ftp"/>
</services></iq>"""


def test_every_usable_stun_and_turn_service_in_order() -> None:
    assert parse_services(ET.fromstring(ANSWER)) == IceServers(
        stun=(StunServer("stun.example.org", 3478),),
        turn=(TurnServer("turn.example.org", 3479, "t", "x", TurnTransport.TCP),
              TurnServer("127.0.0.1", 3480, "1700000000:alice", "c2VjcmV0")))


def test_no_services() -> None:
    assert parse_services(ET.fromstring("<iq xmlns='jabber:client'/>")) == IceServers()
