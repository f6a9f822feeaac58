"""Real Sigstore vectors: sigstore-python (MANIFEST E), sigstore-go (D), cosign v3 bundle on an image (B3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sigverify.cli.verify_blob import main
from sigverify.crypto.bundle.verify import verify_bundle
from sigverify.crypto.fulcio import identity_of
from sigverify.crypto.trustroot import TrustStore
from sigverify.errors import Failure
from sigverify.formats.blob import BlobInput, read_blob_input, verify_blob
from sigverify.formats.sigstore_bundle import VERIFIER as BUNDLE
from sigverify.models import Code
from sigverify.policy.model import KeylessIdentity, Pattern
from tests.sigstore.helpers import bundle_candidate, context, keyless

ANY = KeylessIdentity(issuer=Pattern(".*", regexp=True), subject=Pattern(".*", regexp=True))
STAGING = "sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstage.dev/trusted_root.json"
SP = "sigstore-python/test/assets"

# (artifact, bundle, trust root: None = embedded production, "staging", "tsa"), expected verified
E_CASES = [
    ("bundle.txt", "bundle.txt.sigstore", "staging", True),
    ("bundle_v3.txt", "bundle_v3.txt.sigstore", "staging", True),
    ("bundle_v3_alt.txt", "bundle_v3_alt.txt.sigstore", "staging", True),
    ("bundle_v3_github.whl", "bundle_v3_github.whl.sigstore", None, True),
    ("staging-rekor-v2.txt", "staging-rekor-v2.txt.sigstore.json", "staging", True),
    ("tsa/bundle.txt", "tsa/bundle.txt.sigstore", "tsa", True),
    ("bundle_cve_2022_36056.txt", "bundle_cve_2022_36056.txt.sigstore", "staging", False),
    ("bundle_invalid_version.txt", "bundle_invalid_version.txt.sigstore", "staging", False),
    ("bundle_no_cert_v1.txt", "bundle_no_cert_v1.txt.sigstore", None, False),
    ("bundle_no_log_entry.txt", "bundle_no_log_entry.txt.sigstore", "staging", False),
    ("bundle_no_checkpoint.txt", "bundle_no_checkpoint.txt.sigstore", "staging", False),
    ("bundle_v3_no_signed_time.txt", "bundle_v3_no_signed_time.txt.sigstore.json", None, False),
    ("tsa/bundle.txt", "tsa/bundle.many_timestamp.sigstore", "tsa", False),
    ("tsa/bundle.txt", "tsa/bundle.duplicate.sigstore", "tsa", False),
    ("tsa/bundle.txt", "tsa/bundle.txt.late_timestamp.sigstore", "tsa", False),
    # real prod bundle whose inclusion proof lacks a checkpoint (tarball not shipped: verify by digest)
    ("sha256:38dc4e2c261d49c661196066edbfb70fdb16be4a79cc8220c224dfeb5636d405",
     "integration/Python-3.12.5.tgz.sigstore", None, False),
    # the bundle wrong for this file (bundle.txt's bundle over bundle_v3.txt)
    ("bundle_v3.txt", "bundle.txt.sigstore", "staging", False),
]


def _trust(vectors: Path, which: str | None, tmp_path: Path) -> TrustStore:
    if which is None:
        return TrustStore("embedded")
    if which == "staging":
        return TrustStore(str(vectors / STAGING))
    config = json.loads((vectors / SP / "tsa" / "trust_config.json").read_text())
    root = config["trustedRoot"]
    if which == "tsa-ca":  # the test TSA whose validity covers the bundle's timestamps (sigstore-python's ca.json)
        root["timestampAuthorities"] = [json.loads((vectors / SP / "tsa" / "ca.json").read_text())]
    path = tmp_path / f"{which}_trusted_root.json"
    path.write_text(json.dumps(root))
    return TrustStore(str(path))


@pytest.mark.parametrize(("artifact", "bundle", "root", "expected"), E_CASES, ids=[f"{c[1]}-{c[2]}" for c in E_CASES])
def test_sigstore_python_assets(artifact: str, bundle: str, root: str | None, expected: bool, vectors: Path,
                                tmp_path: Path) -> None:
    trust = _trust(vectors, root, tmp_path)
    blob = read_blob_input(artifact if artifact.startswith("sha256:") else str(vectors / SP / artifact))
    check = verify_blob(blob, trust=trust, bundle=(vectors / SP / bundle).read_bytes(), identity=ANY)
    assert check.ok is expected, check.reason
    if not expected:
        assert check.reason is not None and check.reason.code


def test_dsse_rekor_v2_statement_subject(vectors: Path) -> None:
    """The DSSE statement's subject is the conformance a.txt: that file verifies, another one does not."""
    trust = TrustStore(str(vectors / STAGING))
    bundle = (vectors / SP / "a.dsse.staging-rekor-v2.txt.sigstore.json").read_bytes()
    good = read_blob_input(str(vectors / "sigstore-conformance/test/assets/a.txt"))
    check = verify_blob(good, trust=trust, bundle=bundle, identity=ANY)
    assert check.ok and check.details["kind"] == "attestation" and check.details["statement_subject_ok"]
    other = read_blob_input(str(vectors / SP / "a.txt"))
    bad = verify_blob(other, trust=trust, bundle=bundle, identity=ANY)
    assert not bad.ok and bad.reason is not None and bad.reason.code == Code.DIGEST_MISMATCH


def test_fulcio_extension_oracle(vectors: Path) -> None:
    """bundle_v3_github.whl: every Fulcio extension, raw (.1-.6) and DER (.8+), by name and OID."""
    trust = TrustStore("embedded")
    vb = verify_bundle((vectors / SP / "bundle_v3_github.whl.sigstore").read_bytes(), trust,
                       artifact=(vectors / SP / "bundle_v3_github.whl").read_bytes())
    ident = vb.identity
    assert ident is not None
    sha = "d8b4a6445f38c48b9137a8099706d9b8073146e4"
    wf = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
    expected = {
        "issuer": "https://token.actions.githubusercontent.com",
        "1.3.6.1.4.1.57264.1.1": "https://token.actions.githubusercontent.com",
        "github_workflow_trigger": "release", "github_workflow_sha": sha, "github_workflow_name": "release",
        "github_workflow_repository": "trailofbits/rfc8785.py", "github_workflow_ref": "refs/tags/v0.1.2",
        "issuer_v2": "https://token.actions.githubusercontent.com",
        "build_signer_uri": wf, "build_signer_digest": sha, "runner_environment": "github-hosted",
        "source_repository_uri": "https://github.com/trailofbits/rfc8785.py", "source_repository_digest": sha,
        "source_repository_ref": "refs/tags/v0.1.2", "source_repository_identifier": "768213997",
        "source_repository_owner_uri": "https://github.com/trailofbits",
        "source_repository_owner_identifier": "2314423", "build_config_uri": wf, "build_config_digest": sha,
        "build_trigger": "release",
        "run_invocation_uri": "https://github.com/trailofbits/rfc8785.py/actions/runs/8351058501/attempts/1",
        "source_repository_visibility_at_signing": "public",
        "1.3.6.1.4.1.57264.1.14": "refs/tags/v0.1.2",
    }
    for name, value in expected.items():
        assert ident.claim(name) == value, name
    assert ident.subject == wf and ident.subject_type == "uri"
    assert vb.certificate is not None and identity_of(vb.certificate) == ident


def test_sigstore_go_othername_san(vectors: Path) -> None:
    g = vectors / "sigstore-go/pkg/testing/data"
    trust = TrustStore(str(g / "trusted-roots/scaffolding.json"))
    blob = read_blob_input("sha256:bc103b4a84971ef6459b294a2b98568a2bfb72cded09d4acd1e16366a401f95b")
    bundle = (g / "bundles/othername.sigstore.json").read_bytes()
    ok = KeylessIdentity(issuer=Pattern("http://oidc.local:8080"), subject=Pattern("foo!oidc.local"))
    check = verify_blob(blob, trust=trust, bundle=bundle, identity=ok)
    assert check.ok, check.reason
    assert check.details["identity"]["subject_type"] == "othername"
    wrong = KeylessIdentity(issuer=Pattern("http://oidc.local:8080"), subject=Pattern("foo@oidc.local"))
    bad = verify_blob(blob, trust=trust, bundle=bundle, identity=wrong)
    assert not bad.ok and bad.reason is not None and bad.reason.code == Code.IDENTITY_MISMATCH
    assert bad.signer == "foo!oidc.local (issuer http://oidc.local:8080)"


def test_sigstore_go_npm_provenance_intoto_entry(vectors: Path) -> None:
    """sigstore.js provenance: DSSE logged as intoto/0.0.2 (sigstore-python alone refuses this entry kind)."""
    g = vectors / "sigstore-go/pkg/testing/data"
    trust = TrustStore(str(g / "trusted-roots/public-good.json"))
    vb = verify_bundle((g / "bundles/sigstore.js@2.0.0-provenance.sigstore.json").read_bytes(), trust)
    assert vb.tlog["kind"] == "intoto/0.0.2"
    assert vb.identity is not None
    assert vb.identity.subject == "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
    assert vb.identity.issuer == "https://token.actions.githubusercontent.com"


@pytest.mark.parametrize("name", ["dsse-2sigs.sigstore.json"])
def test_sigstore_go_failures(name: str, vectors: Path) -> None:
    g = vectors / "sigstore-go/pkg/testing/data"
    with pytest.raises(Failure):
        verify_bundle((g / "bundles" / name).read_bytes(), TrustStore(str(g / "trusted-roots/public-good.json")))


def test_sigstore_go_public_key_validity_fails(vectors: Path, tmp_path: Path) -> None:
    g = vectors / "sigstore-go/pkg/testing/data"
    art = tmp_path / "artifact"
    art.write_bytes(b"test content")
    rc = main(["--bundle", str(g / "bundles/public-key-validity.sigstore.json"), "--key",
               str(g / "public-keys/public-key-validity.pem"), "--trusted-root",
               str(g / "trusted-roots/public-key-validity.json"), str(art)])
    assert rc == 1


def test_sigstore_go_v01_bundle_without_inclusion_proof(vectors: Path) -> None:
    """v0.1 bundles need only the inclusion promise (bundle spec); sigstore-python refuses them, sigverify
    verifies the SET and the certificate at the integrated time (like sigstore-go)."""
    g = vectors / "sigstore-go/pkg/testing/data"
    raw = (g / "bundles/dsse.sigstore.json").read_bytes()
    vb = verify_bundle(raw, TrustStore(str(g / "trusted-roots/public-good.json")))
    assert vb.identity is not None and vb.identity.subject == "brian@dehamer.com"
    assert vb.identity.issuer == "https://github.com/login/oauth"
    assert vb.tlog["inclusion"] == "promise only (v0.1)" and vb.tlog["kind"] == "intoto/0.0.2"
    # the staging root does not know this log or CA
    with pytest.raises(Failure):
        verify_bundle(raw, TrustStore(str(vectors / STAGING)))
    # a flipped signature byte
    doc = json.loads(raw)
    sig = doc["dsseEnvelope"]["signatures"][0]["sig"]
    doc["dsseEnvelope"]["signatures"][0]["sig"] = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    with pytest.raises(Failure):
        verify_bundle(json.dumps(doc).encode(), TrustStore(str(g / "trusted-roots/public-good.json")))


# ---------------------------------------------------------------------------------------------------------------
# B3: cosign v3 attestation bundle (OCI referrer) on go-containerregistry's empty.Image
# ---------------------------------------------------------------------------------------------------------------

EMPTY_IMAGE = "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"
B3_BUNDLE = "a6c1fc36d2a9d6c7844bdb3caf052947fc48b4360e421d637d4647db40d4f9b0"
B3_LAYOUT = "derived/oci-layouts/cosign-attestation-bundle-on-empty-image"


def _b3(vectors: Path) -> tuple[bytes, TrustStore]:
    content = (vectors / B3_LAYOUT / "blobs/sha256" / B3_BUNDLE).read_bytes()
    return content, TrustStore(str(vectors / "cosign/pkg/cosign/testdata/trusted_root_pgi.json"))


def test_b3_attestation_bundle_on_empty_image(vectors: Path) -> None:
    content, trust = _b3(vectors)
    auth = keyless("cody", "cody@soyland.com", "https://github.com/login/oauth")
    check = BUNDLE.verify(bundle_candidate(content, EMPTY_IMAGE), auth, context(EMPTY_IMAGE, trust))
    assert check.ok, check.reason
    assert check.details["kind"] == "attestation"  # not a cosign/sign/v1 statement: never counts as a signature
    assert check.details["predicate_type"] == "https://cosign.sigstore.dev/attestation/v1"
    assert check.details["statement_subject_ok"] is True
    assert isinstance(check.details["predicate"], dict)
    assert check.signer == "cody@soyland.com (issuer https://github.com/login/oauth)"
    assert check.details["trust_root"].endswith("trusted_root_pgi.json")


def test_b3_on_another_image_is_digest_mismatch(vectors: Path) -> None:
    content, trust = _b3(vectors)
    other = "sha256:" + "ab" * 32
    auth = keyless("cody", "cody@soyland.com", "https://github.com/login/oauth")
    check = BUNDLE.verify(bundle_candidate(content, other), auth, context(other, trust))
    assert not check.ok and check.reason is not None and check.reason.code == Code.DIGEST_MISMATCH
    assert check.reason.expected == other and EMPTY_IMAGE in (check.reason.found or "")


@pytest.mark.parametrize(("subject", "issuer", "regexp"), [
    ("wrong", ".*", True),
    ("cody@soyland.com", "https://accounts.google.com", False),
    ("cody@soyland", "https://github.com/login/oauth", False),
    ("cody@soyland", r"https://github\.com/login/oauth", True),  # regexp must match the whole string
])
def test_b3_identity_mismatch_reports_what_it_found(subject: str, issuer: str, regexp: bool, vectors: Path) -> None:
    content, trust = _b3(vectors)
    auth = keyless("x", subject, issuer, regexp=regexp)
    check = BUNDLE.verify(bundle_candidate(content, EMPTY_IMAGE), auth, context(EMPTY_IMAGE, trust))
    assert not check.ok and check.reason is not None and check.reason.code == Code.IDENTITY_MISMATCH
    assert check.signer == "cody@soyland.com (issuer https://github.com/login/oauth)"
    assert check.reason.found


def test_b3_with_embedded_production_root(vectors: Path) -> None:
    content, _ = _b3(vectors)
    auth = keyless("cody", ".*", ".*", regexp=True)
    check = BUNDLE.verify(bundle_candidate(content, EMPTY_IMAGE), auth, context(EMPTY_IMAGE, TrustStore("embedded")))
    assert check.ok, check.reason


def test_b3_wrong_instance_root_fails(vectors: Path) -> None:
    content, _ = _b3(vectors)
    trust = TrustStore(str(vectors / STAGING))
    auth = keyless("cody", ".*", ".*", regexp=True)
    check = BUNDLE.verify(bundle_candidate(content, EMPTY_IMAGE), auth, context(EMPTY_IMAGE, trust))
    assert not check.ok and check.reason is not None
    assert check.reason.code in (Code.CERTIFICATE_INVALID, Code.TLOG_INVALID)


def test_b3_tampered_bundle_fails(vectors: Path) -> None:
    content, trust = _b3(vectors)
    doc = json.loads(content)
    sig = doc["dsseEnvelope"]["signatures"][0]["sig"]
    doc["dsseEnvelope"]["signatures"][0]["sig"] = ("A" if sig[0] != "A" else "B") + sig[1:]
    auth = keyless("cody", "cody@soyland.com", "https://github.com/login/oauth")
    check = BUNDLE.verify(bundle_candidate(json.dumps(doc).encode(), EMPTY_IMAGE), auth, context(EMPTY_IMAGE, trust))
    assert not check.ok and check.reason is not None and check.reason.code == Code.INVALID_SIGNATURE, check.reason


def test_b3_blob_subject_is_not_a_file(vectors: Path) -> None:
    """verify-blob on the same bundle with a digest that is not its subject fails with DIGEST_MISMATCH."""
    content, trust = _b3(vectors)
    blob = BlobInput(label="x", sha256=bytes(32))
    check = verify_blob(blob, trust=trust, bundle=content, identity=ANY)
    assert not check.ok and check.reason is not None and check.reason.code == Code.DIGEST_MISMATCH


def test_keyless_bundle_with_timestamps_only(vectors: Path, tmp_path: Path) -> None:
    """A keyless bundle without a log entry (how log-less Sigstore instances such as GitHub's sign): accepted on
    a trusted RFC 3161 timestamp only when the authority says `tlog: ignore` (sigstore-python tsa/ vector with its
    log entry removed)."""
    doc = json.loads((vectors / SP / "tsa/bundle.txt.sigstore").read_bytes())
    doc["verificationMaterial"]["tlogEntries"] = []
    bundle = json.dumps(doc).encode()
    blob = read_blob_input(str(vectors / SP / "tsa/bundle.txt"))
    tsa_root = _trust(vectors, "tsa-ca", tmp_path)
    strict = verify_blob(blob, trust=tsa_root, bundle=bundle, identity=ANY)
    assert not strict.ok and strict.reason is not None and strict.reason.code == Code.TLOG_INVALID
    assert "tlog: ignore" in strict.reason.message
    ok = verify_blob(blob, trust=tsa_root, bundle=bundle, identity=ANY, allow_no_tlog=True)
    assert ok.ok, ok.reason
    assert ok.details["tlog"] == {"tlog": "none (signed timestamps only; tlog: ignore)"}
    assert ok.details["signing_times"] == ["2024-10-31T10:23:39+00:00"]  # the one by the trusted TSA
    for root in ("staging", "tsa"):  # no such TSA / the TSA's validFor starts after the timestamps
        no_tsa = verify_blob(blob, trust=_trust(vectors, root, tmp_path), bundle=bundle, identity=ANY,
                             allow_no_tlog=True)
        assert not no_tsa.ok and no_tsa.reason is not None and no_tsa.reason.code == Code.TLOG_INVALID
    other = read_blob_input(str(vectors / SP / "a.txt"))
    wrong_file = verify_blob(other, trust=tsa_root, bundle=bundle, identity=ANY, allow_no_tlog=True)
    assert not wrong_file.ok and wrong_file.reason is not None
    assert wrong_file.reason.code == Code.DIGEST_MISMATCH, wrong_file.reason
    del doc["verificationMaterial"]["timestampVerificationData"]
    no_time = verify_blob(blob, trust=tsa_root, bundle=json.dumps(doc).encode(), identity=ANY, allow_no_tlog=True)
    assert not no_time.ok and no_time.reason is not None and no_time.reason.code == Code.TLOG_INVALID
