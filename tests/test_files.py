"""`files:` in the config: signed release files verified by `sigverify verify`, like images (real Sigstore bundles)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sigverify.cli import main

IDENTITY = ("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/"
            "extremely-dangerous-oidc-beacon.yml@refs/heads/main")
ISSUER = "https://token.actions.githubusercontent.com"


def _config(tmp_path: Path, vectors: Path, files: list[dict[str, str]], subject: str = IDENTITY) -> Path:
    cfg = tmp_path / "files.yaml"
    cfg.write_text(yaml.safe_dump({
        "version": 1,
        "files": files,
        "policies": [{"name": "release", "match": ["registry.invalid/**"], "authorities": [
            {"name": "beacon", "keyless": {"issuer": ISSUER, "subject": subject}}]}],
    }))
    return cfg


def test_files_pass_and_fail_like_images(tmp_path: Path, vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = vectors / "sigstore-conformance/test/assets/bundle-verify"
    files = [
        {"path": str(base / "a.txt"), "bundle": str(base / "happy-path-v0.3/bundle.sigstore.json")},
        {"path": str(base / "wrong-material_fail/artifact"),
         "bundle": str(base / "wrong-material_fail/bundle.sigstore.json")},
    ]
    code = main(["verify", "--config", str(_config(tmp_path, vectors, files)), "--offline", "--format", "json",
                 "--ci", "none"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    ok, bad = doc["images"]
    assert ok["reference"] == "file:" + str(base / "a.txt") and ok["verdict"] == "pass"
    assert ok["digest"].startswith("sha256:")
    assert bad["verdict"] == "fail"
    code = main(["verify", "--config", str(_config(tmp_path, vectors, files[:1], subject="someone-else")),
                 "--offline", "--format", "json", "--ci", "none"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["images"][0]["reasons"][0]["code"] == "IDENTITY_MISMATCH"
