"""Tests written for surviving mutants of crypto/fulcio.py and crypto/certificates.py: each pins one decision."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sigverify.crypto.certificates import load_certificate_pem, verify_fulcio_certificate
from sigverify.crypto.fulcio import (
    FULCIO_PREFIX,
    ISSUER_V1_OID,
    ISSUER_V2_OID,
    OTHERNAME_OID,
    CertIdentity,
    IdentityError,
    decode_der_utf8string,
    identity_of,
)
from sigverify.crypto.trustroot import TrustStore
from sigverify.errors import Failure
from sigverify.models import Code
from tests.fixtures.testsigstore import TestSigstore, test_sigstore

__all__ = ["test_sigstore"]  # the fixture

# -- decode_der_utf8string: every length form at its edges ---------------------------------------------------------


def test_der_utf8string_short_form_edges() -> None:
    assert decode_der_utf8string(b"\x0c\x00") == ""  # two bytes are a whole (empty) string
    assert decode_der_utf8string(b"\x0c\x7f" + b"a" * 0x7F) == "a" * 0x7F
    assert decode_der_utf8string(b"\x0c\x02" + "é".encode()) == "é"


@pytest.mark.parametrize("data", [b"", b"\x0c", b"\x04\x00", b"\x13\x01a"],
                         ids=["empty", "tag-only", "octet", "printable"])
def test_der_utf8string_needs_tag_0c_and_a_length(data: bytes) -> None:
    with pytest.raises(IdentityError, match="expected a DER UTF8String"):
        decode_der_utf8string(data)


def test_der_utf8string_minimal_long_forms_decode() -> None:
    assert decode_der_utf8string(b"\x0c\x81\x80" + b"b" * 0x80) == "b" * 0x80  # smallest one-byte long form
    assert decode_der_utf8string(b"\x0c\x82\x01\x00" + b"c" * 0x100) == "c" * 0x100  # second length byte 0


def test_der_utf8string_four_length_bytes_are_allowed() -> None:
    size = 0x01000000  # the smallest length that needs four bytes (16 MiB)
    assert len(decode_der_utf8string(b"\x0c\x84\x01\x00\x00\x00" + b"d" * size)) == size


@pytest.mark.parametrize("data", [b"\x0c\x81\x05hello", b"\x0c\x82\x00\x80" + b"e" * 0x80],
                         ids=["long-form-for-short", "leading-zero"])
def test_der_utf8string_non_minimal_lengths_are_refused(data: bytes) -> None:
    with pytest.raises(IdentityError, match="non-minimal DER length"):
        decode_der_utf8string(data)


def test_der_utf8string_indefinite_length_is_refused() -> None:
    with pytest.raises(IdentityError, match="invalid DER length"):
        decode_der_utf8string(b"\x0c\x80" + b"f" * 0x80)  # 0x80 is not a short length of 128


# -- identity_of: which SANs and extensions count -------------------------------------------------------------------


def _cert(sans: list[x509.GeneralName], extra: list[x509.ExtensionType] | None = None) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t")])
    now = _dt.datetime.now(_dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(1).not_valid_before(now).not_valid_after(now + _dt.timedelta(minutes=5))
               .add_extension(x509.SubjectAlternativeName(sans), critical=True))
    for ext in extra or []:
        builder = builder.add_extension(ext, critical=False)
    return builder.sign(key, hashes.SHA256())


def _raw(oid: str, value: bytes) -> x509.UnrecognizedExtension:
    return x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), value)


def test_identity_kinds_are_named_exactly() -> None:
    uri = identity_of(_cert([x509.UniformResourceIdentifier("https://ci.example/wf")]))
    assert (uri.subject_type, uri.subject) == ("uri", "https://ci.example/wf")
    dns = identity_of(_cert([x509.DNSName("build.example")]))
    assert (dns.subject_type, dns.subject) == ("dns", "build.example")
    other = identity_of(_cert([x509.OtherName(x509.ObjectIdentifier(OTHERNAME_OID), b"\x0c\x05alice")]))
    assert (other.subject_type, other.subject) == ("othername", "alice")


def test_an_other_name_of_another_type_is_not_an_identity() -> None:
    foreign = x509.OtherName(x509.ObjectIdentifier("1.2.3.4"), b"\x0c\x03bob")
    ident = identity_of(_cert([x509.UniformResourceIdentifier("https://ci.example/wf"), foreign]))
    assert (ident.subject_type, ident.subject) == ("uri", "https://ci.example/wf")


def test_extensions_outside_the_fulcio_arc_are_not_read() -> None:
    cert = _cert([x509.RFC822Name("a@example.com")],
                 [_raw("1.3.6.1.4.1.99999.1", b"\xff\x00 not DER"), _raw(ISSUER_V1_OID, b"https://issuer.example")])
    ident = identity_of(cert)
    assert ident.extensions == {ISSUER_V1_OID: "https://issuer.example"}
    assert ident.issuer == "https://issuer.example"


# -- CertIdentity.claim / to_dict -----------------------------------------------------------------------------------


def test_issuer_claim_is_the_effective_issuer_whichever_extension_holds_it() -> None:
    legacy = CertIdentity("s", "uri", "https://legacy.example", {ISSUER_V1_OID: "https://legacy.example"})
    assert legacy.claim("issuer") == "https://legacy.example"
    both = CertIdentity("s", "uri", "https://v2.example", {ISSUER_V1_OID: "https://v1.example",
                                                            ISSUER_V2_OID: "https://v2.example"})
    assert both.claim("issuer") == "https://v2.example"
    assert both.claim(ISSUER_V2_OID) == "https://v2.example"
    assert both.claim(ISSUER_V1_OID) == "https://v1.example"


def test_to_dict_names_known_claims_and_keeps_unknown_oids() -> None:
    unknown = FULCIO_PREFIX + "999"
    ident = CertIdentity("s", "email", "https://i.example", {ISSUER_V1_OID: "https://i.example", unknown: "x"})
    out = ident.to_dict()
    assert set(out) == {"subject", "subject_type", "issuer", "claims"}
    assert (out["subject"], out["subject_type"], out["issuer"]) == ("s", "email", "https://i.example")
    assert out["claims"] == {"issuer_v1": "https://i.example", unknown: "x"}


# -- certificates ---------------------------------------------------------------------------------------------------


def test_load_certificate_pem_takes_bytes_and_text(test_sigstore: TestSigstore) -> None:
    pem = test_sigstore.issue().cert.public_bytes(serialization.Encoding.PEM)
    assert load_certificate_pem(pem, "c") == load_certificate_pem(pem.decode(), "c")


def test_a_caller_may_allow_no_sct_when_the_root_lists_no_ct_log(test_sigstore: TestSigstore, tmp_path: Path) -> None:
    doc = test_sigstore.trusted_root()
    doc["ctlogs"] = []
    path = tmp_path / "no-ctlogs.json"
    path.write_text(json.dumps(doc))
    signer = test_sigstore.issue(sct=False)
    when = test_sigstore.now
    verify_fulcio_certificate(signer.cert, when, TrustStore(str(path)), sct_optional_without_ct_logs=True)
    with pytest.raises(Failure) as e:
        verify_fulcio_certificate(signer.cert, when, TrustStore(str(path)))
    assert e.value.code == Code.CERTIFICATE_INVALID
