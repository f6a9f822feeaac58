"""Interop: the real cosign signs images with keys held by the local Vault / Cloud KMS / Key Vault server; the
sigverify CLI verifies them with ``key: {kms: hashivault://... | gcpkms://... | azurekms://...}`` against the
real registry.

cosign signs through Vault's transit API itself (``--key hashivault://NAME``: the server signs); for Cloud KMS and
Key Vault, whose SDKs cosign cannot point at a loopback endpoint, cosign signs with the server's private key
exported (``cosign import-key-pair``), so the signature is the one the service's key makes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.peers import offline_env
from tests.fixtures.registry import RegistryServer, unique_repo
from tests.interop.tools import run
from tests.kms.conftest import require_sdk, service_environment
from tests.kms.fakekms import FakeKms, private_pem
from tests.kms.test_e2e import sigverify, write_config

pytestmark = [pytest.mark.peers, pytest.mark.registry]

RING = "projects/acme-release/locations/global/keyRings/release"


def _sign_flags(major: int) -> list[str]:
    flags = ["--yes", "--tlog-upload=false", "--allow-insecure-registry", "--allow-http-registry"]
    if major >= 3:
        flags += ["--use-signing-config=false", "--new-bundle-format=false"]
    return flags


def _push(registry: RegistryServer) -> tuple[str, str, str]:
    repo = unique_repo("kms-services")
    digest, _ = registry.push_image(repo, "1.0")
    return f"{registry.host}/{repo}:1.0", f"{registry.host}/{repo}@{digest}", digest


def _cosign_sign_with(cosign: str, major: int, key: Any, target: str, tmp: Path, env: dict[str, str]) -> None:
    """`cosign import-key-pair` of the service's private key, then `cosign sign --key` with it."""
    pem = tmp / f"service-{id(key)}.pem"
    pem.write_bytes(private_pem(key))
    prefix = tmp / f"imported-{id(key)}"
    run([cosign, "import-key-pair", "--key", str(pem), "--output-key-prefix", str(prefix)], env, check=True)
    run([cosign, "sign", "--key", f"{prefix}.key", *_sign_flags(major), target], env, check=True)


def _provider_key(fakekms: FakeKms, provider: str, kind: str, label: str) -> tuple[str, Any]:
    """A key of ``kind`` in the server, and the URI naming it."""
    if provider == "gcpkms":
        algorithm = {"ec-p256": "EC_SIGN_P256_SHA256", "ec-p384": "EC_SIGN_P384_SHA384",
                     "rsa-2048": "RSA_SIGN_PKCS1_2048_SHA256"}[kind]
        name = f"{RING}/cryptoKeys/{label}"
        return f"gcpkms://{name}", fakekms.add_gcp_key(name, algorithm).versions["1"].key
    if provider == "azurekms":
        return f"azurekms://{fakekms.host}/{label}", fakekms.add_azure_key(label, kind).key
    return f"hashivault://{label}", fakekms.add_vault_key(label, kind).versions[1]


@pytest.mark.parametrize("provider", ["hashivault", "gcpkms", "azurekms"])
@pytest.mark.parametrize("kind", ["ec-p256", "ec-p384", "rsa-2048"])
@pytest.mark.parametrize("cosign_version", ["cosign2", "cosign3"])
def test_cosign_signature_verifies_with_the_service_uri(
    request: pytest.FixtureRequest, registry: RegistryServer, fakekms: FakeKms, tmp_path: Path,
    provider: str, kind: str, cosign_version: str,
) -> None:
    require_sdk({"hashivault": "hvac", "gcpkms": "google.cloud.kms_v1", "azurekms": "azure.keyvault.keys"}[provider],
                {"hashivault": "vault", "gcpkms": "gcp", "azurekms": "azure"}[provider])
    cosign = request.getfixturevalue(cosign_version)
    major = 3 if cosign_version == "cosign3" else 2
    label = f"vendor-{provider}-{kind}-{cosign_version}"
    uri, key = _provider_key(fakekms, provider, kind, label)
    image, target, digest = _push(registry)
    service = service_environment(fakekms, tmp_path)
    env = {**offline_env(tmp_path / "cosign-home"), **service}
    if provider == "hashivault":
        # cosign's own Vault client asks the server to sign (POST /v1/transit/sign/<name>/sha2-256)
        run([cosign, "sign", "--key", uri, *_sign_flags(major), target], env, check=True)
        assert fakekms.seen(f"/v1/transit/sign/{label}")
    else:
        _cosign_sign_with(cosign, major, key, target, tmp_path, env)

    code, report, stderr = sigverify(write_config(tmp_path / "kms.yaml", registry, image, {"kms": uri}), service)
    assert code == 0, (stderr[-2000:], json.dumps(report, indent=1)[:3000])
    result = report["images"][0]
    assert result["verdict"] == "pass" and result["digest"] == digest


@pytest.mark.parametrize("provider", ["hashivault", "gcpkms", "azurekms"])
def test_signature_by_another_key_of_the_service_fails(
    cosign2: str, registry: RegistryServer, fakekms: FakeKms, tmp_path: Path, provider: str
) -> None:
    vendor_uri, _vendor = _provider_key(fakekms, provider, "ec-p256", f"vendor-{provider}-genuine")
    _other_uri, other = _provider_key(fakekms, provider, "ec-p256", f"vendor-{provider}-other")
    image, target, _digest = _push(registry)
    service = service_environment(fakekms, tmp_path)
    _cosign_sign_with(cosign2, 2, other, target, tmp_path, {**offline_env(tmp_path / "cosign-home"), **service})

    code, report, _ = sigverify(write_config(tmp_path / "kms.yaml", registry, image, {"kms": vendor_uri}), service)
    assert code == 1
    result = report["images"][0]
    assert result["verdict"] == "fail" and result["reasons"][0]["code"] == "NO_MATCHING_SIGNATURE"


def test_service_refusals_reach_the_report(registry: RegistryServer, fakekms: FakeKms, cosign2: str,
                                           tmp_path: Path) -> None:
    """An encryption key, a denied key and a missing key never pass: KEY_ERROR with the service's reason."""
    _uri, key = _provider_key(fakekms, "hashivault", "ec-p256", "refusals-signer")
    image, target, _digest = _push(registry)
    service = service_environment(fakekms, tmp_path)
    _cosign_sign_with(cosign2, 2, key, target, tmp_path, {**offline_env(tmp_path / "cosign-home"), **service})
    fakekms.add_vault_key("refusals-aes", "aes256-gcm96")
    fakekms.add_gcp_key(f"{RING}/cryptoKeys/refusals-denied", "EC_SIGN_P256_SHA256").denied = True
    cases = {
        "hashivault://refusals-aes": "Vault transit key transit/keys/refusals-aes is not a signing key",
        f"gcpkms://{RING}/cryptoKeys/refusals-denied": "access denied: GetCryptoKey on Google Cloud KMS key",
        f"azurekms://{fakekms.host}/refusals-missing": "Azure Key Vault key not found",
    }
    for uri, reason in cases.items():
        code, report, _ = sigverify(write_config(tmp_path / "kms.yaml", registry, image, {"kms": uri}), service)
        assert code == 1, uri
        result = report["images"][0]
        assert result["verdict"] == "fail"
        text = json.dumps(result)
        assert "KEY_ERROR" in text and reason in text, (uri, text[:2000])
        assert service["VAULT_TOKEN"] not in text
