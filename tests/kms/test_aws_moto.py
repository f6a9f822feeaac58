"""awskms:// against a real AWS KMS API emulator (moto_server over HTTPS on loopback)."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from sigverify.errors import KeyMaterialError
from sigverify.kms import aws, fetch_public_key_pem
from tests.kms.conftest import ACCOUNT, REGION, SECRET_ACCESS_KEY, MotoServer, free_port, start_moto, stop_moto


def _key(kms: Any, spec: str, usage: str = "SIGN_VERIFY") -> dict[str, Any]:
    meta: dict[str, Any] = kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
    return meta


def _alias(kms: Any, key_id: str) -> str:
    name = f"alias/sigverify-test-{uuid.uuid4().hex[:12]}"
    kms.create_alias(AliasName=name, TargetKeyId=key_id)
    return name


def _expected_pem(kms: Any, key_id: str) -> bytes:
    """What `aws kms get-public-key ... | base64 -d | openssl pkey -pubin -inform DER` produces."""
    der = kms.get_public_key(KeyId=key_id)["PublicKey"]
    key = serialization.load_der_public_key(der)
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _err(uri: str) -> KeyMaterialError:
    with pytest.raises(KeyMaterialError) as info:
        fetch_public_key_pem(uri)
    err = info.value
    assert err.code == "KEY_ERROR"
    assert SECRET_ACCESS_KEY not in err.diagnostics()
    return err


# ---------------------------------------------------------------------------------------------------------------
# Every URI form cosign accepts, for the key specs cosign signs with
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "RSA_2048", "RSA_4096"])
def test_every_uri_form_returns_the_public_key(aws_env: dict[str, str], kms: Any, spec: str) -> None:
    meta = _key(kms, spec)
    alias = _alias(kms, meta["KeyId"])
    expected = _expected_pem(kms, meta["KeyId"])
    uris = [
        f"awskms:///{meta['KeyId']}",
        f"awskms:///{meta['Arn']}",
        f"awskms:///{alias}",
        f"awskms:///arn:aws:kms:{REGION}:{ACCOUNT}:{alias}",
    ]
    for uri in uris:
        pem = fetch_public_key_pem(uri)
        assert pem == expected, uri
        assert pem.startswith(b"-----BEGIN PUBLIC KEY-----\n")


def test_explicit_endpoint_in_the_uri_is_used(aws_env: dict[str, str], kms: Any, moto: MotoServer,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """awskms://HOST:PORT/<key>: cosign's explicit endpoint (https://HOST:PORT), no AWS_ENDPOINT_URL needed."""
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    meta = _key(kms, "ECC_NIST_P256")
    alias = _alias(kms, meta["KeyId"])
    expected = _expected_pem(kms, meta["KeyId"])
    for key in (meta["KeyId"], meta["Arn"], alias, f"arn:aws:kms:{REGION}:{ACCOUNT}:{alias}"):
        assert fetch_public_key_pem(f"awskms://{moto.host}/{key}") == expected
    # Without the endpoint the same key is looked up at the real AWS, which is unreachable here: proves the
    # URI's endpoint (not some ambient setting) carried the call above.
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", f"https://127.0.0.1:{free_port()}")
    aws.reset_clients()
    assert "could not reach AWS KMS" in _err(f"awskms:///{alias}").message


def test_explicit_endpoint_wins_over_aws_endpoint_url(aws_env: dict[str, str], kms: Any, moto: MotoServer,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"https://127.0.0.1:{free_port()}")  # nothing listens there
    meta = _key(kms, "ECC_NIST_P256")
    assert fetch_public_key_pem(f"awskms://{moto.host}/{meta['KeyId']}") == _expected_pem(kms, meta["KeyId"])


def test_service_specific_endpoint_variable(aws_env: dict[str, str], kms: Any, moto: MotoServer,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS_ENDPOINT_URL_KMS (boto3's service-specific endpoint setting) takes precedence over AWS_ENDPOINT_URL."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"https://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", moto.url)
    meta = _key(kms, "ECC_NIST_P256")
    assert fetch_public_key_pem(f"awskms:///{meta['KeyId']}") == _expected_pem(kms, meta["KeyId"])


def test_region_comes_from_the_arn(aws_env: dict[str, str], moto: MotoServer) -> None:
    """The credential chain says us-east-1; a key ARN in eu-west-1 is fetched from eu-west-1."""
    eu = moto.client("kms", region="eu-west-1")
    meta = _key(eu, "ECC_NIST_P256")
    alias = _alias(eu, meta["KeyId"])
    expected = _expected_pem(eu, meta["KeyId"])
    assert meta["Arn"].startswith("arn:aws:kms:eu-west-1:")
    assert fetch_public_key_pem(f"awskms:///{meta['Arn']}") == expected
    assert fetch_public_key_pem(f"awskms:///arn:aws:kms:eu-west-1:{ACCOUNT}:{alias}") == expected
    # A bare key ID / alias is looked up in the chain's region, where it does not exist.
    err = _err(f"awskms:///{alias}")
    assert "not found" in err.message and "us-east-1" in err.message


def test_aws_region_variable_selects_the_region(aws_env: dict[str, str], moto: MotoServer,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    eu = moto.client("kms", region="eu-central-1")
    meta = _key(eu, "ECC_NIST_P256")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")  # wins over AWS_DEFAULT_REGION, as in the AWS SDKs
    assert fetch_public_key_pem(f"awskms:///{meta['KeyId']}") == _expected_pem(eu, meta["KeyId"])


def test_concurrent_fetches_from_threads(aws_env: dict[str, str], kms: Any) -> None:
    keys = [_key(kms, spec) for spec in ("ECC_NIST_P256", "RSA_2048", "ECC_NIST_P384")]
    expected = {m["KeyId"]: _expected_pem(kms, m["KeyId"]) for m in keys}
    results: list[tuple[str, bytes | BaseException]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(12)

    def work(key_id: str) -> None:
        barrier.wait()
        try:
            got: bytes | BaseException = fetch_public_key_pem(f"awskms:///{key_id}")
        except BaseException as e:
            got = e
        with lock:
            results.append((key_id, got))

    threads = [threading.Thread(target=work, args=(keys[i % 3]["KeyId"],)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 12
    for key_id, got in results:
        assert got == expected[key_id]
    assert len(aws._clients) == 1  # one client for one (region, endpoint), created once under the lock


# ---------------------------------------------------------------------------------------------------------------
# Keys that must be refused
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "usage", "found"),
    [
        ("RSA_2048", "ENCRYPT_DECRYPT", "KeyUsage ENCRYPT_DECRYPT"),
        ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "KeyUsage ENCRYPT_DECRYPT"),
    ],
)
def test_wrong_key_usage_is_refused(aws_env: dict[str, str], kms: Any, spec: str, usage: str, found: str) -> None:
    meta = _key(kms, spec, usage)
    alias = _alias(kms, meta["KeyId"])
    err = _err(f"awskms:///{alias}")
    assert "is not a signing key" in err.message
    assert err.expected == "KeyUsage SIGN_VERIFY (an asymmetric signing key)"
    assert err.found == found
    assert err.tip is not None and "--key-usage SIGN_VERIFY" in err.tip


def test_key_spec_cosign_does_not_sign_with_is_refused(aws_env: dict[str, str], kms: Any) -> None:
    meta = _key(kms, "ECC_SECG_P256K1")
    err = _err(f"awskms:///{meta['KeyId']}")
    assert "key spec ECC_SECG_P256K1" in err.message
    assert err.found == "ECC_SECG_P256K1"
    assert err.expected is not None and "ECC_NIST_P256" in err.expected


@pytest.mark.parametrize(
    "key",
    [
        "alias/does-not-exist",
        "12345678-1234-1234-1234-123456789012",
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/12345678-1234-1234-1234-123456789012",
        f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/does-not-exist",
    ],
)
def test_unknown_key_is_not_found(aws_env: dict[str, str], key: str) -> None:
    err = _err(f"awskms:///{key}")
    assert err.message == f"AWS KMS key not found: {key} (region {REGION})"
    assert err.found is not None and err.found.startswith("NotFoundException: ")
    assert err.tip is not None and "AWS_REGION" in err.tip


# ---------------------------------------------------------------------------------------------------------------
# Permissions, credentials, region, transport
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def iam_moto(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A separate emulator (IAM enforcement is server-wide) with a key and two IAM users."""
    server = start_moto(tmp_path_factory.mktemp("moto-iam"))
    try:
        kms = server.client("kms")
        meta = _key(kms, "ECC_NIST_P256")
        alias = _alias(kms, meta["KeyId"])
        iam = server.client("iam")
        users = {}
        for name, actions in (("describe-only", ["kms:DescribeKey"]), ("verifier", ["kms:GetPublicKey"])):
            iam.create_user(UserName=name)
            iam.put_user_policy(
                UserName=name,
                PolicyName="kms",
                PolicyDocument=json.dumps(
                    {"Version": "2012-10-17",
                     # moto checks KMS actions against resource "*" only, so the policies name "*"
                     "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
                ),
            )
            users[name] = iam.create_access_key(UserName=name)["AccessKey"]
        expected = _expected_pem(kms, meta["KeyId"])
        server.set_iam_enforcement(True)
        yield server, meta, alias, users, expected
    finally:
        stop_moto(server)


def _use(monkeypatch: pytest.MonkeyPatch, server: MotoServer, key_id: str, secret: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(server.ca))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    aws.reset_clients()


def test_access_denied_names_the_missing_permission(aws_env: dict[str, str], iam_moto: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """moto with IAM enforcement: an identity allowed kms:DescribeKey but not kms:GetPublicKey is denied."""
    server, meta, alias, users, expected = iam_moto
    _use(monkeypatch, server, users["describe-only"]["AccessKeyId"], users["describe-only"]["SecretAccessKey"])
    for uri, is_alias in ((f"awskms:///{meta['KeyId']}", False), (f"awskms:///{alias}", True)):
        err = _err(uri)
        assert err.message.startswith("access denied: not allowed to call kms:GetPublicKey on AWS KMS key ")
        assert err.expected == "an IAM policy and a key policy that allow kms:GetPublicKey on the key"
        assert err.found is not None and "not authorized to perform: kms:GetPublicKey" in err.found
        assert err.tip is not None and '"Action": "kms:GetPublicKey"' in err.tip
        assert "aws kms get-public-key" in err.tip  # the offline alternative
        assert ("kms:RequestAlias" in err.tip) is is_alias
        assert users["describe-only"]["SecretAccessKey"] not in err.diagnostics()
    # The identity that holds the permission gets the key through the same enforcing server.
    _use(monkeypatch, server, users["verifier"]["AccessKeyId"], users["verifier"]["SecretAccessKey"])
    assert fetch_public_key_pem(f"awskms:///{meta['KeyId']}") == expected


def test_unknown_credentials_are_reported_as_rejected(aws_env: dict[str, str], iam_moto: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    server, meta, _alias_name, _users, _expected = iam_moto
    _use(monkeypatch, server, "AKIAZZZZZZZZZZZZZZZZ", SECRET_ACCESS_KEY)
    err = _err(f"awskms:///{meta['KeyId']}")
    assert err.message == f"AWS rejected the credentials used to call kms:GetPublicKey on {meta['KeyId']}"
    assert err.found is not None and "InvalidClientTokenId" in err.found
    assert "AKIAZZZZZZZZZZZZZZZZ" not in err.diagnostics()


def _aws_client_error(status: int, error_type: str, message: str) -> Any:
    """The ClientError boto3 raises for a real AWS KMS error answer: the JSON document AWS sends, parsed by
    botocore's own parser for the KMS protocol (moto sends some errors in another shape)."""
    import botocore.session
    from botocore.exceptions import ClientError
    from botocore.parsers import create_parser

    model = botocore.session.get_session().get_service_model("kms")
    body = json.dumps({"__type": error_type, "message": message}).encode()
    parsed = create_parser(model.metadata["protocol"]).parse(
        {"status_code": status, "body": body,
         "headers": {"x-amzn-requestid": "r-1", "content-type": "application/x-amz-json-1.1"}},
        model.operation_model("GetPublicKey").output_shape,
    )
    return ClientError(parsed, "GetPublicKey")


_ARN = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize(
    ("status", "error_type", "message", "ours"),
    [
        (400, "AccessDeniedException",
         f"User: arn:aws:sts::111122223333:assumed-role/ci/run-1 is not authorized to perform: kms:GetPublicKey "
         f"on resource: {_ARN} because no identity-based policy allows the kms:GetPublicKey action",
         f"access denied: not allowed to call kms:GetPublicKey on AWS KMS key {_ARN} (region us-west-2)"),
        (400, "NotFoundException", f"Key '{_ARN}' does not exist",
         f"AWS KMS key not found: {_ARN} (region us-west-2)"),
        (400, "DisabledException", f"{_ARN} is disabled.",
         f"AWS KMS key {_ARN} (region us-west-2) cannot be used in its current state"),
        (400, "KMSInvalidStateException", f"{_ARN} is pending deletion.",
         f"AWS KMS key {_ARN} (region us-west-2) cannot be used in its current state"),
        (400, "UnsupportedOperationException", f"{_ARN} key usage is ENCRYPT_DECRYPT which is not valid for "
         "GetPublicKey.", f"AWS KMS key {_ARN} (region us-west-2) has no public key (symmetric or HMAC key)"),
        (400, "ExpiredTokenException", "The security token included in the request is expired",
         f"AWS rejected the credentials used to call kms:GetPublicKey on {_ARN}"),
        (400, "UnrecognizedClientException", "The security token included in the request is invalid.",
         f"AWS rejected the credentials used to call kms:GetPublicKey on {_ARN}"),
        (400, "ThrottlingException", "Rate exceeded",
         f"AWS KMS could not serve kms:GetPublicKey for {_ARN} right now (region us-west-2)"),
        (500, "KMSInternalException", "An internal error occurred",
         f"AWS KMS could not serve kms:GetPublicKey for {_ARN} right now (region us-west-2)"),
        (400, "SomethingNewException", "a code this version does not know",
         f"kms:GetPublicKey failed for AWS KMS key {_ARN} (region us-west-2)"),
    ],
)
def test_aws_error_answers_are_explained(status: int, error_type: str, message: str, ours: str) -> None:
    ref = aws.parse_reference(f"awskms:///{_ARN}")
    err = aws._client_error(ref, "us-west-2", _aws_client_error(status, error_type, message))
    assert err.message == ours
    assert err.code == "KEY_ERROR"
    assert err.found == f"{error_type}: {message}"
    assert err.tip


def test_access_key_ids_are_scrubbed_from_aws_messages() -> None:
    ref = aws.parse_reference(f"awskms:///{_ARN}")
    err = aws._client_error(ref, "us-west-2", _aws_client_error(
        400, "UnrecognizedClientException", "The access key ID AKIAIOSFODNN7EXAMPLE is not valid"))
    assert "AKIAIOSFODNN7EXAMPLE" not in err.diagnostics()
    assert err.found == "UnrecognizedClientException: The access key ID <access key id> is not valid"


def test_no_credentials(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    aws.reset_clients()
    err = _err("awskms:///alias/anything")
    assert err.message == "no AWS credentials found to call kms:GetPublicKey on alias/anything"
    assert err.tip is not None and "AWS_WEB_IDENTITY_TOKEN_FILE" in err.tip and "key: {path: vendor.pem}" in err.tip


def test_partial_credentials(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    aws.reset_clients()
    err = _err("awskms:///alias/anything")
    assert err.message == "could not load AWS credentials to call kms:GetPublicKey on alias/anything"
    assert err.found is not None and "AWS_SECRET_ACCESS_KEY" in err.found  # the variable name, not a value


def test_no_region(aws_env: dict[str, str], kms: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    aws.reset_clients()
    err = _err("awskms:///alias/anything")
    assert err.message == "no AWS region for awskms:///alias/anything"
    assert err.tip is not None and "AWS_REGION" in err.tip
    # ...but an ARN carries its region: no configured region needed.
    meta = _key(kms, "ECC_NIST_P256")
    assert fetch_public_key_pem(f"awskms:///{meta['Arn']}") == _expected_pem(kms, meta["KeyId"])


def test_untrusted_tls_certificate(aws_env: dict[str, str], kms: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    meta = _key(kms, "ECC_NIST_P256")
    monkeypatch.delenv("AWS_CA_BUNDLE")
    aws.reset_clients()
    err = _err(f"awskms:///{meta['KeyId']}")
    assert err.message == f"TLS to the AWS KMS endpoint failed for {meta['KeyId']}"
    assert err.tip is not None and "AWS_CA_BUNDLE" in err.tip


def test_unreachable_endpoint(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"https://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    aws.reset_clients()
    err = _err("awskms:///alias/anything")
    assert err.message == f"could not reach AWS KMS for alias/anything (region {REGION})"
    assert err.expected == f"a reachable KMS endpoint at {url}"


def test_unknown_profile(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    aws.reset_clients()
    err = _err("awskms:///alias/anything")
    assert err.message == "could not load AWS credentials to call kms:GetPublicKey on alias/anything"
    assert err.found is not None and "no-such-profile" in err.found
