"""notation's own e2e OCI layouts (MANIFEST.md F1): candidates built from the layout files, expected verdicts."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from sigverify.models import Code, Descriptor
from tests.notation.helpers import at, layout_candidates, layout_subject, run

LAYOUTS = "notation-e2e/test/e2e/testdata/registry/oci_layout"
KEYS = "notation-e2e/test/e2e/testdata/config/localkeys"


@pytest.fixture(scope="module")
def e2e(notation_vectors: Path) -> Path:
    return notation_vectors


def load(e2e: Path, name: str) -> tuple[Descriptor, list]:
    layout = e2e / LAYOUTS / name
    subject = layout_subject(layout)
    return subject, layout_candidates(layout, subject)


def store(e2e: Path, crt: str, level: str = "strict", **extra: object) -> dict[str, object]:
    return {"trust_store": str(e2e / KEYS / crt), "trusted_identities": ["*"], "level": level, **extra}


def test_unsigned_layout_has_no_candidates(e2e: Path) -> None:
    subject, cands = load(e2e, "e2e")
    assert subject.digest.startswith("sha256:b8479de3")
    assert cands == []


def test_fallback_index_finds_the_legacy_form_signature(e2e: Path) -> None:
    _, cands = load(e2e, "e2e-valid-signature")
    (cand,) = cands
    assert cand.storage == "referrers tag"
    assert cand.artifact_type == "application/vnd.cncf.notary.signature"  # from config.mediaType (legacy form)
    assert cand.layer.media_type == "application/jose+json"


@pytest.mark.parametrize("level", ["strict", "permissive", "audit"])
def test_valid_signature_passes(e2e: Path, level: str) -> None:
    subject, (cand,) = load(e2e, "e2e-valid-signature")
    check = run(cand, store(e2e, "e2e.crt", level), subject)
    assert check.ok, check.reason
    assert check.signer == "CN=e2e,O=Notary,L=Seattle,ST=WA,C=US"
    assert check.details["envelope"] == "jws"
    assert check.details["signing_scheme"] == "notary.x509"
    assert check.details["signing_time"].startswith("2023-06-27")
    assert check.details["level"] == level
    assert "warnings" not in check.details


@pytest.mark.parametrize("level", ["strict", "permissive"])
def test_valid_signature_with_other_trust_store_fails_authenticity(e2e: Path, level: str) -> None:
    subject, (cand,) = load(e2e, "e2e-valid-signature")
    check = run(cand, store(e2e, "new_e2e.crt", level), subject)
    assert not check.ok
    assert check.reason is not None and check.reason.code == Code.CERTIFICATE_INVALID
    assert check.reason.message.startswith("authenticity:")
    assert check.signer == "CN=e2e,O=Notary,L=Seattle,ST=WA,C=US"  # filled on failure too


def test_audit_logs_an_authenticity_failure_as_a_warning(e2e: Path) -> None:
    subject, (cand,) = load(e2e, "e2e-valid-signature")
    check = run(cand, store(e2e, "new_e2e.crt", "audit"), subject)
    assert check.ok
    assert check.details["checks"]["authenticity"] == "failed (logged)"
    assert any("authenticity" in w for w in check.details["warnings"])
    assert check.details["logged_failures"][0]["code"] == Code.CERTIFICATE_INVALID


def test_multiple_signatures_one_trusted(e2e: Path) -> None:
    subject, cands = load(e2e, "e2e-valid-multiple-signatures")
    assert len(cands) == 2
    results = {c.manifest_digest: run(c, store(e2e, "e2e.crt"), subject) for c in cands}
    ok = [r for r in results.values() if r.ok]
    bad = [r for r in results.values() if not r.ok]
    assert len(ok) == 1 and ok[0].signer == "CN=e2e,O=Notary,L=Seattle,ST=WA,C=US"
    assert len(bad) == 1 and bad[0].signer is not None and "testcert11" in bad[0].signer
    assert bad[0].reason is not None and bad[0].reason.code == Code.CERTIFICATE_INVALID


def test_expired_signature_fails_strict(e2e: Path) -> None:
    subject, (cand,) = load(e2e, "e2e-expired-signature")
    check = run(cand, store(e2e, "e2e.crt"), subject)
    assert not check.ok
    assert check.reason is not None and check.reason.code == Code.EXPIRED
    assert check.details["expiry"] == "2023-06-27T13:21:21+08:00"


@pytest.mark.parametrize("level", ["permissive", "audit"])
def test_expired_signature_is_logged_below_strict(e2e: Path, level: str) -> None:
    subject, (cand,) = load(e2e, "e2e-expired-signature")
    check = run(cand, store(e2e, "e2e.crt", level), subject)
    assert check.ok
    assert check.details["checks"]["expiry"] == "failed (logged)"
    assert [f["code"] for f in check.details["logged_failures"]] == [Code.EXPIRED]


def test_expiry_override_to_log_under_strict(e2e: Path) -> None:
    subject, (cand,) = load(e2e, "e2e-expired-signature")
    check = run(cand, store(e2e, "e2e.crt", overrides={"expiry": "log"}), subject)
    assert check.ok
    assert check.details["level"] == "strict+overrides"
    assert check.details["warnings"]


def test_expired_certificate_fails_strict_authentic_timestamp(e2e: Path) -> None:
    subject, (cand,) = load(e2e, "e2e-with-expired-cert")
    check = run(cand, store(e2e, "expired_e2e.crt"), subject)
    assert not check.ok
    assert check.reason is not None and check.reason.code == Code.CERTIFICATE_INVALID
    assert check.reason.message.startswith("authenticTimestamp:")
    assert "expired" in check.reason.message


def test_expired_certificate_passes_permissive_with_warning(e2e: Path) -> None:
    subject, (cand,) = load(e2e, "e2e-with-expired-cert")
    check = run(cand, store(e2e, "expired_e2e.crt", "permissive"), subject)
    assert check.ok
    assert check.details["checks"]["authenticTimestamp"] == "failed (logged)"
    assert any("authenticTimestamp" in w for w in check.details["warnings"])


def test_expired_certificate_passes_strict_when_verified_inside_its_validity(e2e: Path) -> None:
    subject, (cand,) = load(e2e, "e2e-with-expired-cert")
    check = run(cand, store(e2e, "expired_e2e.crt"), subject, now=at("2023-06-26T12:00:00+00:00"))
    assert check.ok, check.reason


@pytest.mark.parametrize("level", ["strict", "permissive", "audit"])
def test_invalid_signature_layer_fails_integrity_at_every_level(e2e: Path, level: str) -> None:
    subject, (cand,) = load(e2e, "e2e-invalid-signature")
    assert cand.layer.media_type == "application/vnd.oci.image.layer.v1.tar"
    check = run(cand, store(e2e, "e2e.crt", level), subject)
    assert not check.ok
    assert check.reason is not None and check.reason.code == Code.UNSUPPORTED_FORMAT
    assert check.reason.message.startswith("integrity:")


def test_invalid_signature_layer_is_not_checked_at_skip(e2e: Path) -> None:
    subject, (cand,) = load(e2e, "e2e-invalid-signature")
    check = run(cand, {"level": "skip"}, subject)
    assert check.ok
    assert check.details["skipped"] is True
    assert "NOT verified" in check.details["warnings"][0]


def _leaf_store(tmp_path: Path, cand_content: bytes) -> Path:
    x5c = json.loads(cand_content)["header"]["x5c"]
    path = tmp_path / "leaf.der"
    path.write_bytes(base64.b64decode(x5c[0]))
    return path


def test_timestamped_signature_without_tsa_trust_fails_now(e2e: Path, tmp_path: Path) -> None:
    subject, (cand,) = load(e2e, "e2e-with-timestamped-signature")
    assert subject.artifact_type is None and subject.digest.startswith("sha256:53b01912")
    cfg = {"trust_store": str(_leaf_store(tmp_path, cand.content)), "trusted_identities": ["*"]}
    check = run(cand, cfg, subject)
    assert not check.ok
    assert check.reason is not None and check.reason.code == Code.EXPIRED  # expiry 2025-01-21 comes first


def test_timestamped_signature_before_expiry_passes_with_metadata(e2e: Path, tmp_path: Path) -> None:
    subject, (cand,) = load(e2e, "e2e-with-timestamped-signature")
    cfg = {
        "trust_store": str(_leaf_store(tmp_path, cand.content)),
        "trusted_identities": ["x509.subject: C=US, ST=WA, O=Notary, CN=testcert7"],
        "metadata": {"purpose": "e2e"},
    }
    check = run(cand, cfg, subject, now=at("2025-01-21T10:00:00+00:00"))
    assert check.ok, check.reason
    cfg["metadata"] = {"purpose": "prod"}
    check = run(cand, cfg, subject, now=at("2025-01-21T10:00:00+00:00"))
    assert not check.ok and check.reason is not None and check.reason.code == Code.ANNOTATION_MISMATCH


def test_timestamp_from_an_untrusted_tsa_fails(e2e: Path, notation_vectors: Path, tmp_path: Path) -> None:
    subject, (cand,) = load(e2e, "e2e-with-timestamped-signature")
    tsa = notation_vectors / "notation-go/verifier/testdata/truststore/x509/tsa/test-timestamp"
    cfg = {"trust_store": str(_leaf_store(tmp_path, cand.content)), "trusted_identities": ["*"], "tsa_store": str(tsa)}
    check = run(cand, cfg, subject, now=at("2025-01-21T10:00:00+00:00"))
    assert not check.ok
    assert check.reason is not None and check.reason.code == Code.CERTIFICATE_INVALID
    assert "tsa trust store" in check.reason.message.lower()


def test_corrupt_timestamp_token_fails_to_parse(e2e: Path, notation_vectors: Path, tmp_path: Path) -> None:
    subject, (cand,) = load(e2e, "e2e-with-invalid-timestamped-signature")
    tsa = notation_vectors / "notation-go/verifier/testdata/truststore/x509/tsa/test-timestamp"
    cfg = {"trust_store": str(_leaf_store(tmp_path, cand.content)), "trusted_identities": ["*"], "tsa_store": str(tsa)}
    check = run(cand, cfg, subject, now=at("2025-01-21T09:00:00+00:00"))
    assert not check.ok
    assert check.reason is not None and check.reason.code == Code.INVALID_SIGNATURE
    assert "failed to parse the timestamp countersignature" in check.reason.message


def test_trust_policy_file_form(e2e: Path, tmp_path: Path) -> None:
    """notation's own trustpolicy.json with a trust store dir laid out as notation expects."""
    subject, (cand,) = load(e2e, "e2e-valid-signature")
    store_dir = tmp_path / "truststore" / "x509" / "ca" / "e2e"
    store_dir.mkdir(parents=True)
    (store_dir / "e2e.crt").write_bytes((e2e / KEYS / "e2e.crt").read_bytes())
    policy = e2e / "notation-e2e/test/e2e/testdata/config/trustpolicies/trustpolicy.json"
    cfg = {"trust_policy": str(policy), "trust_store_dir": str(tmp_path / "truststore")}
    check = run(cand, cfg, subject)
    assert check.ok, check.reason
    assert check.details["trust_policy"] == "e2e"
