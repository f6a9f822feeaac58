"""``azurekms://`` keys through azure-keyvault-keys and azure-identity (DefaultAzureCredential, here an App Service
managed identity) against a local server speaking the Key Vault REST API and its bearer challenge."""

from __future__ import annotations

import sys

import pytest

from sigverify.errors import KeyMaterialError
from sigverify.kms import check_uri, fetch_public_key_pem
from sigverify.kms.azure import parse_reference
from tests.kms.conftest import require_sdk
from tests.kms.fakekms import FakeKms, public_pem

require_sdk("azure.keyvault.keys", "azure")
require_sdk("azure.identity", "azure")


def _expect_error(uri: str) -> KeyMaterialError:
    with pytest.raises(KeyMaterialError) as info:
        fetch_public_key_pem(uri)
    assert info.value.code == "KEY_ERROR"
    return info.value


@pytest.mark.parametrize(
    ("uri", "vault_url", "name", "version"),
    [
        ("azurekms://acme.vault.azure.net/cosign", "https://acme.vault.azure.net/", "cosign", None),
        ("azurekms://acme.vault.azure.net/cosign/", "https://acme.vault.azure.net/", "cosign", None),
        ("azurekms://acme.vault.azure.net/cosign/4f8a0c2e9d7b41c6", "https://acme.vault.azure.net/", "cosign",
         "4f8a0c2e9d7b41c6"),
        ("azurekms://acme.managedhsm.azure.net/k", "https://acme.managedhsm.azure.net/", "k", None),
    ],
)
def test_grammar_is_cosigns(uri: str, vault_url: str, name: str, version: str | None) -> None:
    ref = parse_reference(uri)
    assert (ref.vault_url, ref.name, ref.version) == (vault_url, name, version)
    check_uri(uri)


@pytest.mark.parametrize("uri", ["azurekms://vault-only", "azurekms:///key", "azurekms://v.vault.azure.net/k/ABC",
                                 "azurekms://v.vault.azure.net/k/v/x", "azurekms://user@v.vault.azure.net/k"])
def test_malformed(uri: str) -> None:
    with pytest.raises(KeyMaterialError) as info:
        check_uri(uri)
    assert info.value.message == f"malformed key URI {uri!r}"
    assert info.value.expected is not None and info.value.expected.startswith("azurekms://VAULT_HOST/KEY[/VERSION]")


@pytest.mark.parametrize(("kind", "kty"), [("ec-p256", "EC"), ("ec-p384", "EC"), ("ec-p521", "EC-HSM"),
                                           ("rsa-2048", "RSA"), ("rsa-2048", "RSA-HSM")])
def test_keys_cosign_signs_with(fakekms: FakeKms, service_env: dict[str, str], kind: str, kty: str) -> None:
    name = f"cosign-{kind}-{kty.lower()}"
    ak = fakekms.add_azure_key(name, kind, kty=kty)
    assert fetch_public_key_pem(f"azurekms://{fakekms.host}/{name}").decode() == public_pem(ak.key)  # type: ignore[arg-type]
    sent = fakekms.seen(f"/keys/{name}")
    assert sent[-1].headers["authorization"].startswith("Bearer ")
    # the SDK's challenge round trip (once per vault and process), then the bearer token
    assert any("authorization" not in r.headers for r in fakekms.seen("/keys/"))
    assert fakekms.seen("/msi/token")  # the token came from the managed identity endpoint


def test_pinned_version(fakekms: FakeKms, service_env: dict[str, str]) -> None:
    ak = fakekms.add_azure_key("pinned", "ec-p256")
    pem = fetch_public_key_pem(f"azurekms://{fakekms.host}/pinned/{ak.version}")
    assert pem.decode() == public_pem(ak.key)  # type: ignore[arg-type]
    assert fakekms.seen(f"/keys/pinned/{ak.version}")
    err = _expect_error(f"azurekms://{fakekms.host}/pinned/0123456789abcdef")
    assert err.message == f"Azure Key Vault key not found: https://{fakekms.host}/keys/pinned/0123456789abcdef"


@pytest.mark.parametrize(("ops", "kind"), [(("encrypt", "decrypt"), "rsa-2048"),
                                           (("wrapKey", "unwrapKey"), "rsa-2048")])
def test_key_that_cannot_sign_is_refused(fakekms: FakeKms, service_env: dict[str, str], ops: tuple[str, ...],
                                         kind: str) -> None:
    name = f"enc-{ops[0].lower()}"
    fakekms.add_azure_key(name, kind, ops=ops)
    err = _expect_error(f"azurekms://{fakekms.host}/{name}")
    assert err.message.startswith(f"Azure Key Vault key https://{fakekms.host}/keys/{name} is not a signing key")


@pytest.mark.parametrize(("kind", "found"), [("rsa-3072", "RSA 3072"), ("rsa-4096", "RSA 4096"), ("oct", "oct")])
def test_key_sigverify_does_not_verify_is_refused(fakekms: FakeKms, service_env: dict[str, str], kind: str,
                                                   found: str) -> None:
    name = f"unsupported-{kind}"
    fakekms.add_azure_key(name, kind)
    err = _expect_error(f"azurekms://{fakekms.host}/{name}")
    assert err.message == (f"Azure Key Vault key https://{fakekms.host}/keys/{name} is a {found} key, which "
                           "sigverify does not verify cosign signatures with")


def test_disabled_key(fakekms: FakeKms, service_env: dict[str, str]) -> None:
    fakekms.add_azure_key("off", "ec-p256").enabled = False
    assert _expect_error(f"azurekms://{fakekms.host}/off").message == \
        f"Azure Key Vault key https://{fakekms.host}/keys/off is disabled"


def test_access_denied(fakekms: FakeKms, service_env: dict[str, str]) -> None:
    fakekms.add_azure_key("guarded", "ec-p256").denied = True
    err = _expect_error(f"azurekms://{fakekms.host}/guarded")
    assert err.message == f"access denied: not allowed to get Azure Key Vault key https://{fakekms.host}/keys/guarded"
    assert err.tip is not None and "Key Vault Crypto User" in err.tip
    assert "eyJ0eXAi" not in str(err.found)


def test_key_not_found(fakekms: FakeKms, service_env: dict[str, str]) -> None:
    err = _expect_error(f"azurekms://{fakekms.host}/no-such-key")
    assert err.message == f"Azure Key Vault key not found: https://{fakekms.host}/keys/no-such-key"


def test_no_credentials(fakekms: FakeKms, service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """No identity anywhere in the chain (the IMDS probe goes to a closed loopback port, never off the machine)."""
    fakekms.add_azure_key("nocreds", "ec-p256")
    monkeypatch.delenv("IDENTITY_ENDPOINT")
    monkeypatch.delenv("IDENTITY_HEADER")
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")
    monkeypatch.setenv("PATH", "/nonexistent")  # no az, azd or pwsh to fall back on
    err = _expect_error(f"azurekms://{fakekms.host}/nocreds")
    assert err.message == f"no usable Azure credentials to read https://{fakekms.host}/keys/nocreds"
    assert err.tip is not None and "DefaultAzureCredential" in err.tip


def test_missing_sdk_says_which_extra(service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "azure.keyvault.keys", None)
    err = _expect_error("azurekms://acme.vault.azure.net/cosign")
    assert err.message.startswith("azurekms:// keys need the Azure SDK for Python (azure-keyvault-keys and "
                                  "azure-identity), which is not installed")
    assert err.tip is not None and err.tip.startswith("pip install 'sigverify[azure]'")
