"""Trusted identities: RFC 4514 distinguished names compared as attribute sets (notation's subset match)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

X509_SUBJECT = "x509.subject"
WILDCARD = "*"
MANDATORY = ("C", "ST", "O")
_SPECIAL = set(',+"\\<>;=# ')

# Short names Go's pkix.Name.String() writes (notation parses the leaf subject from that string).
_SHORT_NAMES = {
    "2.5.4.6": "C",
    "2.5.4.8": "ST",
    "2.5.4.7": "L",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.3": "CN",
    "2.5.4.5": "SERIALNUMBER",
    "2.5.4.9": "STREET",
    "2.5.4.17": "POSTALCODE",
}


class DNError(ValueError):
    """A distinguished name that notation would refuse."""


def _split_unescaped(s: str, seps: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "\\":
            cur.append(s[i : i + 2] if i + 1 < len(s) else ch)
            i += 2
            continue
        if ch in seps:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def _unescape(raw: str, dn: str) -> str:
    # Unescaped leading/trailing spaces are not part of the value (RFC 4514 §3; go-ldap trims them).
    s = raw.strip(" ")
    if raw.endswith("\\ ") and not s.endswith("\\"):
        s += " "
    if s.startswith("#"):
        raise DNError(f"distinguished name {dn!r}: hex-encoded (#...) attribute values are not supported")
    out = bytearray()
    i = 0
    while i < len(s):
        ch = s[i]
        if ch != "\\":
            out += ch.encode()
            i += 1
            continue
        nxt = s[i + 1 : i + 3]
        if len(nxt) == 2 and all(c in "0123456789abcdefABCDEF" for c in nxt):
            out.append(int(nxt, 16))
            i += 3
        elif nxt[:1] and nxt[0] in _SPECIAL:
            out += nxt[0].encode()
            i += 2
        else:
            raise DNError(f"distinguished name {dn!r}: invalid escape sequence at {s[i : i + 3]!r}")
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DNError(f"distinguished name {dn!r}: escaped bytes are not UTF-8") from e


def parse_dn(dn: str) -> dict[str, str]:
    """Parse an RFC 4514 DN into ``{TYPE: value}`` with notation's rules.

    Multi-valued RDNs and repeated attribute types are refused; C, ST and O must be present.
    Attribute types compare case-insensitively (RFC 4514), values exactly.
    """
    attrs: dict[str, str] = {}
    if not dn.strip():
        raise DNError("distinguished name is empty")
    for rdn in _split_unescaped(dn, ",;"):
        if len(_split_unescaped(rdn, "+")) > 1:
            raise DNError(f"distinguished name {dn!r} has a multi-valued RDN ({rdn.strip()!r}), not supported")
        type_part, sep, value_part = rdn.partition("=")
        if not sep:
            raise DNError(f"distinguished name {dn!r}: RDN {rdn.strip()!r} has no '='")
        attr_type = type_part.strip().upper()
        if not attr_type:
            raise DNError(f"distinguished name {dn!r}: RDN {rdn.strip()!r} has no attribute type")
        value = _unescape(value_part, dn)
        if attr_type in attrs:
            raise DNError(f"distinguished name {dn!r} repeats attribute {attr_type}; each may appear once")
        attrs[attr_type] = value
    missing = [m for m in MANDATORY if not attrs.get(m)]
    if missing:
        raise DNError(
            f"distinguished name {dn!r} lacks {', '.join(missing)}: notation requires C, ST and O at a minimum"
        )
    return attrs


def certificate_dn(cert: Certificate) -> dict[str, str]:
    """The certificate subject as ``{TYPE: value}``, or DNError where notation could not match it."""
    attrs: dict[str, str] = {}
    subject = cert.subject.rfc4514_string()
    for rdn in cert.subject.rdns:
        items = list(rdn)
        if len(items) > 1:
            raise DNError(f"certificate subject {subject!r} has a multi-valued RDN, which notation cannot match")
        attr = items[0]
        key = _SHORT_NAMES.get(attr.oid.dotted_string, attr.oid.dotted_string)
        value = attr.value if isinstance(attr.value, str) else attr.value.hex()
        if key in attrs:
            raise DNError(f"certificate subject {subject!r} repeats {key}, which notation cannot match")
        attrs[key] = value
    missing = [m for m in MANDATORY if not attrs.get(m)]
    if missing:
        raise DNError(
            f"certificate subject {subject!r} lacks {', '.join(missing)}; an x509.subject identity needs C, ST, O"
        )
    return attrs


def is_subset(wanted: Mapping[str, str], have: Mapping[str, str]) -> bool:
    """True when every attribute of ``wanted`` is in ``have`` with the same value."""
    return all(have.get(k) == v for k, v in wanted.items())


def parse_identities(identities: Iterable[str]) -> tuple[bool, tuple[tuple[str, dict[str, str]], ...]]:
    """Validate trusted identities as notation does; returns (wildcard, ((raw, parsed DN), ...)).

    Raises DNError for an empty list, ``*`` mixed with others, an unknown prefix (sigverify has no plugins),
    a malformed DN, or two DNs where one is a subset of the other (overlapping).
    """
    ids = list(identities)
    if not ids:
        raise DNError("trusted_identities is empty; use ['*'] to accept any signer the trust store admits")
    if WILDCARD in ids:
        if len(ids) > 1:
            raise DNError("the wildcard identity '*' cannot be combined with other identities")
        return True, ()
    parsed: list[tuple[str, dict[str, str]]] = []
    for ident in ids:
        prefix, sep, value = ident.partition(":")
        if not sep:
            raise DNError(f"trusted identity {ident!r} has no ':' separator; expected 'x509.subject: C=..,ST=..,O=..'")
        if prefix.strip() != X509_SUBJECT:
            raise DNError(
                f"trusted identity {ident!r}: only 'x509.subject:' identities are supported "
                "(other kinds need a notation verification plugin)"
            )
        if not value.strip():
            raise DNError(f"trusted identity {ident!r} has no distinguished name")
        parsed.append((ident, parse_dn(value)))
    for i, (raw1, dn1) in enumerate(parsed):
        for j, (raw2, dn2) in enumerate(parsed):
            if i != j and is_subset(dn1, dn2):
                raise DNError(f"trusted identities overlap: {raw1!r} is contained in {raw2!r}; keep one")
    return False, tuple(parsed)
