"""``hashivault://`` keys through hvac against a local server speaking Vault's transit API (tests/kms/fakekms.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from sigverify.errors import KeyMaterialError
from sigverify.kms import check_uri, fetch_public_key_pem
from sigverify.kms.vault import parse_reference
from tests.kms.conftest import require_sdk
from tests.kms.fakekms import FakeKms, public_pem

require_sdk("hvac", "vault")


def _expect_error(uri: str) -> KeyMaterialError:
    with pytest.raises(KeyMaterialError) as info:
        fetch_public_key_pem(uri)
    assert info.value.code == "KEY_ERROR"
    return info.value


def _text(err: KeyMaterialError) -> str:
    return " ".join(str(x) for x in (err.message, err.expected, err.found, err.tip))


@pytest.mark.parametrize(
    ("uri", "name"),
    [("hashivault://cosign", "cosign"), ("hashivault://release.key-1", "release.key-1"), ("hashivault://k", "k"),
     ("hashivault://a_b", "a_b")],
)
def test_grammar_is_cosigns(uri: str, name: str) -> None:
    assert parse_reference(uri).name == name
    check_uri(uri)


@pytest.mark.parametrize("uri", ["hashivault://", "hashivault://a/b", "hashivault://-lead", "hashivault://trail.",
                                 "hashivault://transit/keys/k", "hashivault://ключ"])
def test_malformed(uri: str) -> None:
    with pytest.raises(KeyMaterialError) as info:
        check_uri(uri)
    assert info.value.message == f"malformed key URI {uri!r}"
    assert info.value.expected is not None and info.value.expected.startswith("hashivault://KEY_NAME")


@pytest.mark.parametrize("kind", ["ec-p256", "ec-p384", "ec-p521", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519"])
def test_every_signing_type_cosign_supports(fakekms: FakeKms, service_env: dict[str, str], kind: str) -> None:
    name = f"cosign-{kind}"
    vk = fakekms.add_vault_key(name, kind)
    pem = fetch_public_key_pem(f"hashivault://{name}")
    assert pem.decode() == public_pem(vk.versions[1])  # type: ignore[arg-type]
    sent = fakekms.seen(f"/v1/transit/keys/{name}")[-1]
    assert sent.method == "GET" and sent.headers["x-vault-token"] == service_env["VAULT_TOKEN"]
    assert "x-vault-namespace" not in sent.headers


def test_the_latest_version_is_the_one_cosign_signs_with(fakekms: FakeKms, service_env: dict[str, str]) -> None:
    vk = fakekms.add_vault_key("rotated", "ec-p256", versions=3)
    pem = fetch_public_key_pem("hashivault://rotated")
    assert pem.decode() == public_pem(vk.versions[3])  # type: ignore[arg-type]
    assert pem.decode() != public_pem(vk.versions[1])  # type: ignore[arg-type]


def test_mount_and_namespace_from_the_environment(fakekms: FakeKms, service_env: dict[str, str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    vk = fakekms.add_vault_key("team-key", "ec-p256", mount="team/signing")
    monkeypatch.setenv("TRANSIT_SECRET_ENGINE_PATH", "team/signing")  # as cosign reads it
    monkeypatch.setenv("VAULT_NAMESPACE", "admin/release")
    assert fetch_public_key_pem("hashivault://team-key").decode() == public_pem(vk.versions[1])  # type: ignore[arg-type]
    assert fakekms.seen("/v1/team/signing/keys/team-key")[-1].headers["x-vault-namespace"] == "admin/release"


def test_token_from_the_vault_token_file(fakekms: FakeKms, service_env: dict[str, str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    fakekms.add_vault_key("file-token", "ec-p256")
    token = service_env["VAULT_TOKEN"]
    monkeypatch.delenv("VAULT_TOKEN")
    (Path(service_env["HOME"]) / ".vault-token").write_text(token + "\n")
    fetch_public_key_pem("hashivault://file-token")
    assert fakekms.seen("/v1/transit/keys/file-token")[-1].headers["x-vault-token"] == token


# ---------------------------------------------------------------------------------------------------------------
# Refusals: each names what failed, what was expected, and what to do; never the token.
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["aes256-gcm96", "chacha20-poly1305", "hmac"])
def test_encryption_key_is_refused(fakekms: FakeKms, service_env: dict[str, str], kind: str) -> None:
    fakekms.add_vault_key(f"enc-{kind}", kind)
    err = _expect_error(f"hashivault://enc-{kind}")
    assert err.message == f"Vault transit key transit/keys/enc-{kind} is not a signing key cosign signs with: " \
                          f"its type is {kind!r}"


def test_access_denied(fakekms: FakeKms, service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    fakekms.add_vault_key("guarded", "ec-p256")
    monkeypatch.setenv("VAULT_TOKEN", "hvs.CAESIJunkTokenNotIssuedByTheServer0123")
    err = _expect_error("hashivault://guarded")
    assert err.message.startswith("access denied: the Vault token may not read transit/keys/guarded")
    assert err.tip is not None and 'path "transit/keys/guarded" { capabilities = ["read"] }' in err.tip
    assert "CAESIJunkToken" not in _text(err)


def test_key_not_found(fakekms: FakeKms, service_env: dict[str, str]) -> None:
    err = _expect_error("hashivault://no-such-key")
    assert err.message.startswith("Vault transit key not found: transit/keys/no-such-key")
    assert service_env["VAULT_TOKEN"] not in _text(err)


def test_wrong_ca_is_a_tls_error(fakekms: FakeKms, service_env: dict[str, str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    fakekms.add_vault_key("tls", "ec-p256")
    monkeypatch.delenv("VAULT_CACERT")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")  # (requests reads it too)
    monkeypatch.setenv("VAULT_SKIP_VERIFY", "true")  # never honoured
    err = _expect_error("hashivault://tls")
    assert err.message.startswith(f"TLS to Vault at {fakekms.url} failed")
    assert err.tip is not None and "VAULT_CACERT" in err.tip


def test_no_address(service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VAULT_ADDR")
    err = _expect_error("hashivault://cosign")
    assert err.message == "VAULT_ADDR is not set (needed to read hashivault://cosign)"


def test_no_token(service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VAULT_TOKEN")
    err = _expect_error("hashivault://cosign")
    assert err.message == "no Vault token to read hashivault://cosign"
    assert err.expected == "VAULT_TOKEN or ~/.vault-token"


def test_redirects_are_not_followed(fakekms: FakeKms, service_env: dict[str, str]) -> None:
    """A redirect would carry X-Vault-Token to wherever it points: refused, not followed."""
    from sigverify.kms import vault

    ref = parse_reference("hashivault://cosign")
    err = vault._unexpected(ref, 307)
    assert err.message.startswith("Vault at") and "redirected" in err.message
    client = vault._client(ref)
    assert client.adapter.allow_redirects is False


def test_missing_sdk_says_which_extra(service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hvac", None)
    err = _expect_error("hashivault://cosign")
    assert err.message == ("hashivault:// keys need the HashiCorp Vault client for Python (hvac), which is not "
                           "installed")
    assert err.tip is not None and err.tip.startswith("pip install 'sigverify[vault]'")


def test_inconsistent_answer_is_refused() -> None:
    """A server that reports one key type and returns another key is not believed."""
    from sigverify.kms.vault import checked_pem
    from tests.kms.fakekms import new_key

    pem = public_pem(new_key("rsa-2048"))
    answer: dict[str, Any] = {"data": {"type": "ecdsa-p256", "supports_signing": True, "latest_version": 1,
                                       "keys": {"1": {"public_key": pem}}}}
    with pytest.raises(KeyMaterialError) as info:
        checked_pem(parse_reference("hashivault://k"), answer)
    assert info.value.message == "Vault transit key transit/keys/k: the reported key type does not match the " \
                                 "public key returned"


def test_ed25519_is_raw_base64_in_vault(fakekms: FakeKms, service_env: dict[str, str]) -> None:
    vk = fakekms.add_vault_key("ed", "ed25519")
    pem = fetch_public_key_pem("hashivault://ed")
    key = vk.versions[1]
    assert key is not None
    assert serialization.load_pem_public_key(pem).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    ) == key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_one_read_per_key_per_run_across_threads(fakekms: FakeKms, service_env: dict[str, str]) -> None:
    """The run-wide key cache asks Vault once per URI, however many images and threads need the key."""
    from concurrent.futures import ThreadPoolExecutor

    from sigverify.crypto.keys import KeyCache
    from sigverify.policy.model import KeyRef

    vk = fakekms.add_vault_key("shared", "ec-p256")
    cache = KeyCache()
    ref = KeyRef(source="kms:hashivault://shared", kms="hashivault://shared")
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = list(pool.map(lambda _: cache.resolve(ref), range(32)))
    assert {k.fingerprint for k in keys} == {keys[0].fingerprint}
    assert keys[0].der == serialization.load_pem_public_key(public_pem(vk.versions[1]).encode()).public_bytes(  # type: ignore[arg-type]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert len(fakekms.seen("/v1/transit/keys/shared")) == 1
