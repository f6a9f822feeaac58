"""Real bundles that no one here made, each with a tampered twin: npm provenance (sha512-only subjects) and npm
registry publish attestations (a key hint that is npm's key id), GitHub artifact attestations, slsa-github-generator,
PyPI publish attestations (PEP 740, read as the bundle they encode) and sigstore-java's signed Maven Central jar.

Bundles come from ../shared/vectors or from package registries (tests/fixtures/real_assets.py, pinned by sha256);
all are verified offline against the production trusted root embedded in sigverify."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sigverify.cli.verify_blob import main
from sigverify.models import Code
from tests.fixtures.real_assets import real_asset

__all__ = ["real_asset"]

GHA = "https://token.actions.githubusercontent.com"
SIGSTORE_JS = "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
Asset = Callable[[str], Path]


def _run(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str | None]:
    """verify-blob offline with the embedded production root: (exit code, reason code)."""
    capsys.readouterr()
    rc = main([*args, "--offline", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    reason = out.get("reason")
    return rc, reason.get("code") if isinstance(reason, dict) else None


def _keyless(subject: str, issuer: str = GHA) -> list[str]:
    return ["--certificate-identity", subject, "--certificate-oidc-issuer", issuer]


def _write(tmp_path: Path, name: str, doc: dict[str, Any]) -> str:
    p = tmp_path / name
    p.write_text(json.dumps(doc))
    return str(p)


def _flip_signature(doc: dict[str, Any]) -> dict[str, Any]:
    """The same bundle with one bit of its signature flipped."""
    out: dict[str, Any] = json.loads(json.dumps(doc))
    if "dsseEnvelope" in out:
        holder, key = out["dsseEnvelope"]["signatures"][0], "sig"
    else:
        holder, key = out["messageSignature"], "signature"
    raw = bytearray(base64.b64decode(holder[key]))
    raw[len(raw) // 2] ^= 0x01
    holder[key] = base64.b64encode(bytes(raw)).decode()
    return out


def _flip_subject_digest(doc: dict[str, Any]) -> dict[str, Any]:
    """The same bundle with one hex digit of the signed statement's first subject digest changed."""
    out: dict[str, Any] = json.loads(json.dumps(doc))
    env = out["dsseEnvelope"]
    statement = json.loads(base64.b64decode(env["payload"]))
    alg, value = next(iter(statement["subject"][0]["digest"].items()))
    statement["subject"][0]["digest"][alg] = ("1" if value[0] != "1" else "2") + value[1:]
    env["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    return out


def _load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def _pep740_bundle(path: Path) -> dict[str, Any]:
    """A PEP 740 attestation is a Sigstore bundle in other clothes: certificate, log entries, DSSE envelope."""
    att = _load(path)
    vm = att["verification_material"]
    return {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"certificate": {"rawBytes": vm["certificate"]},
                                 "tlogEntries": vm["transparency_entries"]},
        "dsseEnvelope": {"payload": att["envelope"]["statement"], "payloadType": "application/vnd.in-toto+json",
                         "signatures": [{"sig": att["envelope"]["signature"]}]},
    }


def test_npm_provenance_sha512_subject(vectors: Path, real_asset: Asset, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """sigstore@1.3.0's npm provenance (bundle v0.1, inclusion promise only, `"inclusionProof": null`, intoto
    entry): its subject names the tarball by sha512 only."""
    bundle = _load(vectors / "sigstore-go/examples/bundle-provenance.json")
    tgz = str(real_asset("npm-sigstore-1.3.0") / "sigstore-1.3.0.tgz")
    ident = _keyless(SIGSTORE_JS)
    assert _run(capsys, ["--bundle", _write(tmp_path, "b.json", bundle), *ident, tgz]) == (0, None)
    assert _run(capsys, ["--bundle", _write(tmp_path, "t.json", _flip_subject_digest(bundle)), *ident, tgz]) == (
        1, Code.INVALID_SIGNATURE)
    other = str(real_asset("npm-sigstore-2.0.0") / "sigstore-2.0.0.tgz")
    assert _run(capsys, ["--bundle", str(tmp_path / "b.json"), *ident, other]) == (1, Code.DIGEST_MISMATCH)


def test_npm_registry_publish_attestation_key_hint(vectors: Path, real_asset: Asset, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """npm's publish attestation for sigstore@1.3.0: signed with npm's registry key, hint `SHA256:jl3b…` (npm's key
    id, not an SPKI hash). With the key the signature decides."""
    bundle = _load(vectors / "sigstore-go/examples/bundle-publish.json")
    assert bundle["verificationMaterial"]["publicKey"]["hint"].startswith("SHA256:")
    key = ["--key", str(vectors / "sigstore-go/examples/publish_key.pub")]
    tgz = str(real_asset("npm-sigstore-1.3.0") / "sigstore-1.3.0.tgz")
    assert _run(capsys, ["--bundle", _write(tmp_path, "b.json", bundle), *key, tgz]) == (0, None)
    assert _run(capsys, ["--bundle", _write(tmp_path, "t.json", _flip_signature(bundle)), *key, tgz]) == (
        1, Code.INVALID_SIGNATURE)
    assert _run(capsys, ["--bundle", _write(tmp_path, "s.json", _flip_subject_digest(bundle)), *key, tgz]) == (
        1, Code.INVALID_SIGNATURE)
    # Another key (cosign's test key from the vectors) does not verify it, whatever the hint says.
    other = ["--key", str(vectors / "containers-image/signature/fixtures/cosign.pub")]
    assert _run(capsys, ["--bundle", str(tmp_path / "b.json"), *other, tgz]) == (1, Code.INVALID_SIGNATURE)
    # The log entry's SET binds the entry: one flipped bit is refused.
    forged = json.loads(json.dumps(bundle))
    entry = forged["verificationMaterial"]["tlogEntries"][0]
    raw = bytearray(base64.b64decode(entry["inclusionPromise"]["signedEntryTimestamp"]))
    raw[10] ^= 1
    entry["inclusionPromise"]["signedEntryTimestamp"] = base64.b64encode(bytes(raw)).decode()
    assert _run(capsys, ["--bundle", _write(tmp_path, "f.json", forged), *key, tgz]) == (1, Code.TLOG_INVALID)


@pytest.mark.parametrize(("asset", "bundle", "artifact"), [
    ("npm-sigstore-2.0.0", "sigstore-go/pkg/testing/data/bundles/sigstore.js@2.0.0-provenance.sigstore.json",
     "sigstore-2.0.0.tgz"),
    ("gh-cli-2.74.0", "sigstore-js-2.1.0-bundle.json", "sigstore-js-2.1.0.tgz"),
])
def test_npm_provenance_v02_bundles(vectors: Path, real_asset: Asset, tmp_path: Path, asset: str, bundle: str,
                                    artifact: str, capsys: pytest.CaptureFixture[str]) -> None:
    folder = real_asset(asset)
    path = folder / bundle if (folder / bundle).is_file() else vectors / bundle
    doc = _load(path)
    tgz = str(folder / artifact)
    ident = _keyless(SIGSTORE_JS)
    assert _run(capsys, ["--bundle", str(path), *ident, tgz]) == (0, None)
    assert _run(capsys, ["--bundle", _write(tmp_path, "t.json", _flip_signature(doc)), *ident, tgz]) == (
        1, Code.INVALID_SIGNATURE)
    assert _run(capsys, ["--bundle", _write(tmp_path, "s.json", _flip_subject_digest(doc)), *ident, tgz]) == (
        1, Code.INVALID_SIGNATURE)


def test_github_artifact_attestation(real_asset: Asset, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`actions/attest-build-provenance` through GitHub's reusable attestation workflow (public-good instance)."""
    folder = real_asset("gh-cli-2.74.0")
    doc = _load(folder / "reusable-workflow-attestation.sigstore.json")
    art = str(folder / "reusable-workflow-artifact")
    ident = _keyless("https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml"
                     "@09b495c3f12c7881b3cc17209a327792065c1a1d")
    bundle = str(folder / "reusable-workflow-attestation.sigstore.json")
    assert _run(capsys, ["--bundle", bundle, *ident, art]) == (0, None)
    assert _run(capsys, ["--bundle", _write(tmp_path, "t.json", _flip_subject_digest(doc)), *ident, art]) == (
        1, Code.INVALID_SIGNATURE)
    assert _run(capsys, ["--bundle", bundle, *_keyless("https://github.com/other/repo/.github/workflows/x.yml@"
                                                       "refs/heads/main"), art]) == (1, Code.IDENTITY_MISMATCH)


def test_slsa_github_generator_bundle(real_asset: Asset, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    folder = real_asset("slsa-verifier-2.6.0")
    path = folder / "binary-linux-amd64-workflow_dispatch.intoto.build.slsa"
    art = str(folder / "binary-linux-amd64-workflow_dispatch")
    ident = _keyless("https://github.com/slsa-framework/slsa-github-generator/.github/workflows/"
                     "builder_container-based_slsa3.yml@refs/tags/v2.0.0")
    assert _run(capsys, ["--bundle", str(path), *ident, art]) == (0, None)
    assert _run(capsys, ["--bundle", _write(tmp_path, "t.json", _flip_signature(_load(path))), *ident, art]) == (
        1, Code.INVALID_SIGNATURE)
    other = tmp_path / "not-empty"
    other.write_bytes(b"x")
    assert _run(capsys, ["--bundle", str(path), *ident, str(other)]) == (1, Code.DIGEST_MISMATCH)


@pytest.mark.parametrize(("dist", "subject", "issuer"), [
    ("pypi_attestations-0.0.19.tar.gz",
     "https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19", GHA),
    ("gitlab_oidc_project-0.0.3.tar.gz", "https://gitlab.com/facutuesca/gitlab-oidc-project//.gitlab-ci.yml"
     "@refs/heads/main", "https://gitlab.com"),
])
def test_pypi_publish_attestation(real_asset: Asset, tmp_path: Path, dist: str, subject: str, issuer: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    folder = real_asset("pypi-attestations-0.0.28")
    doc = _pep740_bundle(folder / f"{dist}.publish.attestation")
    ident = _keyless(subject, issuer)
    art = str(folder / dist)
    assert _run(capsys, ["--bundle", _write(tmp_path, "b.json", doc), *ident, art]) == (0, None)
    assert _run(capsys, ["--bundle", _write(tmp_path, "t.json", _flip_subject_digest(doc)), *ident, art]) == (
        1, Code.INVALID_SIGNATURE)
    assert _run(capsys, ["--bundle", _write(tmp_path, "s.json", _flip_signature(doc)), *ident, art]) == (
        1, Code.INVALID_SIGNATURE)


def test_sigstore_java_maven_central_jar(real_asset: Asset, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """sigstore-java 1.0.0 as Maven Central serves it: the jar and its message-signature bundle."""
    jar = real_asset("maven-sigstore-java-1.0.0-jar") / "sigstore-java-1.0.0.jar"
    path = real_asset("maven-sigstore-java-1.0.0-bundle") / "sigstore-java-1.0.0.jar.sigstore.json"
    ident = _keyless("https://github.com/sigstore/sigstore-java/.github/workflows/release-sigstore-java-from-tag.yaml"
                     "@refs/tags/v1.0.0")
    assert _run(capsys, ["--bundle", str(path), *ident, str(jar)]) == (0, None)
    assert _run(capsys, ["--bundle", _write(tmp_path, "t.json", _flip_signature(_load(path))), *ident, str(jar)]) == (
        1, Code.INVALID_SIGNATURE)
    altered = bytearray(jar.read_bytes())
    altered[1000] ^= 1
    (tmp_path / "altered.jar").write_bytes(bytes(altered))
    assert _run(capsys, ["--bundle", str(path), *ident, str(tmp_path / "altered.jar")]) == (1, Code.DIGEST_MISMATCH)


def test_files_entries_with_real_bundles(vectors: Path, real_asset: Asset) -> None:
    """The config's `files:` path: npm provenance (keyless, sha512) and npm's publish attestation (npm's key)."""
    from sigverify.crypto.trustroot import TrustStore
    from sigverify.formats.blob import verify_file
    from sigverify.policy.model import BlobEntry
    from tests.sigstore.helpers import key_authority, keyless

    trust = TrustStore()
    tgz = str(real_asset("npm-sigstore-1.3.0") / "sigstore-1.3.0.tgz")
    ex = vectors / "sigstore-go/examples"
    npm_key = key_authority("npm", (ex / "publish_key.pub").read_bytes())
    gha = keyless("sigstore-js", SIGSTORE_JS, GHA)
    checks = verify_file(BlobEntry(path=tgz, bundle=str(ex / "bundle-provenance.json")), [gha], trust)
    assert [c.ok for c in checks] == [True], checks
    checks = verify_file(BlobEntry(path=tgz, bundle=str(ex / "bundle-publish.json")), [npm_key], trust)
    assert [c.ok for c in checks] == [True], checks
    other = str(real_asset("npm-sigstore-2.0.0") / "sigstore-2.0.0.tgz")
    checks = verify_file(BlobEntry(path=other, bundle=str(ex / "bundle-publish.json")), [npm_key], trust)
    assert checks[0].reason is not None and checks[0].reason.code == Code.DIGEST_MISMATCH



def test_sigverify_verify_files_with_real_bundles(vectors: Path, real_asset: Asset, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """`sigverify verify` with `files:`: sigstore-java's signed jar passes its policy; npm's provenance and publish
    attestation of sigstore@1.3.0 verify as attestations (kind attestation, subject bound by sha512) and, listed
    against sigstore@2.0.0, fail with DIGEST_MISMATCH."""
    import yaml

    from sigverify.cli import main as sigverify_main

    ex = vectors / "sigstore-go/examples"
    jar = str(real_asset("maven-sigstore-java-1.0.0-jar") / "sigstore-java-1.0.0.jar")
    jar_bundle = str(real_asset("maven-sigstore-java-1.0.0-bundle") / "sigstore-java-1.0.0.jar.sigstore.json")
    java_id = ("https://github.com/sigstore/sigstore-java/.github/workflows/release-sigstore-java-from-tag.yaml"
               "@refs/tags/v1.0.0")

    def run(tgz: str) -> tuple[int, list[dict[str, Any]]]:
        cfg = tmp_path / "files.yaml"
        cfg.write_text(yaml.safe_dump({
            "version": 1,
            "files": [{"path": jar, "bundle": jar_bundle, "policy": "java"},
                      {"path": tgz, "bundle": str(ex / "bundle-provenance.json"), "policy": "npm-provenance"},
                      {"path": tgz, "bundle": str(ex / "bundle-publish.json"), "policy": "npm-registry"}],
            "policies": [
                {"name": "java", "match": ["registry.invalid/j/**"], "authorities": [
                    {"name": "sigstore-java", "keyless": {"issuer": GHA, "subject": java_id}}]},
                {"name": "npm-provenance", "match": ["registry.invalid/a/**"], "authorities": [
                    {"name": "sigstore-js", "keyless": {"issuer": GHA, "subject": SIGSTORE_JS}}]},
                {"name": "npm-registry", "match": ["registry.invalid/b/**"], "authorities": [
                    {"name": "npm", "key": {"path": str(ex / "publish_key.pub")}}]},
            ]}))
        code = sigverify_main(["verify", "--config", str(cfg), "--offline", "--format", "json", "--ci", "none"])
        images: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["images"]
        return code, images

    _, images = run(str(real_asset("npm-sigstore-1.3.0") / "sigstore-1.3.0.tgz"))
    assert images[0]["verdict"] == "pass", images[0]
    for image in images[1:]:  # a verified attestation is not a signature: it satisfies `attestations:` only
        (check,) = image["signatures"]
        assert check["verified"] is True and check["details"]["kind"] == "attestation", check
        assert check["details"]["statement_subject_ok"] is True
    _, images = run(str(real_asset("npm-sigstore-2.0.0") / "sigstore-2.0.0.tgz"))
    for image in images[1:]:
        (check,) = image["signatures"]
        assert check["verified"] is False and check["reason"]["code"] == "DIGEST_MISMATCH", check
