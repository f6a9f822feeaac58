"""End to end: cosign classic signatures made through the KMS Sign API (moto), pushed to a real registry
(Debian docker-registry), verified by the sigverify CLI with ``key: {kms: awskms://...}`` and with the exported
public key (``key: {path: vendor.pem}``)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.cosign_sign import SIG_ANNOTATION, SignatureLayer, signature_manifest, simple_signing_payload
from tests.fixtures.registry import RegistryServer, unique_repo
from tests.kms.conftest import ACCOUNT, REGION, SECRET_ACCESS_KEY, MotoServer, aws_environment

pytestmark = pytest.mark.registry

ALGORITHM = {"ECC_NIST_P256": "ECDSA_SHA_256", "RSA_2048": "RSASSA_PKCS1_V1_5_SHA_256",
             "ECC_NIST_P384": "ECDSA_SHA_384", "ECC_NIST_P521": "ECDSA_SHA_512"}


def create_signing_key(kms: Any, spec: str) -> tuple[dict[str, Any], str]:
    meta: dict[str, Any] = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY",
                                          Description="vendor cosign key")["KeyMetadata"]
    alias = f"alias/vendor-cosign-{uuid.uuid4().hex[:10]}"
    kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    return meta, alias


def kms_sign_image(kms: Any, key_id: str, spec: str, digest: str, docker_reference: str) -> SignatureLayer:
    """The `.sig` layer `cosign sign --key awskms://...` stores: the simple-signing payload signed by KMS.

    cosign asks KMS to sign SHA-256(payload) with MessageType=DIGEST; moto implements only RAW (it hashes the
    message itself), which by the AWS API's definition yields the same signature input."""
    payload = simple_signing_payload(digest, docker_reference)
    sig = kms.sign(KeyId=key_id, Message=payload, MessageType="RAW", SigningAlgorithm=ALGORITHM[spec])["Signature"]
    return SignatureLayer(payload, {SIG_ANNOTATION: base64.b64encode(sig).decode()})


def push_kms_signed(registry: RegistryServer, kms: Any, key_id: str, spec: str) -> tuple[str, str]:
    repo = unique_repo("kms")
    digest, _ = registry.push_image(repo, "1.0")
    layer = kms_sign_image(kms, key_id, spec, digest, f"{registry.host}/{repo}")
    art = signature_manifest(digest, [layer])
    for blob in art.blobs.values():
        registry.push_blob(repo, blob)
    registry.push_manifest(repo, art.tag, art.manifest, art.media_type)
    return f"{registry.host}/{repo}:1.0", digest


def export_public_key(kms: Any, key_id: str, out: Path) -> Path:
    """The vendor docs' offline route: aws kms get-public-key ... | base64 -d | openssl pkey -pubin -inform DER."""
    der = kms.get_public_key(KeyId=key_id)["PublicKey"]
    openssl = shutil.which("openssl")
    if openssl is not None:
        subprocess.run([openssl, "pkey", "-pubin", "-inform", "DER", "-out", str(out)], input=der, check=True)
    else:
        from cryptography.hazmat.primitives import serialization

        key = serialization.load_der_public_key(der)
        out.write_bytes(key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return out


def write_config(path: Path, registry: RegistryServer, image: str, key: dict[str, str]) -> Path:
    doc = {
        "version": 1,
        "images": [image],
        "registries": {registry.host: {"insecure": True}},
        "policies": [{
            "name": "vendor",
            "match": [f"{registry.host}/**"],
            "authorities": [{"name": "vendor-key", "key": key, "tlog": "ignore"}],
        }],
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def sigverify(config: Path, env: dict[str, str]) -> tuple[int, dict[str, Any], str]:
    """`sigverify verify --config X --format json` in a fresh process with the given AWS environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.run(
        [sys.executable, "-m", "sigverify", "verify", "--config", str(config), "--format", "json", "--ci", "none"],
        env={**base, **env}, capture_output=True, text=True, timeout=120,
    )
    assert SECRET_ACCESS_KEY not in proc.stdout + proc.stderr
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"no JSON report (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc.returncode, report, proc.stderr


@pytest.mark.parametrize(("spec", "uri_form"), [("ECC_NIST_P256", "alias"), ("RSA_2048", "alias ARN"),
                                                ("ECC_NIST_P384", "key ARN"), ("ECC_NIST_P521", "key ID")])
def test_kms_signature_verifies_with_the_kms_uri_and_with_the_exported_key(
    registry: RegistryServer, moto: MotoServer, kms: Any, tmp_path: Path, spec: str, uri_form: str
) -> None:
    meta, alias = create_signing_key(kms, spec)
    image, digest = push_kms_signed(registry, kms, meta["KeyId"], spec)
    uri = {
        "alias": f"awskms:///{alias}",
        "alias ARN": f"awskms:///arn:aws:kms:{REGION}:{ACCOUNT}:{alias}",
        "key ARN": f"awskms:///{meta['Arn']}",
        "key ID": f"awskms:///{meta['KeyId']}",
    }[uri_form]
    env = aws_environment(moto, tmp_path)

    code, report, _ = sigverify(write_config(tmp_path / "kms.yaml", registry, image, {"kms": uri}), env)
    assert code == 0, report
    online = report["images"][0]
    assert online["verdict"] == "pass" and online["digest"] == digest
    assert online["signatures"][0]["verified"] is True

    vendor_pem = export_public_key(kms, meta["KeyId"], tmp_path / "vendor.pem")
    offline_cfg = write_config(tmp_path / "offline.yaml", registry, image, {"path": str(vendor_pem)})
    code, report, _ = sigverify(offline_cfg, {})  # no AWS settings at all: fully offline
    assert code == 0, report
    offline = report["images"][0]
    assert offline["verdict"] == "pass" and offline["digest"] == digest
    assert offline["signatures"][0]["signer"] == online["signatures"][0]["signer"]  # the same key fingerprint


def test_signature_from_another_kms_key_fails(registry: RegistryServer, moto: MotoServer, kms: Any,
                                              tmp_path: Path) -> None:
    _vendor, vendor_alias = create_signing_key(kms, "ECC_NIST_P256")
    attacker, _ = create_signing_key(kms, "ECC_NIST_P256")
    image, _digest = push_kms_signed(registry, kms, attacker["KeyId"], "ECC_NIST_P256")
    cfg = write_config(tmp_path / "kms.yaml", registry, image, {"kms": f"awskms:///{vendor_alias}"})
    code, report, _ = sigverify(cfg, aws_environment(moto, tmp_path))
    assert code == 1
    result = report["images"][0]
    assert result["verdict"] == "fail"
    assert result["reasons"][0]["code"] == "NO_MATCHING_SIGNATURE"
    assert all(s["verified"] is False for s in result["signatures"])


def test_kms_failure_fails_closed_with_the_reason(registry: RegistryServer, moto: MotoServer, kms: Any,
                                                  tmp_path: Path) -> None:
    """A key that cannot be fetched is never a pass: the report carries KEY_ERROR with KMS's explanation."""
    meta, _alias = create_signing_key(kms, "ECC_NIST_P256")
    image, _digest = push_kms_signed(registry, kms, meta["KeyId"], "ECC_NIST_P256")
    cfg = write_config(tmp_path / "kms.yaml", registry, image, {"kms": "awskms:///alias/no-such-vendor-key"})
    code, report, _ = sigverify(cfg, aws_environment(moto, tmp_path))
    assert code == 1
    result = report["images"][0]
    assert result["verdict"] == "fail"
    assert [r["code"] for r in result["reasons"]] == ["KEY_ERROR"], result["reasons"]
    text = json.dumps(result)
    assert "AWS KMS key not found: alias/no-such-vendor-key (region us-east-1)" in text

    # boto3 is the optional extra: without AWS credentials the reason says how to provide them.
    env = aws_environment(moto, tmp_path)
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    cfg = write_config(tmp_path / "nocreds.yaml", registry, image, {"kms": f"awskms:///{meta['Arn']}"})
    code, report, _ = sigverify(cfg, env)
    assert code == 1 and [r["code"] for r in report["images"][0]["reasons"]] == ["KEY_ERROR"]
    assert "no AWS credentials found to call kms:GetPublicKey" in json.dumps(report["images"][0])


def test_env_uri_holds_the_exported_key(registry: RegistryServer, kms: Any, tmp_path: Path) -> None:
    """`kms: env://VAR` (cosign's env:// key reference): the exported PEM in a CI variable, no AWS at all."""
    meta, _alias = create_signing_key(kms, "ECC_NIST_P256")
    image, digest = push_kms_signed(registry, kms, meta["KeyId"], "ECC_NIST_P256")
    pem = export_public_key(kms, meta["KeyId"], tmp_path / "vendor.pem").read_text()
    cfg = write_config(tmp_path / "env.yaml", registry, image, {"kms": "env://VENDOR_COSIGN_PUB"})
    code, report, _ = sigverify(cfg, {"VENDOR_COSIGN_PUB": pem})
    assert code == 0, report
    assert report["images"][0]["digest"] == digest
    code, report, _ = sigverify(cfg, {})  # variable not set: fails closed, naming the variable
    assert code == 1 and [r["code"] for r in report["images"][0]["reasons"]] == ["KEY_ERROR"]
    assert "environment variable $VENDOR_COSIGN_PUB (from env://VENDOR_COSIGN_PUB) is not set" in json.dumps(report)


def test_export_only_uri_reaches_the_user_with_the_export_command(registry: RegistryServer, kms: Any,
                                                                    tmp_path: Path) -> None:
    """A k8s:// authority never passes; the user sees the kubectl command that exports the key (in the report
    as KEY_ERROR, or as a configuration error if the loader checks URIs up front)."""
    meta, _alias = create_signing_key(kms, "ECC_NIST_P256")
    image, _digest = push_kms_signed(registry, kms, meta["KeyId"], "ECC_NIST_P256")
    uri = "k8s://tekton-chains/signing-secrets"
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    cfg = write_config(tmp_path / "k8s.yaml", registry, image, {"kms": uri})
    proc = subprocess.run(
        [sys.executable, "-m", "sigverify", "verify", "--config", str(cfg), "--format", "json", "--ci", "none"],
        env=base, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode in (1, 2), proc.stderr
    shown = proc.stdout + proc.stderr
    assert "k8s:// keys (Kubernetes secret) are not fetched by sigverify" in shown
    assert "kubectl get secret signing-secrets -n tekton-chains" in shown
    if proc.returncode == 1:
        assert "KEY_ERROR" in proc.stdout and json.loads(proc.stdout)["images"][0]["verdict"] != "pass"
