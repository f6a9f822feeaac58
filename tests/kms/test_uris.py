"""Key URI grammar and the schemes sigverify does not fetch: no network, no emulator."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sigverify.errors import KeyMaterialError
from sigverify.kms import check_uri, fetch_public_key_pem, scheme_of
from sigverify.kms.aws import GRAMMAR, parse_reference

UUID = "1234abcd-12ab-34cd-56ef-1234567890ab"
MRK = "mrk-1234abcd12ab34cd56ef1234567890ab"
KEY_ARN = f"arn:aws:kms:us-east-2:111122223333:key/{UUID}"
ALIAS_ARN = "arn:aws:kms:us-east-2:111122223333:alias/ExampleAlias"


# The examples of sigstore/sigstore pkg/signature/kms/aws/client.go, plus partitions and multi-Region keys.
@pytest.mark.parametrize(
    ("uri", "form", "key_id", "endpoint", "region"),
    [
        (f"awskms:///{UUID}", "key ID", UUID, None, None),
        (f"awskms://localhost:4566/{UUID}", "key ID", UUID, "localhost:4566", None),
        (f"awskms:///{MRK}", "key ID", MRK, None, None),
        (f"awskms:///{KEY_ARN}", "key ARN", KEY_ARN, None, "us-east-2"),
        (f"awskms://localhost:4566/{KEY_ARN}", "key ARN", KEY_ARN, "localhost:4566", "us-east-2"),
        ("awskms:///alias/ExampleAlias", "alias", "alias/ExampleAlias", None, None),
        ("awskms://localhost:4566/alias/ExampleAlias", "alias", "alias/ExampleAlias", "localhost:4566", None),
        ("awskms:///alias/team/vendor_cosign-key", "alias", "alias/team/vendor_cosign-key", None, None),
        (f"awskms:///{ALIAS_ARN}", "alias ARN", ALIAS_ARN, None, "us-east-2"),
        (f"awskms://kms.us-east-2.amazonaws.com/{ALIAS_ARN}", "alias ARN", ALIAS_ARN,
         "kms.us-east-2.amazonaws.com", "us-east-2"),
        ("awskms:///arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/x", "alias ARN",
         "arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/x", None, "us-gov-west-1"),
        (f"awskms:///arn:aws-cn:kms:cn-north-1:111122223333:key/{UUID}", "key ARN",
         f"arn:aws-cn:kms:cn-north-1:111122223333:key/{UUID}", None, "cn-north-1"),
        (f"awskms://[::1]:4566/{UUID}", "key ID", UUID, "[::1]:4566", None),
        (f"  awskms:///{UUID}\n", "key ID", UUID, None, None),
    ],
)
def test_awskms_forms(uri: str, form: str, key_id: str, endpoint: str | None, region: str | None) -> None:
    ref = parse_reference(uri)
    assert (ref.form, ref.key_id, ref.endpoint, ref.region) == (form, key_id, endpoint, region)
    assert ref.endpoint_url == (f"https://{endpoint}" if endpoint else None)  # cosign: https://ENDPOINT
    check_uri(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "awskms://alias/ExampleAlias",  # two slashes: "alias" is taken as the endpoint
        "awskms:///alias/",
        "awskms:///alias/bad name",
        "awskms:///ExampleAlias",
        "awskms:///1234abcd",
        f"awskms:///arn:aws:kms:us-east-2:1111:key/{UUID}",  # account must have 12 digits
        f"awskms:///arn:aws:s3:us-east-2:111122223333:key/{UUID}",
        f"awskms:///arn:aws:kms:us-east-2:111122223333:{UUID}",
        f"awskms:///{UUID}/extra",
        "awskms:///",
        "awskms://",
        f"AWSKMS:///{UUID}x",
    ],
)
def test_malformed_awskms(uri: str) -> None:
    with pytest.raises(KeyMaterialError) as info:
        check_uri(uri)
    assert info.value.expected == GRAMMAR
    assert info.value.message == f"malformed AWS KMS key URI {uri!r}"
    with pytest.raises(KeyMaterialError):
        fetch_public_key_pem(uri)  # refused before any SDK is involved


@pytest.mark.parametrize("endpoint", ["user:pass@kms.example", "kms.example:port", "-bad-", "kms example"])
def test_malformed_endpoint(endpoint: str) -> None:
    with pytest.raises(KeyMaterialError) as info:
        parse_reference(f"awskms://{endpoint}/alias/x")
    assert info.value.message.startswith("malformed endpoint in AWS KMS key URI")
    assert info.value.tip is not None and "AWS_ENDPOINT_URL_KMS" in info.value.tip


@pytest.mark.parametrize(
    ("uri", "scheme"),
    [
        ("awskms:///alias/x", "awskms"), ("AWSKMS:///alias/x", "awskms"), ("env://X", "env"),
        ("pkcs11:token=t;object=o", "pkcs11"), ("keys/cosign.pub", None), ("C:/keys/cosign.pub", None),
        ("gcpkms://projects/p", "gcpkms"),
    ],
)
def test_scheme_of(uri: str, scheme: str | None) -> None:
    assert scheme_of(uri) == scheme


# ---------------------------------------------------------------------------------------------------------------
# Schemes recognised but not fetched: the message names the scheme and gives the exact export command
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "message", "command"),
    [
        ("k8s://tekton-chains/signing-secrets",
         "k8s:// keys (Kubernetes secret) are not fetched by sigverify",
         "kubectl get secret signing-secrets -n tekton-chains -o jsonpath='{.data.cosign\\.pub}' "
         "| base64 -d > vendor.pem"),
        ("gitlab://acme/app", "gitlab:// keys (GitLab CI variable) are not fetched by sigverify",
         "key: {env: COSIGN_PUBLIC_KEY}"),
        ("pkcs11:token=yubi;slot-id=0;object=cosign", "pkcs11: keys (PKCS#11 token) are not fetched by sigverify",
         "cosign public-key --key 'pkcs11:token=yubi;slot-id=0;object=cosign' --outfile vendor.pem"),
        ("https://vendor.example/cosign.pub", "public keys are not downloaded from URLs at verification time",
         "curl -fsSLo vendor.pem https://vendor.example/cosign.pub"),
    ],
)
def test_export_only_schemes_explain_the_alternative(uri: str, message: str, command: str) -> None:
    for call in (check_uri, fetch_public_key_pem):
        with pytest.raises(KeyMaterialError) as info:
            call(uri)
        err = info.value
        assert err.code == "KEY_ERROR"
        assert err.message.startswith(message)
        assert err.tip is not None and command in err.tip
        assert "key: {path: vendor.pem}" in err.tip or "key: {env: COSIGN_PUBLIC_KEY}" in err.tip


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("gcpkms://projects/acme/keyRings/r/cryptoKeys/k", "gcpkms://projects/PROJECT/locations/LOCATION/"),
        ("azurekms://vault-only", "azurekms://VAULT_HOST/KEY[/VERSION]"),
        ("hashivault://a/b", "hashivault://KEY_NAME"),
        ("k8s://secret-only", "k8s://NAMESPACE/SECRET_NAME"),
    ],
)
def test_malformed_export_only_uris(uri: str, expected: str) -> None:
    with pytest.raises(KeyMaterialError) as info:
        check_uri(uri)
    assert info.value.message == f"malformed key URI {uri!r}"
    assert info.value.expected is not None and info.value.expected.startswith(expected)


@pytest.mark.parametrize("uri", ["s3://bucket/cosign.pub", "file:///keys/cosign.pub", "keys/cosign.pub", ""])
def test_unknown_scheme(uri: str) -> None:
    with pytest.raises(KeyMaterialError) as info:
        fetch_public_key_pem(uri)
    assert info.value.message == f"unknown key URI scheme in {uri!r}"
    assert info.value.tip is not None and "key: {path: ...}" in info.value.tip


# ---------------------------------------------------------------------------------------------------------------
# env://VAR — the variable holds the PEM public key (cosign pkg/blob LoadFileOrURL)
# ---------------------------------------------------------------------------------------------------------------


def _pems() -> tuple[bytes, bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    spki = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return spki, private, key.public_key().public_bytes(serialization.Encoding.DER,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo)


def test_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    spki, _private, _der = _pems()
    monkeypatch.setenv("SV_TEST_COSIGN_PUB", "\n  " + spki.decode() + "\n")
    assert fetch_public_key_pem("env://SV_TEST_COSIGN_PUB") == spki
    check_uri("env://SV_TEST_COSIGN_PUB")


def test_env_rsa_pkcs1_key_is_normalised_to_spki(monkeypatch: pytest.MonkeyPatch) -> None:
    pub = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    monkeypatch.setenv("SV_TEST_RSA_PUB", pub.public_bytes(serialization.Encoding.PEM,
                                                           serialization.PublicFormat.PKCS1).decode())
    pem = fetch_public_key_pem("env://SV_TEST_RSA_PUB")
    assert pem == pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_env_errors_never_echo_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    spki, private, der = _pems()
    monkeypatch.delenv("SV_TEST_UNSET", raising=False)
    cases = {
        "SV_TEST_UNSET": (None, "environment variable $SV_TEST_UNSET (from env://SV_TEST_UNSET) is not set"),
        "SV_TEST_EMPTY": ("  \n", "environment variable $SV_TEST_EMPTY (from env://SV_TEST_EMPTY) is empty"),
        "SV_TEST_PRIV": (private.decode(), "$SV_TEST_PRIV (from env://SV_TEST_PRIV) holds a private key"),
        "SV_TEST_B64": (der.hex(), "$SV_TEST_B64 (from env://SV_TEST_B64) does not hold a PEM public key"),
        "SV_TEST_TWO": ((spki + spki).decode(), "$SV_TEST_TWO (from env://SV_TEST_TWO) holds 2 PEM blocks"),
        "SV_TEST_BAD": ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                        "$SV_TEST_BAD (from env://SV_TEST_BAD) does not hold a valid PEM public key"),
    }
    for name, (value, message) in cases.items():
        if value is not None:
            monkeypatch.setenv(name, value)
        with pytest.raises(KeyMaterialError) as info:
            fetch_public_key_pem(f"env://{name}")
        assert info.value.message.startswith(message), name
        shown = info.value.diagnostics()
        assert "PRIVATE KEY-----" not in shown and der.hex() not in shown and "MFkw" not in shown


@pytest.mark.parametrize("uri", ["env://", "env://1ABC", "env://A-B", "env://A B"])
def test_env_malformed(uri: str) -> None:
    with pytest.raises(KeyMaterialError) as info:
        check_uri(uri)
    assert info.value.message == f"malformed env:// key URI {uri!r}"


# ---------------------------------------------------------------------------------------------------------------
# Optional SDK and import cost
# ---------------------------------------------------------------------------------------------------------------


def test_missing_boto3_tells_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # what `import boto3` sees when it is not installed
    with pytest.raises(KeyMaterialError) as info:
        fetch_public_key_pem("awskms:///alias/vendor-cosign")
    err = info.value
    assert err.message == "awskms:// keys need the AWS SDK for Python (boto3), which is not installed"
    assert err.tip is not None and "pip install 'sigverify[aws]'" in err.tip
    assert "aws kms get-public-key --key-id <key> --output text --query PublicKey | base64 -d" in err.tip
    check_uri("awskms:///alias/vendor-cosign")  # the grammar check needs no SDK


def test_import_is_cheap() -> None:
    code = (
        "import sys, sigverify.kms as k; k.check_uri('awskms:///alias/x'); "
        "heavy = [m for m in ('boto3', 'botocore', 'cryptography') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
