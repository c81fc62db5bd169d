"""STUN Binding messages in the form Google ICE uses (gingle.md part F), pure.

Google ICE checks are RFC 3489 Binding requests: a 16-byte transaction id with no
magic cookie, a USERNAME (the remote candidate's username followed by the local one),
and no MESSAGE-INTEGRITY, FINGERPRINT or ICE attributes. The answer is a Binding
success response with MAPPED-ADDRESS (RFC 3489 section 11.2.1, never XOR) and the
request's USERNAME echoed. libjingle >= 0.5.7 writes the RFC 5389 cookie form instead,
so both forms are read and a response always takes the form of its request.

Attribute lengths differ between the old writers: libjingle writes the exact length
and no padding; libnice (RFC 3489 compatibility) rounds the length field itself up
to a multiple of four and zero-fills. In the classic form an attribute therefore
ends exactly where its length says, and trailing NULs of a USERNAME are padding.
In the cookie form (RFC 5389 section 15) values are padded to four bytes after the
stated length. jcall writes the classic form libnice's way, which libjingle reads
the same whenever a value's length is a multiple of four (usernames are 2 x 16).

aioice's codec does not fit: it always writes the cookie into the transaction id,
which breaks a classic peer's matching of the response to its request (part G).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from enum import IntEnum

HEADER = struct.Struct("!HH16s")
ATTR = struct.Struct("!HH")
MAGIC_COOKIE = bytes.fromhex("2112a442")  # RFC 5389 section 6
TRANSACTION_ID_BYTES = 16

ATTR_MAPPED_ADDRESS = 0x0001
ATTR_USERNAME = 0x0006
ATTR_ERROR_CODE = 0x0009
ATTR_XOR_MAPPED_ADDRESS = 0x0020
FAMILY_IPV4, FAMILY_IPV6 = 0x01, 0x02
MAX_USERNAME_BYTES = 513  # RFC 5389 section 15.3


class StunFormatError(ValueError):
    """Not a STUN Binding message jcall can read."""


class Kind(IntEnum):
    """Binding message types (RFC 3489 section 11.1)."""

    REQUEST = 0x0001
    SUCCESS = 0x0101
    ERROR = 0x0111


@dataclass(frozen=True)
class Binding:
    """One Binding request or response; ``transaction_id`` is all 16 bytes (in the
    cookie form its first four are the magic cookie)."""

    kind: Kind
    transaction_id: bytes
    username: bytes | None = None
    mapped_address: tuple[str, int] | None = None
    error: tuple[int, str] | None = None

    @property
    def classic(self) -> bool:
        """RFC 3489 form: no magic cookie."""
        return self.transaction_id[:4] != MAGIC_COOKIE


def is_stun(data: bytes) -> bool:
    """STUN starts with two zero bits and is at least a header long (RFC 7983 section 7;
    RTP starts with version bits 10)."""
    return len(data) >= HEADER.size and data[0] < 4


def parse(data: bytes) -> Binding:
    """Read a Binding request, success or error response, in either form."""
    if len(data) < HEADER.size:
        raise StunFormatError("STUN message shorter than its 20-byte header")
    mtype, length, tid = HEADER.unpack_from(data)
    try:
        kind = Kind(mtype)
    except ValueError:
        raise StunFormatError(f"not a Binding message: type 0x{mtype:04x}") from None
    if length != len(data) - HEADER.size:
        raise StunFormatError(f"STUN length {length} does not match the {len(data)}-byte "
                              "datagram")
    classic = tid[:4] != MAGIC_COOKIE
    fields: dict[str, object] = {}
    pos = HEADER.size
    while pos < len(data):
        if pos + ATTR.size > len(data):
            raise StunFormatError("STUN attribute header truncated")
        atype, alen = ATTR.unpack_from(data, pos)
        start = pos + ATTR.size
        end = start + alen
        if end > len(data):
            raise StunFormatError(f"STUN attribute 0x{atype:04x} overruns the message")
        _read_attribute(atype, data[start:end], tid, fields)
        pos = end if classic else end + (-alen % 4)
    return Binding(kind=kind, transaction_id=tid, **fields)  # type: ignore[arg-type]


def _read_attribute(atype: int, value: bytes, tid: bytes, fields: dict[str, object]) -> None:
    if atype == ATTR_USERNAME:
        if len(value) > MAX_USERNAME_BYTES:
            raise StunFormatError("STUN USERNAME longer than 513 bytes")
        fields["username"] = value.rstrip(b"\0")
    elif atype == ATTR_MAPPED_ADDRESS:
        fields.setdefault("mapped_address", _read_address(value))
    elif atype == ATTR_XOR_MAPPED_ADDRESS:
        fields["mapped_address"] = _read_address(value, xor=tid)
    elif atype == ATTR_ERROR_CODE:
        if len(value) < 4:
            raise StunFormatError("STUN ERROR-CODE shorter than 4 bytes")
        code = (value[2] & 0x07) * 100 + value[3]
        fields["error"] = (code, value[4:].rstrip(b"\0").decode("utf-8", "replace"))
    # Anything else (SOFTWARE, FINGERPRINT, ...) means nothing to Google ICE.


def _read_address(value: bytes, xor: bytes | None = None) -> tuple[str, int]:
    """MAPPED-ADDRESS (RFC 3489 section 11.2.1) or XOR-MAPPED-ADDRESS (RFC 5389 15.2)."""
    if len(value) < 4:
        raise StunFormatError("STUN address attribute truncated")
    family, port = value[1], struct.unpack_from("!H", value, 2)[0]
    size = {FAMILY_IPV4: 4, FAMILY_IPV6: 16}.get(family)
    if size is None or len(value) < 4 + size:
        raise StunFormatError(f"STUN address of family {family} is malformed")
    raw = value[4:4 + size]
    if xor is not None:
        port ^= 0x2112
        raw = bytes(a ^ b for a, b in zip(raw, xor, strict=False))
    return str(ipaddress.ip_address(raw)), port


def encode(msg: Binding) -> bytes:
    """Serialize in the form of ``msg.transaction_id`` (classic unless it has the cookie)."""
    if len(msg.transaction_id) != TRANSACTION_ID_BYTES:
        raise ValueError("a STUN transaction id here is 16 bytes")
    body = b""
    if msg.mapped_address is not None:
        body += _attribute(ATTR_MAPPED_ADDRESS, _address(msg.mapped_address), msg.classic)
    if msg.username is not None:
        body += _attribute(ATTR_USERNAME, msg.username, msg.classic)
    if msg.error is not None:
        code, reason = msg.error
        value = bytes((0, 0, code // 100, code % 100)) + reason.encode()
        body += _attribute(ATTR_ERROR_CODE, value, msg.classic)
    return HEADER.pack(msg.kind, len(body), msg.transaction_id) + body


def _attribute(atype: int, value: bytes, classic: bool) -> bytes:
    pad = b"\0" * (-len(value) % 4)
    # classic: the length covers the padding (libnice's RFC 3489 form); RFC 5389: it does not
    length = len(value) + len(pad) if classic else len(value)
    return ATTR.pack(atype, length) + value + pad


def _address(addr: tuple[str, int]) -> bytes:
    ip = ipaddress.ip_address(addr[0])
    family = FAMILY_IPV4 if ip.version == 4 else FAMILY_IPV6
    return struct.pack("!BBH", 0, family, addr[1]) + ip.packed


def request(transaction_id: bytes, username: bytes) -> bytes:
    """A Google ICE ping."""
    return encode(Binding(Kind.REQUEST, transaction_id, username=username))


def success(req: Binding, source: tuple[str, int]) -> bytes:
    """The answer to ``req`` from ``source``: its mapped address and USERNAME echoed."""
    return encode(Binding(Kind.SUCCESS, req.transaction_id, username=req.username,
                          mapped_address=source))


def error(req: Binding, code: int, reason: str) -> bytes:
    return encode(Binding(Kind.ERROR, req.transaction_id, username=req.username,
                          error=(code, reason)))
