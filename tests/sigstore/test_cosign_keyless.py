"""Classic keyless `.sig` signatures: containers-image A11 (prod Fulcio + Rekor), with its expected verdicts."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from sigverify.crypto.trustroot import TrustStore
from sigverify.formats.cosign_sig.keyless import VERIFIER
from sigverify.models import Candidate, Code, Descriptor, Format
from tests.sigstore.helpers import context, keyless

A11 = "containers-image/signature/fixtures/dir-img-cosign-fulcio-rekor-valid"
STAGING = "sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstage.dev/trusted_root.json"
MITR = ("mitr@redhat.com", "https://github.com/login/oauth")


def load_containers_image_sig(path: Path, *, payload: bytes | None = None,
                              annotations: dict[str, str] | None = None) -> Candidate:
    """A containers/image `signature-N` file: "\\x00sigstore-json\\n" + {mimeType, payload, annotations}."""
    raw = path.read_bytes()
    prefix = b"\x00sigstore-json\n"
    assert raw.startswith(prefix)
    doc = json.loads(raw[len(prefix):])
    content = base64.b64decode(doc["payload"]) if payload is None else payload
    ann = dict(doc["annotations"]) if annotations is None else annotations
    return Candidate(
        format=Format.COSIGN_CLASSIC,
        storage="tag sha256-test.sig",
        subject_digest="",
        manifest_digest="sha256:" + "1" * 64,
        layer=Descriptor(doc["mimeType"], "sha256:" + hashlib.sha256(content).hexdigest(), len(content), ann),
        content=content,
    )


def _a11(vectors: Path) -> tuple[Candidate, str]:
    d = vectors / A11
    digest = "sha256:" + hashlib.sha256((d / "manifest.json").read_bytes()).hexdigest()
    return load_containers_image_sig(d / "signature-1"), digest


def test_a11_passes_with_production_root(vectors: Path) -> None:
    cand, digest = _a11(vectors)
    check = VERIFIER.verify(cand, keyless("redhat", *MITR), context(digest, TrustStore("embedded")))
    assert check.ok, check.reason
    assert check.signer == "mitr@redhat.com (issuer https://github.com/login/oauth)"
    assert check.details["kind"] == "signature"
    assert check.details["tlog"]["integratedTime"] == 1674247893
    assert check.details["identity"]["subject_type"] == "email"
    assert check.details["trust_root"].startswith("embedded")


def test_a11_regexp_identity(vectors: Path) -> None:
    cand, digest = _a11(vectors)
    auth = keyless("redhat", r"[a-z]+@redhat\.com", r"https://github\.com/login/oauth", regexp=True)
    assert VERIFIER.verify(cand, auth, context(digest, TrustStore("embedded"))).ok


@pytest.mark.parametrize(("subject", "issuer"), [
    ("this-does-not-match@example.com", "https://github.com/login/oauth"),
    ("mitr@redhat.com", "https://token.actions.githubusercontent.com"),
])
def test_a11_wrong_identity(subject: str, issuer: str, vectors: Path) -> None:
    cand, digest = _a11(vectors)
    check = VERIFIER.verify(cand, keyless("other", subject, issuer), context(digest, TrustStore("embedded")))
    assert not check.ok and check.reason is not None and check.reason.code == Code.IDENTITY_MISMATCH
    assert check.signer == "mitr@redhat.com (issuer https://github.com/login/oauth)"  # what it carried
    assert check.reason.expected and check.reason.found


def test_a11_claim_that_is_absent(vectors: Path) -> None:
    cand, digest = _a11(vectors)
    check = VERIFIER.verify(cand, keyless("redhat", *MITR, claims={"source_repository_ref": "refs/heads/main"}),
                            context(digest, TrustStore("embedded")))
    assert not check.ok and check.reason is not None and check.reason.code == Code.IDENTITY_MISMATCH
    assert "absent" in (check.reason.found or "")


def test_a11_on_another_image(vectors: Path) -> None:
    cand, _ = _a11(vectors)
    other = "sha256:" + "cd" * 32
    check = VERIFIER.verify(cand, keyless("redhat", *MITR), context(other, TrustStore("embedded")))
    assert not check.ok and check.reason is not None and check.reason.code == Code.DIGEST_MISMATCH


def test_a11_tampered_payload(vectors: Path) -> None:
    cand, digest = _a11(vectors)
    tampered = load_containers_image_sig(vectors / A11 / "signature-1", payload=cand.content.replace(b"{", b"{ ", 1))
    check = VERIFIER.verify(tampered, keyless("redhat", *MITR), context(digest, TrustStore("embedded")))
    assert not check.ok and check.reason is not None and check.reason.code == Code.INVALID_SIGNATURE


def test_a11_wrong_instance_root(vectors: Path) -> None:
    cand, digest = _a11(vectors)
    check = VERIFIER.verify(cand, keyless("redhat", *MITR), context(digest, TrustStore(str(vectors / STAGING))))
    assert not check.ok and check.reason is not None and check.reason.code == Code.TLOG_INVALID


def test_a11_without_rekor_bundle(vectors: Path) -> None:
    cand, digest = _a11(vectors)
    ann = {k: v for k, v in cand.layer.annotations.items() if k != "dev.sigstore.cosign/bundle"}
    stripped = load_containers_image_sig(vectors / A11 / "signature-1", annotations=ann)
    check = VERIFIER.verify(stripped, keyless("redhat", *MITR), context(digest, TrustStore("embedded")))
    assert not check.ok and check.reason is not None and check.reason.code == Code.TLOG_INVALID


def test_a11_without_certificate(vectors: Path) -> None:
    cand, digest = _a11(vectors)
    ann = {k: v for k, v in cand.layer.annotations.items() if k != "dev.sigstore.cosign/certificate"}
    stripped = load_containers_image_sig(vectors / A11 / "signature-1", annotations=ann)
    check = VERIFIER.verify(stripped, keyless("redhat", *MITR), context(digest, TrustStore("embedded")))
    assert not check.ok and check.reason is not None and check.reason.code == Code.CERTIFICATE_INVALID


def test_a11_annotations(vectors: Path) -> None:
    cand, digest = _a11(vectors)
    check = VERIFIER.verify(cand, keyless("redhat", *MITR, annotations={"env": "prod"}),
                            context(digest, TrustStore("embedded")))
    assert not check.ok and check.reason is not None and check.reason.code == Code.ANNOTATION_MISMATCH


def test_a11_through_derived_oci_layout(vectors: Path) -> None:
    """The same signature as stored in the derived `.sig` manifest (layer annotations from the real layout)."""
    d = vectors / "derived/oci-layouts/cosign-legacy-sig-dir-img-cosign-fulcio-rekor-valid"
    if not d.is_dir():
        from tests.fixtures.vectors import missing

        missing(f"the derived OCI layout {d}", "Regenerate the derived vectors (../shared/vectors/derived).")
    blobs = d / "blobs/sha256"
    sig_manifest = None
    for p in blobs.iterdir():
        try:
            doc = json.loads(p.read_bytes())
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(doc, dict) and any(
            "dev.cosignproject.cosign/signature" in (layer.get("annotations") or {})
            for layer in doc.get("layers", [])
        ):
            sig_manifest = doc
    assert sig_manifest is not None
    layer = sig_manifest["layers"][0]
    content = (blobs / layer["digest"].split(":")[1]).read_bytes()
    cand = Candidate(Format.COSIGN_CLASSIC, "tag sha256-x.sig", "", "sha256:" + "2" * 64,
                     Descriptor(layer["mediaType"], layer["digest"], layer["size"], layer["annotations"]), content)
    _, digest = _a11(vectors)
    assert VERIFIER.verify(cand, keyless("redhat", *MITR), context(digest, TrustStore("embedded"))).ok
