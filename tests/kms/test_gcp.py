"""``gcpkms://`` keys through google-cloud-kms (REST transport, Application Default Credentials from a
service-account key file) against a local server speaking the Cloud KMS v1 REST API (tests/kms/fakekms.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sigverify.errors import KeyMaterialError
from sigverify.kms import check_uri, fetch_public_key_pem
from sigverify.kms.gcp import parse_reference
from tests.kms.conftest import require_sdk
from tests.kms.fakekms import FakeKms, public_pem

require_sdk("google.cloud.kms_v1", "gcp")

RING = "projects/acme-release/locations/global/keyRings/release"


def _expect_error(uri: str) -> KeyMaterialError:
    with pytest.raises(KeyMaterialError) as info:
        fetch_public_key_pem(uri)
    assert info.value.code == "KEY_ERROR"
    return info.value


@pytest.mark.parametrize(
    ("uri", "version"),
    [
        (f"gcpkms://{RING}/cryptoKeys/cosign", None),
        (f"gcpkms://{RING}/cryptoKeys/cosign/cryptoKeyVersions/3", "3"),
        (f"gcpkms://{RING}/cryptoKeys/cosign/versions/3", "3"),  # the older spelling cosign still accepts
    ],
)
def test_grammar_is_cosigns(uri: str, version: str | None) -> None:
    ref = parse_reference(uri)
    assert ref.key_name == f"{RING}/cryptoKeys/cosign" and ref.version == version
    check_uri(uri)


@pytest.mark.parametrize("uri", [
    "gcpkms://projects/acme/keyRings/r/cryptoKeys/k", f"gcpkms://{RING}/cryptoKeys/", f"gcpkms://{RING}/cryptoKeys/k/",
    f"gcpkms://{RING}/cryptoKeys/k/cryptoKeyVersions/", f"gcpkms://{RING}/cryptoKeys/k/cryptoKeyVersions/1/x",
])
def test_malformed(uri: str) -> None:
    with pytest.raises(KeyMaterialError) as info:
        check_uri(uri)
    assert info.value.message == f"malformed key URI {uri!r}"


@pytest.mark.parametrize("algorithm", ["EC_SIGN_P256_SHA256", "EC_SIGN_P384_SHA384", "RSA_SIGN_PKCS1_2048_SHA256",
                                       "RSA_SIGN_PKCS1_3072_SHA256", "RSA_SIGN_PSS_2048_SHA256"])
def test_algorithms_cosign_signs_with(fakekms: FakeKms, service_env: dict[str, str], algorithm: str) -> None:
    name = f"{RING}/cryptoKeys/{algorithm.lower().replace('_', '-')}"
    key = fakekms.add_gcp_key(name, algorithm)
    assert fetch_public_key_pem(f"gcpkms://{name}").decode() == public_pem(key.versions["1"].key)  # type: ignore[arg-type]
    sent = fakekms.seen(f"/v1/{name}")
    # cosign's order: GetCryptoKey (purpose), ListCryptoKeyVersions (newest enabled), GetPublicKey
    assert [r.path for r in sent] == [f"/v1/{name}", f"/v1/{name}/cryptoKeyVersions",
                                      f"/v1/{name}/cryptoKeyVersions/1/publicKey"]
    assert all(r.headers["authorization"].startswith("Bearer ") for r in sent)


def test_without_a_version_the_newest_enabled_one(fakekms: FakeKms, service_env: dict[str, str]) -> None:
    name = f"{RING}/cryptoKeys/rotated"
    key = fakekms.add_gcp_key(name, "EC_SIGN_P256_SHA256", versions=("ENABLED", "ENABLED", "DISABLED"))
    assert fetch_public_key_pem(f"gcpkms://{name}").decode() == public_pem(key.versions["2"].key)  # type: ignore[arg-type]
    pinned = fetch_public_key_pem(f"gcpkms://{name}/cryptoKeyVersions/1").decode()
    assert pinned == public_pem(key.versions["1"].key)  # type: ignore[arg-type]
    assert f"/v1/{name}/cryptoKeyVersions/1" in [r.path for r in fakekms.seen(f"/v1/{name}")]


def test_pinned_disabled_version_is_refused(fakekms: FakeKms, service_env: dict[str, str]) -> None:
    name = f"{RING}/cryptoKeys/retired"
    fakekms.add_gcp_key(name, "EC_SIGN_P256_SHA256", versions=("DISABLED", "ENABLED"))
    err = _expect_error(f"gcpkms://{name}/cryptoKeyVersions/1")
    assert err.message == f"Google Cloud KMS key version {name}/cryptoKeyVersions/1 is DISABLED, not ENABLED"


def test_no_enabled_version(fakekms: FakeKms, service_env: dict[str, str]) -> None:
    name = f"{RING}/cryptoKeys/all-off"
    fakekms.add_gcp_key(name, "EC_SIGN_P256_SHA256", versions=("DISABLED",))
    assert _expect_error(f"gcpkms://{name}").message == f"Google Cloud KMS key {name} has no enabled version"


@pytest.mark.parametrize("purpose", ["ENCRYPT_DECRYPT", "ASYMMETRIC_DECRYPT", "MAC"])
def test_key_that_cannot_sign_is_refused(fakekms: FakeKms, service_env: dict[str, str], purpose: str) -> None:
    name = f"{RING}/cryptoKeys/{purpose.lower()}"
    fakekms.add_gcp_key(name, "GOOGLE_SYMMETRIC_ENCRYPTION", purpose=purpose)
    err = _expect_error(f"gcpkms://{name}")
    assert err.message == f"Google Cloud KMS key {name} is not a signing key: its purpose is {purpose}"


@pytest.mark.parametrize("algorithm", ["RSA_SIGN_PKCS1_4096_SHA512", "RSA_SIGN_PSS_4096_SHA512",
                                       "EC_SIGN_SECP256K1_SHA256"])
def test_algorithm_sigverify_does_not_verify_is_refused(fakekms: FakeKms, service_env: dict[str, str],
                                                         algorithm: str) -> None:
    name = f"{RING}/cryptoKeys/{algorithm.lower().replace('_', '-')}"
    fakekms.add_gcp_key(name, algorithm)
    err = _expect_error(f"gcpkms://{name}")
    assert err.message == (f"Google Cloud KMS key version {name}/cryptoKeyVersions/1 has algorithm {algorithm}, "
                           "which sigverify does not verify cosign signatures with")


def test_access_denied(fakekms: FakeKms, service_env: dict[str, str]) -> None:
    name = f"{RING}/cryptoKeys/guarded"
    fakekms.add_gcp_key(name, "EC_SIGN_P256_SHA256").denied = True
    err = _expect_error(f"gcpkms://{name}")
    assert err.message == f"access denied: GetCryptoKey on Google Cloud KMS key {name}"
    assert err.tip is not None and "roles/cloudkms.viewer and roles/cloudkms.publicKeyViewer" in err.tip
    assert "BEGIN PRIVATE KEY" not in str(err.found) and "ya29." not in str(err.found)


def test_key_not_found(fakekms: FakeKms, service_env: dict[str, str]) -> None:
    name = f"{RING}/cryptoKeys/no-such-key"
    err = _expect_error(f"gcpkms://{name}/cryptoKeyVersions/1")
    assert err.message == f"Google Cloud KMS key not found: {name}/cryptoKeyVersions/1 (GetCryptoKey)"


def test_credentials_the_service_does_not_accept(fakekms: FakeKms, service_env: dict[str, str],
                                                 tmp_path: Path) -> None:
    """A service-account key the server does not know: the self-signed JWT is rejected (401)."""
    name = f"{RING}/cryptoKeys/cosign-unknown-account"
    fakekms.add_gcp_key(name, "EC_SIGN_P256_SHA256")
    account = Path(service_env["GOOGLE_APPLICATION_CREDENTIALS"])
    email = next(k for k in fakekms.gcp_clients if k in account.read_text())
    fakekms.gcp_clients.pop(email)
    try:
        err = _expect_error(f"gcpkms://{name}")
    finally:
        import json

        from cryptography.hazmat.primitives import serialization
        doc = json.loads(account.read_text())
        fakekms.gcp_clients[email] = serialization.load_pem_private_key(
            doc["private_key"].encode(), None).public_key()
    assert err.message == f"Google Cloud rejected the credentials used for GetCryptoKey on {name}"


def test_no_credentials(service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-such-key.json"))
    err = _expect_error(f"gcpkms://{RING}/cryptoKeys/cosign")
    assert err.message == f"no Google Cloud credentials found to read {RING}/cryptoKeys/cosign"
    assert err.tip is not None and "GOOGLE_APPLICATION_CREDENTIALS" in err.tip


def test_missing_sdk_says_which_extra(service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "google.cloud.kms_v1", None)
    err = _expect_error(f"gcpkms://{RING}/cryptoKeys/cosign")
    assert err.message == ("gcpkms:// keys need the Google Cloud KMS client for Python (google-cloud-kms), which "
                           "is not installed")
    assert err.tip is not None and err.tip.startswith("pip install 'sigverify[gcp]'")


def test_endpoint_override_must_be_https(service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS", "http://127.0.0.1:1/")
    err = _expect_error(f"gcpkms://{RING}/cryptoKeys/cosign")
    assert err.message == "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS is not a Cloud KMS endpoint"
