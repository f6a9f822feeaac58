"""Fulcio certificate identities: decode the SAN, the OIDC issuer and the Fulcio extensions (claims)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sigverify.crypto import claims as _claims

if TYPE_CHECKING:
    from cryptography.x509 import Certificate


FULCIO_PREFIX = _claims.FULCIO_ARC
OTHERNAME_OID = FULCIO_PREFIX + "7"
ISSUER_V1_OID = FULCIO_PREFIX + "1"
ISSUER_V2_OID = FULCIO_PREFIX + "8"

# snake_case claim names <-> OID, and the raw-encoded OIDs: one set of tables, shared with the config loader
# (sigverify/policy/claims.py). Only the ``issuer`` alias (effective issuer) is the verifier's own (claim_oid).
CLAIM_OIDS = _claims.CLAIM_OIDS
_RAW_OIDS = _claims.RAW_ENCODED
_NAME_FOR_OID = _claims.CLAIM_NAMES


class IdentityError(ValueError):
    """A certificate whose identity cannot be read (no SAN, several SANs, undecodable extension)."""


def claim_oid(name_or_oid: str) -> str | None:
    """The OID for a claim written by snake_case name or dotted OID (any 1.3.6.1.4.1.57264.1.* but .7);
    ``issuer`` names the effective issuer (.8, else .1)."""
    if name_or_oid == "issuer":
        return ISSUER_V2_OID
    return _claims.claim_oid(name_or_oid)


def decode_der_utf8string(data: bytes) -> str:
    """Decode exactly one DER UTF8String (tag 0x0C; short or long-form length)."""
    if len(data) < 2 or data[0] != 0x0C:
        raise IdentityError(f"expected a DER UTF8String (tag 0x0C), found tag 0x{data[:1].hex() or '??'}")
    first = data[1]
    if first < 0x80:
        length, start = first, 2
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or len(data) < 2 + n:
            raise IdentityError("invalid DER length in UTF8String")
        length = int.from_bytes(data[2 : 2 + n], "big")
        if length < 0x80 or data[2] == 0:
            raise IdentityError("non-minimal DER length in UTF8String")
        start = 2 + n
    if start + length != len(data):
        raise IdentityError("DER UTF8String length does not match the extension value")
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as e:
        raise IdentityError(f"UTF8String is not valid UTF-8: {e}") from None


@dataclass(frozen=True)
class CertIdentity:
    """What a Fulcio certificate says about its holder."""

    subject: str  # the SAN value (email, URI or OtherName username)
    subject_type: str  # email | uri | othername
    issuer: str | None  # OIDC issuer (.8, else .1)
    extensions: Mapping[str, str] = field(default_factory=dict)  # Fulcio OID -> decoded string

    @property
    def label(self) -> str:
        return f"{self.subject} (issuer {self.issuer or 'none'})"

    def claim(self, name_or_oid: str) -> str | None:
        oid = claim_oid(name_or_oid)
        if oid == ISSUER_V2_OID and name_or_oid == "issuer":
            return self.issuer
        return None if oid is None else self.extensions.get(oid)

    def to_dict(self) -> dict[str, object]:
        claims = {_NAME_FOR_OID.get(oid, oid): v for oid, v in sorted(self.extensions.items())}
        return {"subject": self.subject, "subject_type": self.subject_type, "issuer": self.issuer, "claims": claims}


def identity_of(cert: Certificate) -> CertIdentity:
    """Read SAN, issuer and every Fulcio extension. Raises ``IdentityError`` for an unreadable identity."""
    from cryptography import x509

    try:
        san_ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        raise IdentityError("the certificate has no SubjectAlternativeName") from None
    names: list[tuple[str, str]] = []
    for gn in san_ext.value:
        if isinstance(gn, x509.RFC822Name):
            names.append(("email", gn.value))
        elif isinstance(gn, x509.UniformResourceIdentifier):
            names.append(("uri", gn.value))
        elif isinstance(gn, x509.OtherName) and gn.type_id.dotted_string == OTHERNAME_OID:
            names.append(("othername", decode_der_utf8string(gn.value)))
        elif isinstance(gn, x509.DNSName):
            names.append(("dns", gn.value))
    if len(names) != 1:
        raise IdentityError(f"a Fulcio certificate has exactly one SAN, this one has {len(names)}")
    exts: dict[str, str] = {}
    for ext in cert.extensions:
        oid = ext.oid.dotted_string
        if not oid.startswith(FULCIO_PREFIX) or not isinstance(ext.value, x509.UnrecognizedExtension):
            continue
        raw = ext.value.value
        if oid in _RAW_OIDS:
            try:
                exts[oid] = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise IdentityError(f"extension {oid} is not UTF-8") from None
        else:
            exts[oid] = decode_der_utf8string(raw)
    issuer = exts.get(ISSUER_V2_OID) or exts.get(ISSUER_V1_OID)
    kind, value = names[0]
    return CertIdentity(subject=value, subject_type=kind, issuer=issuer, extensions=exts)
