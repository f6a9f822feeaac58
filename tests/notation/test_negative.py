"""Envelopes signed here with chosen defects: each must fail with the right code, and the good ones pass."""

from __future__ import annotations

import base64
import datetime as _dt
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from sigverify.models import Code, Descriptor, SignatureCheck
from tests.notation import signer as sg
from tests.notation.helpers import envelope_candidate, run

SUBJECT = Descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:" + "ab" * 32, 1234)
JWS, COSE = "application/jose+json", "application/cose"
IDENT = "x509.subject: C=US, ST=WA, O=Acme, CN=release"


def store_file(tmp_path: Path, *certs: Any, name: str = "store.pem") -> str:
    path = tmp_path / name
    path.write_bytes(sg.pem(*certs))
    return str(path)


def check(
    tmp_path: Path, env: bytes, media_type: str, trust: sg.Signer, subject: Descriptor = SUBJECT, **cfg: Any
) -> SignatureCheck:
    config: dict[str, Any] = {"trust_store": store_file(tmp_path, trust.root), "trusted_identities": [IDENT]}
    config.update(cfg)
    return run(envelope_candidate(env, media_type, SUBJECT.digest), config, subject)


def assert_fails(result: SignatureCheck, code: str, text: str = "") -> None:
    assert not result.ok, "expected a failure"
    assert result.reason is not None
    assert result.reason.code == code, result.reason
    shown = f"{result.reason.message} {result.reason.found or ''}"
    assert text in shown, shown


@pytest.fixture(scope="module")
def rsa_ca() -> sg.Signer:
    return sg.ca_chain()


@pytest.fixture(scope="module")
def ec_self() -> sg.Signer:
    return sg.self_signed(key=sg.ec_key())


@pytest.mark.parametrize("media_type", [JWS, COSE])
def test_good_ca_chain_passes(tmp_path: Path, rsa_ca: sg.Signer, media_type: str) -> None:
    sign = sg.sign_jws if media_type == JWS else sg.sign_cose
    result = check(tmp_path, sign(rsa_ca, sg.payload(SUBJECT)), media_type, rsa_ca)
    assert result.ok, result.reason
    assert result.signer == "CN=release,O=Acme,ST=WA,C=US"
    assert result.details["checks"] == {
        "integrity": "passed",
        "authenticity": "passed",
        "expiry": "passed",
        "authenticTimestamp": "passed",
        "revocation": "passed",
        "targetArtifact": "passed",
        "metadata": "passed",
    }


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1(), ec.SECP521R1()])
@pytest.mark.parametrize("media_type", [JWS, COSE])
def test_ecdsa_raw_signatures(tmp_path: Path, curve: ec.EllipticCurve, media_type: str) -> None:
    s = sg.self_signed(key=sg.ec_key(curve))
    sign = sg.sign_jws if media_type == JWS else sg.sign_cose
    result = check(tmp_path, sign(s, sg.payload(SUBJECT)), media_type, s)
    assert result.ok, result.reason


@pytest.mark.parametrize("media_type", [JWS, COSE])
def test_tampered_payload(tmp_path: Path, rsa_ca: sg.Signer, media_type: str) -> None:
    sign = sg.sign_jws if media_type == JWS else sg.sign_cose
    env = sign(rsa_ca, sg.payload(SUBJECT), tamper=True)
    assert_fails(check(tmp_path, env, media_type, rsa_ca), Code.INVALID_SIGNATURE, "does not verify")


@pytest.mark.parametrize(
    "override",
    [{"digest": "sha256:" + "cd" * 32}, {"size": 1235}, {"mediaType": "application/vnd.oci.image.index.v1+json"}],
)
def test_target_artifact_must_equal_the_resolved_descriptor(tmp_path: Path, rsa_ca: sg.Signer, override: dict) -> None:
    env = sg.sign_jws(rsa_ca, sg.payload(SUBJECT, **override))
    result = check(tmp_path, env, JWS, rsa_ca)
    assert_fails(result, Code.DIGEST_MISMATCH, "targetArtifact")
    assert result.reason is not None and result.reason.expected is not None and SUBJECT.digest in result.reason.expected


def test_candidate_for_another_digest(tmp_path: Path, rsa_ca: sg.Signer) -> None:
    env = sg.sign_jws(rsa_ca, sg.payload(SUBJECT))
    cand = envelope_candidate(env, JWS, "sha256:" + "99" * 32)
    result = run(cand, {"trust_store": store_file(tmp_path, rsa_ca.root), "trusted_identities": ["*"]}, SUBJECT)
    assert_fails(result, Code.DIGEST_MISMATCH)


def _with_alg(env: bytes, alg: str) -> bytes:
    """The envelope with its protected header's alg replaced (the signature no longer matters)."""
    doc = json.loads(env)
    prot = json.loads(base64.urlsafe_b64decode(doc["protected"] + "=="))
    prot["alg"] = alg
    doc["protected"] = base64.urlsafe_b64encode(json.dumps(prot).encode()).rstrip(b"=").decode()
    return json.dumps(doc).encode()


@pytest.mark.parametrize(("key", "header_alg"), [("rsa", "PS384"), ("rsa", "ES256"), ("ec", "ES384"), ("ec", "PS256")])
def test_algorithm_must_match_the_key(tmp_path: Path, key: str, header_alg: str) -> None:
    s = sg.self_signed(key=sg.rsa_key() if key == "rsa" else sg.ec_key())
    env = _with_alg(sg.sign_jws(s, sg.payload(SUBJECT)), header_alg)
    assert_fails(check(tmp_path, env, JWS, s), Code.INVALID_SIGNATURE, "does not match the signing certificate")


def test_algorithm_must_match_the_key_cose(tmp_path: Path) -> None:
    s = sg.self_signed()  # RSA 2048 -> PS256 only
    env = sg.sign_cose(s, sg.payload(SUBJECT), alg="PS384")
    assert_fails(check(tmp_path, env, COSE, s), Code.INVALID_SIGNATURE, "does not match the signing certificate")


def test_unsupported_algorithm(tmp_path: Path, rsa_ca: sg.Signer) -> None:
    env = _with_alg(sg.sign_jws(rsa_ca, sg.payload(SUBJECT)), "RS256")
    assert_fails(check(tmp_path, env, JWS, rsa_ca), Code.UNSUPPORTED_FORMAT, "algorithm")


def test_rsa_key_size_not_allowed(tmp_path: Path) -> None:
    s = sg.self_signed(key=sg.rsa_key(1024))
    env = sg.sign_jws(s, sg.payload(SUBJECT), alg="PS256")
    assert_fails(check(tmp_path, env, JWS, s), Code.CERTIFICATE_INVALID, "RSA key size 1024")


@pytest.mark.parametrize("media_type", [JWS, COSE])
def test_unknown_critical_header(tmp_path: Path, rsa_ca: sg.Signer, media_type: str) -> None:
    if media_type == JWS:
        env = sg.sign_jws(
            rsa_ca,
            sg.payload(SUBJECT),
            extra={"io.example.policy": "x"},
            crit=["io.cncf.notary.signingScheme", "io.example.policy"],
        )
    else:
        env = sg.sign_cose(
            rsa_ca,
            sg.payload(SUBJECT),
            extra={"io.example.policy": "x"},
            crit=["io.cncf.notary.signingScheme", "io.example.policy"],
        )
    assert_fails(check(tmp_path, env, media_type, rsa_ca), Code.UNSUPPORTED_FORMAT, "'io.example.policy'")


def test_unknown_non_critical_header_is_ignored(tmp_path: Path, rsa_ca: sg.Signer) -> None:
    env = sg.sign_jws(rsa_ca, sg.payload(SUBJECT), extra={"io.example.note": "x"})
    assert check(tmp_path, env, JWS, rsa_ca).ok


def test_expiry_must_be_marked_critical(tmp_path: Path, rsa_ca: sg.Signer) -> None:
    env = sg.sign_jws(
        rsa_ca, sg.payload(SUBJECT), expiry=sg.NOW + _dt.timedelta(days=1), crit=["io.cncf.notary.signingScheme"]
    )
    assert_fails(check(tmp_path, env, JWS, rsa_ca), Code.INVALID_SIGNATURE, "not marked critical")


def test_untagged_cose_is_refused(tmp_path: Path, rsa_ca: sg.Signer) -> None:
    env = sg.sign_cose(rsa_ca, sg.payload(SUBJECT), tagged=False)
    assert_fails(check(tmp_path, env, COSE, rsa_ca), Code.INVALID_SIGNATURE, "tag 18")


def test_jws_general_serialization_is_refused(tmp_path: Path, rsa_ca: sg.Signer) -> None:
    doc = json.loads(sg.sign_jws(rsa_ca, sg.payload(SUBJECT)))
    general = {"payload": doc["payload"], "signatures": [{k: doc[k] for k in ("protected", "header", "signature")}]}
    assert_fails(check(tmp_path, json.dumps(general).encode(), JWS, rsa_ca), Code.UNSUPPORTED_FORMAT, "flattened")


@pytest.mark.parametrize(
    ("identity", "ok"),
    [
        ("x509.subject: C=US, ST=WA, O=Acme", True),  # subset of the leaf subject
        ("x509.subject: C=US, ST=WA, O=Acme, CN=release", True),
        ("x509.subject: CN=release, O=Acme, ST=WA, C=US", True),  # order does not matter
        ("x509.subject: C=US, ST=WA, O=Acme, CN=releas", False),  # not a substring match
        ("x509.subject: C=US, ST=WA, O=Acme Inc", False),
        ("x509.subject: C=US, ST=WA, O=Acme, CN=release, L=Seattle", False),  # more than the subject has
    ],
)
def test_trusted_identity_is_an_attribute_subset(tmp_path: Path, rsa_ca: sg.Signer, identity: str, ok: bool) -> None:
    env = sg.sign_jws(rsa_ca, sg.payload(SUBJECT))
    result = check(tmp_path, env, JWS, rsa_ca, trusted_identities=[identity])
    if ok:
        assert result.ok, result.reason
    else:
        assert_fails(result, Code.IDENTITY_MISMATCH)
        assert result.reason is not None and result.reason.found == "CN=release,O=Acme,ST=WA,C=US"


def test_identity_with_escaped_comma(tmp_path: Path) -> None:
    key = sg.rsa_key()
    cert = sg.make_cert(sg.CertSpec(sg.name("release", O="Acme, Inc."), key))
    s = sg.Signer(key, [cert])
    env = sg.sign_jws(s, sg.payload(SUBJECT))
    ok = check(tmp_path, env, JWS, s, trusted_identities=[r"x509.subject: C=US, ST=WA, O=Acme\, Inc."])
    assert ok.ok, ok.reason
    bad = check(tmp_path, env, JWS, s, trusted_identities=["x509.subject: C=US, ST=WA, O=Acme"])
    assert_fails(bad, Code.IDENTITY_MISMATCH)


def test_wrong_trust_store(tmp_path: Path, rsa_ca: sg.Signer) -> None:
    other = sg.ca_chain()
    env = sg.sign_jws(rsa_ca, sg.payload(SUBJECT))
    assert_fails(check(tmp_path, env, JWS, other), Code.CERTIFICATE_INVALID, "trust store")


def test_trust_store_directory_with_several_files(tmp_path: Path, rsa_ca: sg.Signer) -> None:
    d = tmp_path / "store"
    d.mkdir()
    store_file(d, sg.ca_chain().root, name="a.pem")
    (d / "b.der").write_bytes(sg.der(rsa_ca.root))
    env = sg.sign_jws(rsa_ca, sg.payload(SUBJECT))
    assert check(tmp_path, env, JWS, rsa_ca, trust_store=str(d)).ok


def test_chain_must_be_complete(tmp_path: Path, rsa_ca: sg.Signer) -> None:
    partial = sg.Signer(rsa_ca.key, rsa_ca.chain[:1])
    env = sg.sign_jws(partial, sg.payload(SUBJECT))
    assert_fails(check(tmp_path, env, JWS, rsa_ca), Code.CERTIFICATE_INVALID, "leaf -> root")


@pytest.mark.parametrize(
    ("leaf", "text"),
    [
        ({"eku": [ExtendedKeyUsageOID.SERVER_AUTH]}, "serverAuth"),
        ({"eku": [ExtendedKeyUsageOID.CODE_SIGNING, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE]}, "anyExtendedKey"),
        ({"eku": [ExtendedKeyUsageOID.TIME_STAMPING]}, "timeStamping"),
        ({"eku": None}, ""),  # no EKU at all is allowed
        ({"key_usage": sg._ku(sign=True, cert_sign=False, key_enc=True)}, "keyEncipherment"),
        ({"key_usage": sg._ku(sign=False, cert_sign=False, key_enc=True)}, "digitalSignature"),
    ],
)
def test_leaf_certificate_requirements(tmp_path: Path, leaf: dict[str, Any], text: str) -> None:
    s = sg.ca_chain(leaf=leaf)
    result = check(tmp_path, sg.sign_jws(s, sg.payload(SUBJECT)), JWS, s)
    if not text:
        assert result.ok, result.reason
    else:
        assert_fails(result, Code.CERTIFICATE_INVALID, text)
        assert result.reason is not None and result.reason.message.startswith("integrity:")


def test_ca_needs_key_cert_sign(tmp_path: Path) -> None:
    s = sg.ca_chain(root={"key_usage": sg._ku(sign=True, cert_sign=False)})
    assert_fails(check(tmp_path, sg.sign_jws(s, sg.payload(SUBJECT)), JWS, s), Code.CERTIFICATE_INVALID)


def test_path_length_is_honoured(tmp_path: Path) -> None:
    root_key, mid_key, leaf_key = sg.rsa_key(), sg.rsa_key(), sg.rsa_key()
    root_spec = sg.CertSpec(sg.name("Root"), root_key, ca=True, path_len=0)
    root = sg.make_cert(root_spec)
    mid_spec = sg.CertSpec(sg.name("Mid"), mid_key, ca=True, path_len=0)
    mid = sg.make_cert(mid_spec, (root_spec.subject, root_key))
    leaf = sg.make_cert(sg.CertSpec(sg.name("release"), leaf_key), (mid_spec.subject, mid_key))
    s = sg.Signer(leaf_key, [leaf, mid, root])
    assert_fails(check(tmp_path, sg.sign_jws(s, sg.payload(SUBJECT)), JWS, s), Code.CERTIFICATE_INVALID, "path length")


def test_expired_certificate_fails_strict_and_is_logged_permissive(tmp_path: Path) -> None:
    old = sg.NOW - _dt.timedelta(days=30)
    s = sg.ca_chain(leaf={"not_before": old, "not_after": sg.NOW - _dt.timedelta(days=1)})
    env = sg.sign_jws(s, sg.payload(SUBJECT), signing_time=old + _dt.timedelta(days=1))
    assert_fails(check(tmp_path, env, JWS, s), Code.CERTIFICATE_INVALID, "expired")
    result = check(tmp_path, env, JWS, s, level="permissive")
    assert result.ok and result.details["checks"]["authenticTimestamp"] == "failed (logged)"


def test_signing_authority_time_outside_validity(tmp_path: Path) -> None:
    s = sg.ca_chain()
    env = sg.sign_jws(s, sg.payload(SUBJECT), authority=True, signing_time=sg.NOW - _dt.timedelta(days=10))
    result = check(tmp_path, env, JWS, s, signing_authority=True)
    assert_fails(result, Code.CERTIFICATE_INVALID, "authentic signing time")
    env = sg.sign_jws(s, sg.payload(SUBJECT), authority=True)
    assert check(tmp_path, env, JWS, s, signing_authority=True).ok


@pytest.mark.parametrize(("level", "ok"), [("strict", False), ("permissive", True), ("audit", True)])
def test_revocation_endpoints_cannot_be_checked_offline(tmp_path: Path, level: str, ok: bool) -> None:
    s = sg.ca_chain(leaf={"crl_url": "http://crl.example.test/ca.crl"})
    env = sg.sign_jws(s, sg.payload(SUBJECT))
    result = check(tmp_path, env, JWS, s, level=level)
    if ok:
        assert result.ok
        assert result.details["logged_failures"] == [
            {"check": "revocation", "code": Code.REVOKED, "message": result.details["logged_failures"][0]["message"]}
        ]
        assert "crl.example.test" in result.details["warnings"][0]
    else:
        assert_fails(result, Code.REVOKED, "http://crl.example.test/ca.crl")
    skipped = check(tmp_path, env, JWS, s, level=level, overrides={"revocation": "skip"})
    assert skipped.ok and skipped.details["checks"]["revocation"] == "skipped"


def test_metadata_values_are_compared_exactly(tmp_path: Path, rsa_ca: sg.Signer) -> None:
    env = sg.sign_cose(rsa_ca, sg.payload(SUBJECT, {"buildId": "123", "team": "a"}))
    assert check(tmp_path, env, COSE, rsa_ca, metadata={"buildId": "123"}).ok
    assert_fails(check(tmp_path, env, COSE, rsa_ca, metadata={"buildId": "1234"}), Code.ANNOTATION_MISMATCH)


def test_envelope_bytes_must_match_the_layer_descriptor(tmp_path: Path, rsa_ca: sg.Signer) -> None:
    import dataclasses

    env = sg.sign_jws(rsa_ca, sg.payload(SUBJECT))
    cand = envelope_candidate(env, JWS, SUBJECT.digest)
    other = dataclasses.replace(cand, content=env + b" ")
    cfg = {"trust_store": store_file(tmp_path, rsa_ca.root), "trusted_identities": ["*"]}
    assert_fails(run(other, cfg, SUBJECT), Code.DIGEST_MISMATCH, "layer descriptor")
