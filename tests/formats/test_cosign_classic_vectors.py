"""Real cosign output (MANIFEST.md section A, containers/image fixtures) through the cosign classic verifier."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from sigverify.crypto import rekor
from sigverify.crypto.trustroot import TrustStore
from sigverify.models import Candidate, Code, Descriptor, Format
from tests.fixtures.cosign_sign import FakeRekor, verify_candidate

PREFIX = b"\x00sigstore-json\n"
PROD_REKOR_LOG_ID = "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"


@pytest.fixture(scope="module")
def fixtures(vectors: Path) -> Path:
    return vectors / "containers-image" / "signature" / "fixtures"


def load_candidate(path: Path, subject: str) -> Candidate:
    raw = path.read_bytes()
    assert raw.startswith(PREFIX)
    doc = json.loads(raw[len(PREFIX) :])
    blob = base64.b64decode(doc["payload"])
    layer = Descriptor(
        doc["mimeType"], "sha256:" + hashlib.sha256(blob).hexdigest(), len(blob), doc.get("annotations", {})
    )
    return Candidate(Format.COSIGN_CLASSIC, "vector", subject, "sha256:" + "0" * 64, layer, blob)


def manifest_digest(d: Path) -> str:
    return "sha256:" + hashlib.sha256((d / "manifest.json").read_bytes()).hexdigest()


def run(
    fixtures: Path,
    name: str,
    key: str,
    *,
    sig: str = "signature-1",
    tlog: str = "ignore",
    trust: TrustStore | None = None,
    digest: str | None = None,
):  # type: ignore[no-untyped-def]
    d = fixtures / name
    digest = digest or manifest_digest(d)
    cand = load_candidate(d / sig, digest)
    return verify_candidate(
        cand, key_pem=(fixtures / key).read_bytes(), digest=digest, tlog=tlog, trust=trust, source=key
    )


# (vector, directory, signature file, key, expected code or None for PASS)
CASES = [
    ("A1", "dir-img-cosign-valid", "signature-1", "cosign.pub", None),
    ("A2", "dir-img-cosign-valid-with-tag", "signature-1", "cosign.pub", None),
    ("A3", "dir-img-cosign-valid-2", "signature-1", "cosign.pub", None),
    ("A3", "dir-img-cosign-valid-2", "signature-2", "cosign.pub", None),
    ("A4", "dir-img-cosign-mixed", "signature-1", "cosign.pub", Code.INVALID_SIGNATURE),
    ("A4", "dir-img-cosign-mixed", "signature-2", "cosign.pub", None),
    ("A6", "dir-img-cosign-modified-manifest", "signature-1", "cosign.pub", Code.DIGEST_MISMATCH),
    ("A7", "dir-img-cosign-manifest-digest-error", "signature-1", "cosign.pub", Code.DIGEST_MISMATCH),
    ("A8", "dir-img-cosign-other-attachment", "signature-1", "cosign.pub", Code.UNSUPPORTED_FORMAT),
    ("A10", "dir-img-cosign-key-rekor-valid", "signature-1", "cosign2.pub", None),
    ("A10", "dir-img-cosign-key-rekor-valid", "signature-1", "cosign.pub", Code.INVALID_SIGNATURE),
]


@pytest.mark.parametrize(
    ("vector", "name", "sig", "key", "expected"), CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}-{c[3]}" for c in CASES]
)
def test_vector_with_tlog_ignored(
    fixtures: Path, vector: str, name: str, sig: str, key: str, expected: str | None
) -> None:
    check = run(fixtures, name, key, sig=sig)
    if expected is None:
        assert check.ok, check.reason
        assert check.reason is None
        pub = (fixtures / key).read_bytes()
        der = base64.b64decode(b"".join(pub.strip().splitlines()[1:-1]))
        assert check.signer == "sha256:" + hashlib.sha256(der).hexdigest()
    else:
        assert not check.ok
        assert check.reason is not None and check.reason.code == expected, check.reason


def test_a4_mixed_image_passes_because_one_layer_verifies(fixtures: Path) -> None:
    results = [run(fixtures, "dir-img-cosign-mixed", "cosign.pub", sig=s) for s in ("signature-1", "signature-2")]
    assert [r.ok for r in results] == [False, True]


def test_a5_unknown_key_signature_fails_and_names_the_key(fixtures: Path) -> None:
    digest = manifest_digest(fixtures / "dir-img-cosign-valid")
    cand = load_candidate(fixtures / "unknown-cosign-key.signature", digest)
    check = verify_candidate(cand, key_pem=(fixtures / "cosign.pub").read_bytes(), digest=digest, source="cosign.pub")
    assert not check.ok and check.reason is not None
    assert check.reason.code == Code.INVALID_SIGNATURE
    assert "cosign.pub" in check.reason.message and "sha256:" in check.reason.message
    assert check.signer is None


def test_a6_reports_expected_and_signed_digest(fixtures: Path) -> None:
    check = run(fixtures, "dir-img-cosign-modified-manifest", "cosign.pub")
    assert check.reason is not None
    assert check.reason.expected == manifest_digest(fixtures / "dir-img-cosign-modified-manifest")
    assert check.reason.found is not None and check.reason.found.startswith("sha256:634a8f35")
    assert check.signer is not None  # the signature itself verified


def test_a9_no_manifest_signature_is_bound_to_its_own_digest_only(fixtures: Path) -> None:
    other = "sha256:" + "1" * 64
    cand = load_candidate(fixtures / "dir-img-cosign-no-manifest" / "signature-1", other)
    check = verify_candidate(cand, key_pem=(fixtures / "cosign.pub").read_bytes(), digest=other)
    assert not check.ok and check.reason is not None and check.reason.code == Code.DIGEST_MISMATCH


def test_a2_non_string_annotation_never_equals_a_string(fixtures: Path) -> None:
    d = fixtures / "dir-img-cosign-valid-with-tag"
    digest = manifest_digest(d)
    cand = load_candidate(d / "signature-1", digest)
    pem = (fixtures / "cosign.pub").read_bytes()
    ok = verify_candidate(cand, key_pem=pem, digest=digest, annotations={"creator": "containers/image 5.21.2-dev"})
    assert ok.ok, ok.reason
    bad = verify_candidate(cand, key_pem=pem, digest=digest, annotations={"timestamp": "1657296609"})
    assert bad.reason is not None and bad.reason.code == Code.ANNOTATION_MISMATCH
    assert "1657296609" in (bad.reason.found or "")


# -- A10: key + Rekor bundle against the EMBEDDED production trusted root ----------------------------------------


def test_a10_tlog_require_passes_with_embedded_production_root(fixtures: Path) -> None:
    check = run(fixtures, "dir-img-cosign-key-rekor-valid", "cosign2.pub", tlog="require", trust=TrustStore())
    assert check.ok, check.reason
    tlog = check.details["tlog"]
    assert tlog["logIndex"] == 11608800
    assert tlog["integratedTime"] == 1674251859
    assert tlog["logID"] == PROD_REKOR_LOG_ID
    assert tlog["kind"] == "hashedrekord 0.0.1"


def test_a10_fails_when_the_only_trusted_rekor_key_is_another(fixtures: Path, tmp_path: Path) -> None:
    """Rekor key := some other key (MANIFEST: with Rekor key := cosign.pub FAIL)."""
    other = FakeRekor()
    root = other.trusted_root()
    root["tlogs"][0]["logId"]["keyId"] = base64.b64encode(bytes.fromhex(PROD_REKOR_LOG_ID)).decode()
    path = tmp_path / "root.json"
    path.write_text(json.dumps(root))
    check = run(fixtures, "dir-img-cosign-key-rekor-valid", "cosign2.pub", tlog="require", trust=TrustStore(str(path)))
    assert not check.ok and check.reason is not None
    assert check.reason.code == Code.TLOG_INVALID
    assert "SignedEntryTimestamp" in check.reason.message


def test_a10_fails_with_cosign_pub_as_rekor_key(fixtures: Path, tmp_path: Path) -> None:
    pub = (fixtures / "cosign.pub").read_bytes()
    der = base64.b64decode(b"".join(pub.strip().splitlines()[1:-1]))
    root = {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [
            {
                "baseUrl": "https://rekor.sigstore.dev",
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": base64.b64encode(der).decode(),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": "2021-01-12T11:53:27Z"},
                },
                "logId": {"keyId": base64.b64encode(bytes.fromhex(PROD_REKOR_LOG_ID)).decode()},
            }
        ],
    }
    path = tmp_path / "root.json"
    path.write_text(json.dumps(root))
    check = run(fixtures, "dir-img-cosign-key-rekor-valid", "cosign2.pub", tlog="require", trust=TrustStore(str(path)))
    assert check.reason is not None and check.reason.code == Code.TLOG_INVALID


def test_a10_fails_with_a_root_that_does_not_know_the_log(fixtures: Path, tmp_path: Path) -> None:
    path = FakeRekor().write_trusted_root(tmp_path / "root.json")
    check = run(fixtures, "dir-img-cosign-key-rekor-valid", "cosign2.pub", tlog="require", trust=TrustStore(str(path)))
    assert check.reason is not None and check.reason.code == Code.TLOG_INVALID
    assert check.reason.found == PROD_REKOR_LOG_ID


def test_a1_without_bundle_fails_tlog_require_with_a_tip(fixtures: Path) -> None:
    check = run(fixtures, "dir-img-cosign-valid", "cosign.pub", tlog="require")
    assert check.reason is not None and check.reason.code == Code.TLOG_INVALID
    assert "tlog: ignore" in check.reason.message


# -- A13: the standalone SET vector (rekor-set/payload/sig/cert) ---------------------------------------------------


def test_a13_standalone_set_verifies_and_binds_to_the_certificate_key(vectors: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    d = vectors / "containers-image" / "signature" / "internal" / "testdata"
    cert = x509.load_pem_x509_certificate((d / "rekor-cert").read_bytes())
    key_der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    result = rekor.verify_cosign_bundle(
        (d / "rekor-set").read_text(),
        signature=base64.b64decode((d / "rekor-sig").read_text().strip()),
        key_der=key_der,
        payload=(d / "rekor-payload").read_bytes(),
        keys=TrustStore().rekor_keys(),
    )
    assert result.log_id == PROD_REKOR_LOG_ID
    with pytest.raises(rekor.TlogError, match="another payload"):
        rekor.verify_cosign_bundle(
            (d / "rekor-set").read_text(),
            signature=base64.b64decode((d / "rekor-sig").read_text().strip()),
            key_der=key_der,
            payload=(d / "rekor-payload").read_bytes() + b" ",
            keys=TrustStore().rekor_keys(),
        )


def test_a13_rekor_pub_is_the_embedded_production_key(vectors: Path) -> None:
    pem = (vectors / "containers-image" / "signature" / "internal" / "testdata" / "rekor.pub").read_bytes()
    der = base64.b64decode(b"".join(pem.strip().splitlines()[1:-1]))
    assert hashlib.sha256(der).hexdigest() == PROD_REKOR_LOG_ID
    assert [k.der for k in TrustStore().rekor_keys() if k.log_id == PROD_REKOR_LOG_ID] == [der]
