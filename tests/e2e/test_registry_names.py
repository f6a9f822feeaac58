"""Registry names in any spelling meet the policies and settings written for the normal form (real registry)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from sigverify.cli import main
from tests.e2e.test_gate_registry import key_authority, push_signed
from tests.fixtures.cosign_sign import KeyPair, generate_key, sign_image
from tests.fixtures.registry import RegistryServer, unique_repo


def _verify(capsys: pytest.CaptureFixture[str], tmp_path: Path, doc: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    cfg = tmp_path / "sigverify.yaml"
    cfg.write_text(yaml.safe_dump({"version": 1, **doc}, sort_keys=False))
    code = main(["verify", "--config", str(cfg), "--format", "json", "--ci", "none"])
    out, err = capsys.readouterr()
    assert out.startswith("{"), f"exit {code}, no report:\n{err}"
    return code, json.loads(out)


def _codes(image: dict[str, Any]) -> str:
    return json.dumps(image)


@pytest.fixture
def key() -> KeyPair:
    return generate_key("p256")


def test_unsigned_images_in_other_spellings_fail_under_default_allow(
    registry: RegistryServer, tmp_path: Path, key: KeyPair, capsys: pytest.CaptureFixture[str]
) -> None:
    port = registry.port
    repo = unique_repo("names")
    push_signed(registry, repo, "unsigned")
    written = [f"Localhost:{port}/{repo}:unsigned", f"127.0.0.1:0{port}/{repo}:unsigned"]
    code, doc = _verify(
        capsys,
        tmp_path,
        {
            "default": "allow",
            "images": written,
            "registries": {f"localhost:{port}": {"insecure": True}, f"127.0.0.1:{port}": {"insecure": True}},
            "policies": [
                {
                    "name": "team",
                    "match": [f"localhost:{port}/{repo}", f"127.0.0.1:{port}/{repo}"],
                    "authorities": [key_authority(tmp_path, key)],
                }
            ],
        },
    )
    assert code == 1
    assert [i["reference"] for i in doc["images"]] == written
    for image in doc["images"]:
        assert image["verdict"] == "fail", image
        assert "NO_SIGNATURE" in _codes(image) and "DEFAULT_ALLOW" not in _codes(image)
    assert doc["images"][0]["resolved"].startswith(f"localhost:{port}/{repo}")
    assert doc["images"][1]["resolved"].startswith(f"127.0.0.1:{port}/{repo}")


def test_settings_and_patterns_in_other_spellings_apply_to_the_normal_form(
    registry: RegistryServer, tmp_path: Path, key: KeyPair, capsys: pytest.CaptureFixture[str]
) -> None:
    port = registry.port
    repo = unique_repo("names")
    signed = push_signed(registry, repo, "v1", lambda d: [sign_image(key, d)])
    other = generate_key("p256")
    code, doc = _verify(
        capsys,
        tmp_path,
        {
            "default": "allow",
            # the insecure setting written in another spelling is what lets sigverify speak HTTP to the registry
            "images": [
                f"LOCALHOST:{port}/{repo}:v1",
                f"127.0.0.1:00{port}/{repo}@{signed.digest}",
                f"127.0.0.1:{port}/{repo}:v1",
                f"127.0.0.1:0{port}/{repo}:v1",
            ],
            "registries": {f"LocalHost:{port}": {"insecure": True}, f"127.0.0.1:{port}": {"insecure": True}},
            "policies": [
                {
                    "name": "team",
                    "match": [f"Localhost:0{port}/{repo.split('/')[0]}/**", f"127.0.0.1:0{port}/**"],
                    "authorities": [key_authority(tmp_path, key)],
                },
                {
                    "name": "regexp",
                    "match": [{"regexp": rf"127\.0\.0\.1:{port}/{repo}"}],
                    "authorities": [key_authority(tmp_path, other, name="other")],
                    "mode": "warn",
                },
            ],
        },
    )
    images = doc["images"]
    # two spellings of one image:tag are verified once
    assert [i["reference"] for i in images] == [
        f"LOCALHOST:{port}/{repo}:v1",
        f"127.0.0.1:00{port}/{repo}@{signed.digest}",
        f"127.0.0.1:{port}/{repo}:v1",
    ]
    assert images[0]["verdict"] == "pass" and images[0]["digest"] == signed.digest
    assert [p["policy"] for p in images[0]["policies"]] == ["team"]
    for image in images[1:]:  # the regexp written for the normal form applies too (in warn mode: warn)
        assert image["digest"] == signed.digest
        assert [p["policy"] for p in image["policies"]] == ["team", "regexp"]
        assert image["verdict"] == "warn", image
    assert code == 0
