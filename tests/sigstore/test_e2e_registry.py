"""Keyless end to end through the CLI and a real registry (Debian docker-registry, no referrers API: the
`sha256-<hex>` tag fallback is used): cosign v3 bundles, classic keyless `.sig`, attestation requirements."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from sigverify.models import Format
from tests.fixtures.cosign_sign import SignatureLayer, signature_manifest
from tests.fixtures.registry import OCI_INDEX, OCI_MANIFEST, RegistryServer, unique_repo
from tests.fixtures.testsigstore import FULCIO, GITHUB_ISSUER, WORKFLOW, TestSigstore, statement

pytestmark = pytest.mark.registry

BUNDLE_MT = "application/vnd.dev.sigstore.bundle.v0.3+json"
EMPTY = b"{}"
EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
SLSA = "https://slsa.dev/provenance/v1"


def push_bundle_referrers(registry: RegistryServer, repo: str, digest: str, size: int,
                          bundles: list[bytes]) -> None:
    """Referrer manifests as cosign v3 writes them, listed in the fallback index under `sha256-<hex>`
    (entries carry the config media type as artifactType, like real cosign v3.0.4 output)."""
    registry.push_blob(repo, EMPTY)
    entries = []
    for content in bundles:
        layer_digest = registry.push_blob(repo, content)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": BUNDLE_MT,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": EMPTY_DIGEST},
            "layers": [{"mediaType": BUNDLE_MT, "size": len(content), "digest": layer_digest}],
            "annotations": {"dev.sigstore.bundle.content": "dsse-envelope"},
            "subject": {"mediaType": OCI_MANIFEST, "size": size, "digest": digest},
        }, separators=(",", ":")).encode()
        mdigest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        registry.push_manifest(repo, mdigest, manifest, OCI_MANIFEST)
        entries.append({"mediaType": OCI_MANIFEST, "digest": mdigest, "size": len(manifest),
                        "artifactType": "application/vnd.oci.empty.v1+json"})
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    registry.push_manifest(repo, digest.replace(":", "-"), index, OCI_INDEX)


def write_config(tmp_path: Path, registry: RegistryServer, trust_root: Path, images: list[str],
                 authorities: list[dict[str, Any]], **policy: Any) -> Path:
    doc = {
        "version": 1,
        "images": images,
        "trust_root": str(trust_root),
        "registries": {registry.host: {"insecure": True}},
        "policies": [{"name": "release", "match": [f"{registry.host}/**"], "authorities": authorities, **policy}],
    }
    path = tmp_path / "sigverify.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def run_cli(capsys: pytest.CaptureFixture[str], cfg: Path) -> tuple[int, dict[str, Any]]:
    from sigverify.cli import main

    code = main(["verify", "--config", str(cfg), "--format", "json", "--ci", "none", "--offline"])
    out = capsys.readouterr().out
    return code, json.loads(out)


KEYLESS = {"name": "gha", "keyless": {"issuer": GITHUB_ISSUER, "subject": WORKFLOW,
                                      "claims": {"source_repository_ref": "refs/heads/main",
                                                 "runner_environment": "github-hosted"}}}


def test_v3_bundle_signature_and_attestation_requirement(registry: RegistryServer, test_sigstore: TestSigstore,
                                                        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = unique_repo("kl")
    digest, raw = registry.push_image(repo, "v1")
    hexd = digest.split(":")[1]
    predicate = {"buildDefinition": {"externalParameters": {"workflow": {"ref": "refs/tags/v1.2.3"}}}}
    push_bundle_referrers(registry, repo, digest, len(raw), [
        test_sigstore.dsse_bundle(statement(hexd)),
        test_sigstore.dsse_bundle(statement(hexd, SLSA, predicate=predicate)),
    ])
    root = test_sigstore.write_trusted_root(tmp_path)
    ref_path = "buildDefinition.externalParameters.workflow.ref"
    att = {"name": "provenance", "predicate_type": SLSA, "authorities": ["gha"],
           "conditions": [{"jmespath": ref_path, "equals": "refs/tags/v1.2.3"}]}
    cfg = write_config(tmp_path, registry, root, [f"{registry.host}/{repo}:v1"], [KEYLESS], attestations=[att])
    code, report = run_cli(capsys, cfg)
    image = report["images"][0]
    assert code == 0, json.dumps(image, indent=1)
    assert image["verdict"] == "pass"
    kinds = sorted(s["details"]["kind"] for s in image["signatures"] if s["verified"])
    assert kinds == ["attestation", "signature"]
    assert report["trust_root"] == str(root)

    bad = dict(att, conditions=[{"field": ref_path, "regexp": "refs/heads/.*"}])
    cfg = write_config(tmp_path, registry, root, [f"{registry.host}/{repo}:v1"], [KEYLESS], attestations=[bad])
    code, report = run_cli(capsys, cfg)
    assert code == 1
    codes = [r["code"] for p in report["images"][0]["policies"] for r in p["reasons"]]
    assert "ATTESTATION_MISMATCH" in codes


def test_attestation_alone_is_not_a_signature(registry: RegistryServer, test_sigstore: TestSigstore,
                                              tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Stricter than `cosign verify` v3, on purpose: an attestation bundle never counts as a signature."""
    repo = unique_repo("kl")
    digest, raw = registry.push_image(repo, "v1")
    push_bundle_referrers(registry, repo, digest, len(raw),
                          [test_sigstore.dsse_bundle(statement(digest.split(":")[1], SLSA, predicate={}))])
    cfg = write_config(tmp_path, registry, test_sigstore.write_trusted_root(tmp_path),
                       [f"{registry.host}/{repo}:v1"], [KEYLESS])
    code, report = run_cli(capsys, cfg)
    assert code == 1 and report["images"][0]["verdict"] == "fail"
    sigs = report["images"][0]["signatures"]
    assert sigs and all(s["details"].get("kind") == "attestation" for s in sigs if s["verified"])


def test_identity_mismatch_lists_what_each_signature_carried(registry: RegistryServer, test_sigstore: TestSigstore,
                                                             tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    repo = unique_repo("kl")
    digest, raw = registry.push_image(repo, "v1")
    hexd = digest.split(":")[1]
    other = test_sigstore.issue(san="https://github.com/evil/fork/.github/workflows/x.yml@refs/heads/main",
                                claims={FULCIO + "14": "refs/heads/main", FULCIO + "11": "self-hosted"})
    push_bundle_referrers(registry, repo, digest, len(raw), [test_sigstore.dsse_bundle(statement(hexd), other)])
    cfg = write_config(tmp_path, registry, test_sigstore.write_trusted_root(tmp_path),
                       [f"{registry.host}/{repo}:v1"], [KEYLESS])
    code, report = run_cli(capsys, cfg)
    assert code == 1
    sig = report["images"][0]["signatures"][0]
    fork = "https://github.com/evil/fork/.github/workflows/x.yml@refs/heads/main"
    assert sig["signer"] == f"{fork} (issuer {GITHUB_ISSUER})"
    assert sig["reason"]["code"] == "IDENTITY_MISMATCH"


def test_classic_keyless_sig_tag(registry: RegistryServer, test_sigstore: TestSigstore, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    repo = unique_repo("kl")
    digest, _ = registry.push_image(repo, "v1")
    payload = json.dumps({"critical": {"identity": {"docker-reference": f"{registry.host}/{repo}"},
                                       "image": {"docker-manifest-digest": digest},
                                       "type": "cosign container image signature"}, "optional": None}).encode()
    layer = SignatureLayer(payload, test_sigstore.classic_signature(payload))
    art = signature_manifest(digest, [layer])
    for blob in art.blobs.values():
        registry.push_blob(repo, blob)
    registry.push_manifest(repo, art.tag, art.manifest, art.media_type)
    cfg = write_config(tmp_path, registry, test_sigstore.write_trusted_root(tmp_path),
                       [f"{registry.host}/{repo}:v1"], [KEYLESS])
    code, report = run_cli(capsys, cfg)
    assert code == 0, json.dumps(report["images"][0], indent=1)
    sig = report["images"][0]["signatures"][0]
    assert sig["format"] == Format.COSIGN_CLASSIC and sig["verified"] is True
    assert sig["signer"] == f"{WORKFLOW} (issuer {GITHUB_ISSUER})"


def test_real_cosign_v3_attestation_bundle_through_fallback_tag(registry: RegistryServer, vectors: Path,
                                                                tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """MANIFEST B3: the REAL cosign attestation bundle on go-containerregistry's empty.Image, pushed with its
    referrer manifest and fallback index. It verifies as an attestation (identity cody@soyland.com), and the
    image still fails the signature threshold (an attestation is not a signature)."""
    layout = vectors / "derived/oci-layouts/cosign-attestation-bundle-on-empty-image"
    blobs = layout / "blobs/sha256"
    repo = unique_repo("b3")
    image = "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"
    for name in ("5b943e2b943f6c81dbbd4e2eca5121f4fcc39139e3d1219d6d89bd925b77d9fe",
                 "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
                 "a6c1fc36d2a9d6c7844bdb3caf052947fc48b4360e421d637d4647db40d4f9b0"):
        registry.push_blob(repo, (blobs / name).read_bytes())
    registry.push_manifest(repo, "v1", (blobs / image.split(":")[1]).read_bytes(),
                           "application/vnd.docker.distribution.manifest.v2+json")
    referrer = "33fb607c1282b93f97b6f164528e46a735ee58196efdce63654dabb28132abea"
    registry.push_manifest(repo, "sha256:" + referrer, (blobs / referrer).read_bytes(), OCI_MANIFEST)
    index = "96512ea8e885e5121cead149f0dfdc8a2f6ac6f16d5e09e3ce04d1ff2d1742b2"
    registry.push_manifest(repo, image.replace(":", "-"), (blobs / index).read_bytes(), OCI_INDEX)
    auth = {"name": "cody", "keyless": {"issuer": "https://github.com/login/oauth", "subject": "cody@soyland.com"}}
    att = {"name": "custom", "predicate_type": "https://cosign.sigstore.dev/attestation/v1", "authorities": ["cody"]}
    cfg = write_config(tmp_path, registry, vectors / "cosign/pkg/cosign/testdata/trusted_root_pgi.json",
                       [f"{registry.host}/{repo}:v1"], [auth], attestations=[att])
    code, report = run_cli(capsys, cfg)
    img = report["images"][0]
    assert img["digest"] == image
    assert code == 1 and img["verdict"] == "fail"
    verified = [s for s in img["signatures"] if s["verified"]]
    assert [s["details"]["predicate_type"] for s in verified] == ["https://cosign.sigstore.dev/attestation/v1"]
    assert verified[0]["signer"] == "cody@soyland.com (issuer https://github.com/login/oauth)"
    codes = [r["code"] for p in img["policies"] for r in p["reasons"]]
    assert "ATTESTATION_MISSING" not in codes  # the attestation requirement itself is met
