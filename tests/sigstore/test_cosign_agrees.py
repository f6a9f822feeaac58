"""The real cosign v3 and sigverify agree on what the test Sigstore signed (`cosign verify-blob --trusted-root`,
`cosign verify --trusted-root` on images in a real registry): the test Sigstore is faithful, and so are we."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from sigverify.cli.verify_blob import main as verify_blob_main
from tests.fixtures.cosign_sign import SignatureLayer, signature_manifest
from tests.fixtures.registry import RegistryServer, unique_repo
from tests.fixtures.testsigstore import GITHUB_ISSUER, WORKFLOW, TestSigstore, statement
from tests.sigstore.test_e2e_registry import KEYLESS, push_bundle_referrers, run_cli, write_config

pytestmark = pytest.mark.peers
SLSA = "https://slsa.dev/provenance/v1"


def cosign(binary: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def identity(subject: str = WORKFLOW, issuer: str = GITHUB_ISSUER) -> list[str]:
    return ["--certificate-identity", subject, "--certificate-oidc-issuer", issuer]


@pytest.mark.parametrize(("subject", "expect_ok"), [(WORKFLOW, True), ("https://github.com/evil/x", False)])
def test_blob_bundle(subject: str, expect_ok: bool, cosign3: str, peer_env: dict[str, str],
                     test_sigstore: TestSigstore, tmp_path: Path) -> None:
    art = tmp_path / "art.txt"
    art.write_bytes(b"release\n")
    bundle = tmp_path / "art.sigstore.json"
    bundle.write_bytes(test_sigstore.blob_bundle(art.read_bytes()))
    root = test_sigstore.write_trusted_root(tmp_path)
    theirs = cosign(cosign3, peer_env, "verify-blob", "--bundle", str(bundle), "--trusted-root", str(root),
                    *identity(subject), str(art))
    ours = verify_blob_main(["--bundle", str(bundle), "--trusted-root", str(root), *identity(subject), str(art)])
    assert (theirs.returncode == 0) is expect_ok, theirs.stderr
    assert (ours == 0) is expect_ok


def test_blob_attestation_and_wrong_instance(cosign3: str, peer_env: dict[str, str], test_sigstore: TestSigstore,
                                             other_sigstore: TestSigstore, tmp_path: Path) -> None:
    art = tmp_path / "sbom.json"
    art.write_bytes(b"{}")
    bundle = tmp_path / "att.sigstore.json"
    bundle.write_bytes(test_sigstore.dsse_bundle(statement(hashlib.sha256(b"{}").hexdigest(), SLSA, predicate={},
                                                           name="sbom.json")))
    for root, ok in ((test_sigstore.write_trusted_root(tmp_path), True),
                     (other_sigstore.write_trusted_root(tmp_path), False)):
        theirs = cosign(cosign3, peer_env, "verify-blob-attestation", "--bundle", str(bundle), "--trusted-root",
                        str(root), "--type", SLSA, *identity(), str(art))
        ours = verify_blob_main(["--bundle", str(bundle), "--trusted-root", str(root), *identity(), str(art)])
        assert (theirs.returncode == 0) is ok, theirs.stderr
        assert (ours == 0) is ok


@pytest.mark.registry
def test_images_in_registry(cosign3: str, peer_env: dict[str, str], registry: RegistryServer,
                            test_sigstore: TestSigstore, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A classic keyless `.sig` on one image, a v3 bundle (fallback tag) on another: cosign and sigverify pass
    both with the test trusted root, and both reject them for another identity."""
    root = test_sigstore.write_trusted_root(tmp_path)
    repo = unique_repo("agree")
    classic, _ = registry.push_image(repo, "classic")
    payload = json.dumps({"critical": {"identity": {"docker-reference": f"{registry.host}/{repo}"},
                                       "image": {"docker-manifest-digest": classic},
                                       "type": "cosign container image signature"}, "optional": None}).encode()
    art = signature_manifest(classic, [SignatureLayer(payload, test_sigstore.classic_signature(payload))])
    for blob in art.blobs.values():
        registry.push_blob(repo, blob)
    registry.push_manifest(repo, art.tag, art.manifest, art.media_type)
    bundled, raw = registry.push_image(repo, "bundled")
    push_bundle_referrers(registry, repo, bundled, len(raw),
                          [test_sigstore.dsse_bundle(statement(bundled.split(":")[1]))])
    flags = ["--trusted-root", str(root), "--allow-insecure-registry", "--allow-http-registry"]
    for tag in ("classic", "bundled"):
        ref = f"{registry.host}/{repo}:{tag}"
        theirs = cosign(cosign3, peer_env, "verify", *flags, *identity(), ref)
        assert theirs.returncode == 0, (tag, theirs.stderr)
        wrong = cosign(cosign3, peer_env, "verify", *flags, *identity("someone@example.com"), ref)
        assert wrong.returncode != 0, tag
        code, report = run_cli(capsys, write_config(tmp_path, registry, root, [ref], [KEYLESS]))
        assert code == 0, json.dumps(report["images"][0], indent=1)
        other = dict(KEYLESS, keyless={"issuer": GITHUB_ISSUER, "subject": "someone@example.com"})
        code, _ = run_cli(capsys, write_config(tmp_path, registry, root, [ref], [other]))
        assert code == 1
