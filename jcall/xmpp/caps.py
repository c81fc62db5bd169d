"""Entity capabilities: the ``ver`` of XEP-0115 section 5. Pure.

A client's ``<c>`` presence element names its features by a hash of its service
discovery identity, so a peer learns them once per software version, not once per
contact (cached by ``ver``). jcall advertises its Jingle features this way, beside
Google's legacy ``ext="voice-v1"``; this module computes ``ver`` and reads a
service discovery answer (XEP-0030 section 3.1) into what ``ver`` is made of.
"""

from __future__ import annotations

import base64
import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field

HASHES = {"sha-1": hashlib.sha1, "sha-256": hashlib.sha256}  # (IANA names, section 5.1)


@dataclass(frozen=True)
class Identity:
    """A service discovery identity (XEP-0030 section 3.1)."""

    category: str
    type: str
    name: str = ""
    lang: str = ""


@dataclass(frozen=True)
class Form:
    """An extended service discovery form (XEP-0128): its FORM_TYPE and fields."""

    form_type: str
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)


def ver_string(identities: Iterable[Identity], features: Iterable[str],
               forms: Iterable[Form] = ()) -> str:
    """The string S of section 5.1: identities, features and forms, each sorted, each
    item followed by '<'."""
    out = []
    for ident in sorted(identities, key=lambda i: (i.category, i.type, i.lang, i.name)):
        out.append(f"{ident.category}/{ident.type}/{ident.lang}/{ident.name}<")
    out.extend(f"{feature}<" for feature in sorted(features))
    for form in sorted(forms, key=lambda f: f.form_type):
        out.append(f"{form.form_type}<")
        for var in sorted(form.fields):
            out.append(f"{var}<")
            out.extend(f"{value}<" for value in sorted(form.fields[var]))
    return "".join(out)


def ver(identities: Iterable[Identity], features: Iterable[str],
        forms: Iterable[Form] = (), algorithm: str = "sha-1") -> str:
    """Base64 of the hash of S (sections 5.1 and 5.4)."""
    digest = HASHES[algorithm](ver_string(identities, features, forms).encode()).digest()
    return base64.b64encode(digest).decode("ascii")


NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_DATA = "jabber:x:data"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def from_disco(query: ET.Element) -> tuple[list[Identity], list[str], list[Form]] | None:
    """Identities, features and forms of a disco#info ``<query>``; None when it breaks
    a rule of section 5.4 (duplicate identities or features, a form without a
    hidden FORM_TYPE), as such an answer cannot be verified."""
    identities = [Identity(i.get("category", ""), i.get("type", ""), i.get("name", ""),
                           i.get(XML_LANG, ""))
                  for i in query.findall(f"{{{NS_DISCO_INFO}}}identity")]
    features = [f.get("var", "") for f in query.findall(f"{{{NS_DISCO_INFO}}}feature")]
    if len(set(identities)) != len(identities) or len(set(features)) != len(features):
        return None
    forms = []
    for x in query.findall(f"{{{NS_DATA}}}x"):
        fields: dict[str, tuple[str, ...]] = {}
        form_type = None
        for fld in x.findall(f"{{{NS_DATA}}}field"):
            values = tuple(v.text or "" for v in fld.findall(f"{{{NS_DATA}}}value"))
            if fld.get("var") == "FORM_TYPE":
                if fld.get("type") != "hidden" or len(values) != 1:
                    return None
                form_type = values[0]
            elif fld.get("var"):
                fields[fld.get("var", "")] = values
        if form_type is None:
            return None
        forms.append(Form(form_type, fields))
    return identities, features, forms
