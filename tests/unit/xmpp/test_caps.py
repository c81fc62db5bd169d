"""XEP-0115 ``ver`` (jcall/xmpp/caps.py) against the XEP's own worked examples."""

from __future__ import annotations

from jcall.xmpp.caps import Form, Identity, ver, ver_string

DISCO = "http://jabber.org/protocol/"
FEATURES = [f"{DISCO}disco#info", f"{DISCO}muc", f"{DISCO}caps", f"{DISCO}disco#items"]


def test_the_simple_example_of_section_5_2() -> None:
    identities = [Identity("client", "pc", "Exodus 0.9.1")]
    assert ver_string(identities, FEATURES) == (
        "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<"
        "http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<"
        "http://jabber.org/protocol/muc<")
    assert ver(identities, FEATURES) == "QgayPKawpkPSDYmwT/WM94uAlu0="


def test_the_complex_example_of_section_5_3() -> None:
    identities = [Identity("client", "pc", "Psi 0.11", "en"),
                  Identity("client", "pc", "\u03a8 0.11", "el")]
    form = Form("urn:xmpp:dataforms:softwareinfo", {
        "os_version": ("10.5.1",), "os": ("Mac",), "ip_version": ("ipv6", "ipv4"),
        "software": ("Psi",), "software_version": ("0.11",)})
    assert ver_string(identities, FEATURES, [form]) == (
        "client/pc/el/\u03a8 0.11<client/pc/en/Psi 0.11<"
        "http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<"
        "http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<"
        "urn:xmpp:dataforms:softwareinfo<ip_version<ipv4<ipv6<os<Mac<os_version<10.5.1<"
        "software<Psi<software_version<0.11<")
    assert ver(identities, FEATURES, [form]) == "q07IKJEyjvHSyhy//CH0CxmKi8w="


def test_order_does_not_matter_and_sha_256_is_offered() -> None:
    identities = [Identity("client", "pc", "jcall")]
    assert ver(identities, FEATURES) == ver(identities, list(reversed(FEATURES)))
    assert len(ver(identities, FEATURES, algorithm="sha-256")) == 44


def test_a_disco_answer_reads_into_the_simple_examples_ver() -> None:
    """XEP-0115 section 5.2, as the disco#info result a peer would send."""
    import xml.etree.ElementTree as ET

    from jcall.xmpp.caps import from_disco

    query = ET.fromstring(
        "<query xmlns='http://jabber.org/protocol/disco#info'"
        " node='http://code.google.com/p/exodus#QgayPKawpkPSDYmwT/WM94uAlu0='>"
        "<identity category='client' name='Exodus 0.9.1' type='pc'/>"
        "<feature var='http://jabber.org/protocol/caps'/>"
        "<feature var='http://jabber.org/protocol/disco#info'/>"
        "<feature var='http://jabber.org/protocol/disco#items'/>"
        "<feature var='http://jabber.org/protocol/muc'/></query>")
    info = from_disco(query)
    assert info is not None
    assert ver(*info) == "QgayPKawpkPSDYmwT/WM94uAlu0="
    twice = ET.fromstring(ET.tostring(query))
    twice.append(ET.fromstring("<feature xmlns='http://jabber.org/protocol/disco#info'"
                               " var='http://jabber.org/protocol/muc'/>"))
    assert from_disco(twice) is None  # duplicate features: not verifiable (section 5.4)
