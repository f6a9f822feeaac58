"""End to end through `sigverify verify` and the real docker-registry: a classic keyless `.sig` pushed without its
Rekor bundle annotation passes when its entry is found in the local Rekor v1 API server, and fails TLOG_INVALID
with --offline (no request is made) or when the log has no entry for it."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from sigverify.cli import main
from tests.fixtures.cosign_sign import SignatureLayer, signature_manifest
from tests.fixtures.registry import RegistryServer, unique_repo
from tests.fixtures.rekorserver import RekorServer, rekor_server, trusted_root_for
from tests.fixtures.testsigstore import GITHUB_ISSUER, WORKFLOW, TestSigstore

__all__ = ["rekor_server"]

pytestmark = pytest.mark.registry


def _push_unannotated(registry: RegistryServer, ts: TestSigstore, repo: str) -> tuple[bytes, bytes, bytes]:
    digest, _ = registry.push_image(repo, "v1")
    payload = json.dumps({"critical": {"identity": {"docker-reference": f"{registry.host}/{repo}"},
                                       "image": {"docker-manifest-digest": digest},
                                       "type": "cosign container image signature"}, "optional": None}).encode()
    ann = ts.classic_signature(payload, with_bundle=False)
    art = signature_manifest(digest, [SignatureLayer(payload, ann)])
    for blob in art.blobs.values():
        registry.push_blob(repo, blob)
    registry.push_manifest(repo, art.tag, art.manifest, art.media_type)
    sig = base64.b64decode(ann["dev.cosignproject.cosign/signature"])
    return payload, sig, ann["dev.sigstore.cosign/certificate"].encode()


def _run(capsys: pytest.CaptureFixture[str], tmp_path: Path, registry: RegistryServer, root: Path, image: str,
         *extra: str) -> tuple[int, dict[str, Any]]:
    cfg = tmp_path / "sigverify.yaml"
    cfg.write_text(yaml.safe_dump({
        "version": 1, "images": [image], "trust_root": str(root),
        "registries": {registry.host: {"insecure": True}},
        "policies": [{"name": "release", "match": [f"{registry.host}/**"], "authorities": [
            {"name": "gha", "keyless": {"issuer": GITHUB_ISSUER, "subject": WORKFLOW}}]}]}))
    code = main(["verify", "--config", str(cfg), "--format", "json", "--ci", "none", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_classic_sig_without_bundle_is_looked_up(registry: RegistryServer, rekor_server: RekorServer,
                                                 test_sigstore: TestSigstore, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    repo = unique_repo("lookup")
    payload, sig, pem = _push_unannotated(registry, test_sigstore, repo)
    root = trusted_root_for(test_sigstore, rekor_server.url, tmp_path)
    image = f"{registry.host}/{repo}:v1"
    code, report = _run(capsys, tmp_path, registry, root, image, "--offline")
    assert code == 1 and "TLOG_INVALID" in json.dumps(report["images"][0])
    assert rekor_server.requests == []
    code, report = _run(capsys, tmp_path, registry, root, image)
    assert code == 1 and "no entry" in json.dumps(report["images"][0])
    rekor_server.log_hashedrekord(payload, sig, pem)
    code, report = _run(capsys, tmp_path, registry, root, image)
    assert code == 0, json.dumps(report["images"][0], indent=1)
    checks = report["images"][0]["signatures"]
    assert checks[0]["verified"] is True and checks[0]["details"]["tlog"]["log"] == rekor_server.url
