"""Entity capabilities: the ``ver`` of XEP-0115 section 5. Pure.

A client's ``<c>`` presence element names its features by a hash of its service
discovery identity, so a peer learns them once per software version, not once per
contact (cached by ``ver``). jcall will advertise its Jingle features this way,
beside Google's legacy ``ext="voice-v1"`` (issue 13); this module computes and
verifies ``ver``, nothing else.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

HASHES = {"sha-1": hashlib.sha1, "sha-256": hashlib.sha256}  # (IANA names, section 5.1)


@dataclass(frozen=True)
class Identity:
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
