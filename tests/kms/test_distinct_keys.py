"""Two authorities of one policy whose KMS keys are one key once fetched (an alias and its ARN, a KMS key and its
exported PEM) are refused before any image is verified (exit 2): a threshold counts distinct signers."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from sigverify.cli import main
from sigverify.crypto import keys
from tests.kms.conftest import ACCOUNT, REGION, free_port


@pytest.fixture(autouse=True)
def _fresh_key_cache() -> None:
    keys.CACHE.clear()


def _config(tmp_path: Path, authorities: list[dict[str, Any]], threshold: int = 2) -> Path:
    cfg = tmp_path / "sigverify.yaml"
    host = f"127.0.0.1:{free_port()}"  # nothing listens: an image that got that far is a registry error
    cfg.write_text(yaml.safe_dump({
        "version": 1,
        "images": [f"{host}/team/app:1"],
        "policies": [{"name": "vendor", "match": [f"{host}/**"], "threshold": threshold,
                      "authorities": authorities}],
    }, sort_keys=False))
    return cfg


def _key(kms: Any) -> tuple[dict[str, Any], str]:
    meta: dict[str, Any] = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    alias = f"alias/sigverify-thr-{uuid.uuid4().hex[:12]}"
    kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    return meta, alias


def _verify(cfg: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["verify", "--config", str(cfg), "--format", "json", "--ci", "none", *extra])
    return code, capsys.readouterr().err


def test_alias_and_arn_of_one_kms_key_are_refused_at_start(aws_env: dict[str, str], kms: Any, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    meta, alias = _key(kms)
    cfg = _config(tmp_path, [
        {"name": "by-alias", "key": {"kms": f"awskms:///{alias}"}, "tlog": "ignore"},
        {"name": "by-arn", "key": {"kms": f"awskms:///{meta['Arn']}"}, "tlog": "ignore"},
    ])
    code, err = _verify(cfg, capsys)
    assert code == 2
    assert "authorities 'by-alias' and 'by-arn' of policy 'vendor' hold the same public key (sha256:" in err
    assert "team/app" not in err  # nothing was verified: refused before any image


def test_kms_key_and_its_exported_pem_are_refused(aws_env: dict[str, str], kms: Any, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    meta, alias = _key(kms)
    der = kms.get_public_key(KeyId=meta["KeyId"])["PublicKey"]
    pem = serialization.load_der_public_key(der).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    cfg = _config(tmp_path, [
        {"name": "exported", "key": {"pem": pem}, "tlog": "ignore"},
        {"name": "kms", "key": {"kms": f"awskms:///arn:aws:kms:{REGION}:{ACCOUNT}:{alias}"}, "tlog": "ignore"},
    ])
    code, err = _verify(cfg, capsys)
    assert code == 2 and "authorities 'exported' and 'kms' of policy 'vendor' hold the same public key" in err


def test_two_distinct_kms_keys_pass_the_preflight(aws_env: dict[str, str], kms: Any, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (_, first), (_, second) = _key(kms), _key(kms)
    cfg = _config(tmp_path, [
        {"name": "a", "key": {"kms": f"awskms:///{first}"}, "tlog": "ignore"},
        {"name": "b", "key": {"kms": f"awskms:///{second}"}, "tlog": "ignore"},
    ])
    code = main(["verify", "--config", str(cfg), "--format", "json", "--ci", "none", "--timeout", "5"])
    out, err = capsys.readouterr()
    assert code == 1 and "hold the same public key" not in err
    assert '"verdict": "error"' in out  # went on to the (unreachable) registry
