"""examples/verify-sigverify.yaml: only a signature by sigverify's release workflow at a version tag passes.

Images in the real registry are signed the way the release workflow signs (cosign keyless, classic `.sig`) by the
project's test Sigstore; the policy's authority is used verbatim, only `match` and the trust root point at the
test instances.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ci.project import REPO_ROOT
from tests.fixtures.cosign_sign import SignatureLayer, signature_manifest
from tests.fixtures.registry import RegistryServer
from tests.fixtures.testsigstore import FULCIO, GITHUB_ISSUER, TestSigstore

pytestmark = pytest.mark.registry

POLICY = REPO_ROOT / "examples" / "verify-sigverify.yaml"
REPO_URI = "https://github.com/sigverify/sigverify"
RELEASE = f"{REPO_URI}/.github/workflows/release.yml"


@pytest.fixture(scope="module")
def sigstore() -> TestSigstore:
    """The project's test Sigstore (CA, CT log, Rekor key), standing in for the public-good instance."""
    return TestSigstore(name="test")


@pytest.fixture(scope="module")
def other_sigstore() -> TestSigstore:
    return TestSigstore(name="other")


def sign_and_push(registry: RegistryServer, sigstore: TestSigstore, identity: str, *, issuer: str = GITHUB_ISSUER,
                  repo_uri: str = REPO_URI, runner: str = "github-hosted") -> str:  # fmt: skip
    """Push an image to <registry>/sigverify/sigverify and sign it keylessly as ``identity``; return its ref."""
    tag = "t" + secrets.token_hex(5)
    digest, _ = registry.push_image("sigverify/sigverify", tag)
    payload = json.dumps({
        "critical": {"identity": {"docker-reference": f"{registry.host}/sigverify/sigverify"},
                     "image": {"docker-manifest-digest": digest}, "type": "cosign container image signature"},
        "optional": None,
    }).encode()  # fmt: skip
    ref = identity.rsplit("@", 1)[-1]
    signer = sigstore.issue(
        san=identity,
        issuer=issuer,
        claims={FULCIO + "9": identity, FULCIO + "11": runner, FULCIO + "12": repo_uri, FULCIO + "14": ref},
    )
    art = signature_manifest(digest, [SignatureLayer(payload, sigstore.classic_signature(payload, signer))])
    for blob in art.blobs.values():
        registry.push_blob("sigverify/sigverify", blob)
    registry.push_manifest("sigverify/sigverify", art.tag, art.manifest, art.media_type)
    return f"{registry.host}/sigverify/sigverify:{tag}"


def config_for(tmp_path: Path, registry: RegistryServer, sigstore: TestSigstore) -> Path:
    doc: dict[str, Any] = yaml.safe_load(POLICY.read_text())
    (policy,) = doc["policies"]
    assert policy["match"] == ["ghcr.io/sigverify/sigverify"]
    policy["match"] = [f"{registry.host}/sigverify/sigverify"]
    doc["trust_root"] = str(sigstore.write_trusted_root(tmp_path))
    doc["registries"] = {registry.host: {"insecure": True}}
    path = tmp_path / "verify-sigverify.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def verify(capsys: pytest.CaptureFixture[str], config: Path, ref: str) -> tuple[int, dict[str, Any]]:
    from sigverify.cli import main

    code = main(["verify", "--config", str(config), "--format", "json", "--ci", "none", "--offline", "--", ref])
    return code, json.loads(capsys.readouterr().out)


def reasons(report: dict[str, Any]) -> set[str]:
    return {r["code"] for image in report["images"] for p in image["policies"] for r in p.get("reasons", [])}


def test_policy_pins_the_exact_issuer_and_an_anchored_release_identity() -> None:
    (policy,) = yaml.safe_load(POLICY.read_text())["policies"]
    (authority,) = policy["authorities"]
    keyless = authority["keyless"]
    assert keyless["issuer"] == "https://token.actions.githubusercontent.com" and "issuer_regexp" not in keyless
    assert keyless["subject_regexp"].startswith(r"https://github\.com/sigverify/sigverify/\.github/workflows/")
    assert r"release\.yml@refs/tags/v" in keyless["subject_regexp"]


@pytest.mark.parametrize("tag", ["v1.2.3", "v10.0.1", "v1.3.0-rc.1"])
def test_release_workflow_at_a_version_tag_passes(
    tag: str, registry: RegistryServer, sigstore: TestSigstore, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    ref = sign_and_push(registry, sigstore, f"{RELEASE}@refs/tags/{tag}")
    code, report = verify(capsys, config_for(tmp_path, registry, sigstore), ref)
    assert code == 0, json.dumps(report["images"], indent=1)[:3000]
    assert report["images"][0]["signatures"][0]["signer"] == f"{RELEASE}@refs/tags/{tag} (issuer {GITHUB_ISSUER})"


@pytest.mark.parametrize(
    ("identity", "overrides"),
    [
        (f"{RELEASE}@refs/heads/main", {}),  # a branch build
        (f"{RELEASE}@refs/tags/latest", {}),  # not a version tag
        (f"{RELEASE}@refs/tags/v1.2.3/../../heads/main", {}),  # suffix after the tag: anchored at the end
        (f"{REPO_URI}/.github/workflows/ci.yml@refs/tags/v1.2.3", {}),  # another workflow of the repository
        ("https://github.com/evil/sigverify/.github/workflows/release.yml@refs/tags/v1.2.3", {}),  # a fork
        (f"x{RELEASE}@refs/tags/v1.2.3", {}),  # prefix: anchored at the start
        (f"{RELEASE}@refs/tags/v1.2.3", {"issuer": GITHUB_ISSUER + ".evil.example"}),  # issuer compared exactly
        (f"{RELEASE}@refs/tags/v1.2.3", {"runner": "self-hosted"}),
        (f"{RELEASE}@refs/tags/v1.2.3", {"repo_uri": "https://github.com/evil/sigverify"}),
    ],
)
def test_anything_else_fails_with_identity_mismatch(
    identity: str, overrides: dict[str, str], registry: RegistryServer, sigstore: TestSigstore,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    ref = sign_and_push(registry, sigstore, identity, **overrides)
    code, report = verify(capsys, config_for(tmp_path, registry, sigstore), ref)
    assert code == 1
    assert reasons(report) == {"IDENTITY_MISMATCH"}, json.dumps(report["images"], indent=1)[:3000]


def test_a_signature_from_another_sigstore_fails(
    registry: RegistryServer, sigstore: TestSigstore, other_sigstore: TestSigstore, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    ref = sign_and_push(registry, other_sigstore, f"{RELEASE}@refs/tags/v1.2.3")
    code, report = verify(capsys, config_for(tmp_path, registry, sigstore), ref)
    assert code == 1 and "IDENTITY_MISMATCH" not in reasons(report) and reasons(report)
