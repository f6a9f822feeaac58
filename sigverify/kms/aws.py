"""``awskms://`` keys: fetch the public key with kms:GetPublicKey (boto3, standard credential chain)."""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from typing import Any

from sigverify.errors import KeyMaterialError
from sigverify.kms import _common, _spki

log = logging.getLogger(__name__)

# Grammar of sigstore/sigstore pkg/signature/kms/aws/client.go (ParseReference), which cosign uses:
#   awskms://[ENDPOINT]/<key ID | key ARN | alias/NAME | alias ARN>
# uuidRE = m?r?k?-?<8>-?<4>-?<4>-?<4>-?<12> (hex; "mrk-" marks a multi-Region key), arnRE = arn:PARTITION:kms:
# REGION:ACCOUNT: with partition aws, aws-us-gov or aws-cn (older sigstore releases lack aws-cn). Stricter than
# cosign only where AWS itself is: alias names must use the characters AWS allows (alias/[A-Za-z0-9/_-]+), and an
# endpoint must be host[:port] (no user info: it would end up in messages).
_UUID = r"m?r?k?-?[A-Fa-f0-9]{8}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{12}"
_ARN = r"arn:(?:aws|aws-us-gov|aws-cn):kms:(?P<region>[a-z0-9-]+):[0-9]{12}:"
_ALIAS = r"alias/[A-Za-z0-9/_-]+"
_HOST = r"(?P<endpoint>[^/]*)/"
_FORMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("key ID", re.compile(r"awskms://" + _HOST + r"(?P<key>" + _UUID + r")", re.ASCII)),
    ("key ARN", re.compile(r"awskms://" + _HOST + r"(?P<key>" + _ARN + r"key/" + _UUID + r")", re.ASCII)),
    ("alias", re.compile(r"awskms://" + _HOST + r"(?P<key>" + _ALIAS + r")", re.ASCII)),
    ("alias ARN", re.compile(r"awskms://" + _HOST + r"(?P<key>" + _ARN + _ALIAS + r")", re.ASCII)),
)
_ENDPOINT = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?", re.ASCII)
GRAMMAR = "awskms:///<key ID | key ARN | alias/NAME | alias ARN>, or awskms://HOST[:PORT]/<...> with an endpoint"

# Key specs cosign can sign with through AWS KMS and sigverify verifies (ECDSA with the curve's hash or SHA-256,
# RSA PKCS#1 v1.5 / PSS with SHA-256). ECC_SECG_P256K1, SM2, ML-DSA, HMAC and symmetric keys are not among them.
SUPPORTED_KEY_SPECS = ("ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "RSA_2048", "RSA_3072", "RSA_4096")
PERMISSION = "kms:GetPublicKey"

_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}\b")


@dataclass(frozen=True)
class AwsKeyRef:
    """A parsed ``awskms://`` URI. ``region`` is set only when the key is an ARN (then it wins)."""

    uri: str
    form: str  # "key ID" | "key ARN" | "alias" | "alias ARN"
    key_id: str  # what GetPublicKey's KeyId receives
    endpoint: str | None  # host[:port] written in the URI (cosign: https://HOST), else None
    region: str | None

    @property
    def endpoint_url(self) -> str | None:
        return f"https://{self.endpoint}" if self.endpoint else None


def parse_reference(uri: str) -> AwsKeyRef:
    """Parse ``awskms://[ENDPOINT]/<key>``; raise ``KeyMaterialError`` with the grammar when it does not fit."""
    text = uri.strip()
    for form, pattern in _FORMS:
        m = pattern.fullmatch(text)
        if m is None:
            continue
        endpoint = m.group("endpoint") or None
        if endpoint is not None and not _ENDPOINT.fullmatch(endpoint):
            raise KeyMaterialError(
                f"malformed endpoint in AWS KMS key URI {uri!r}",
                expected="awskms://HOST[:PORT]/<key> (cosign connects to https://HOST[:PORT])",
                found=endpoint,
                tip="Leave the endpoint out (awskms:///...) and set AWS_ENDPOINT_URL_KMS or AWS_ENDPOINT_URL "
                "to use a custom endpoint such as http://localhost:4566.",
            )
        region = m.groupdict().get("region")
        return AwsKeyRef(uri=text, form=form, key_id=m.group("key"), endpoint=endpoint, region=region)
    raise KeyMaterialError(
        f"malformed AWS KMS key URI {uri!r}",
        expected=GRAMMAR,
        found=uri,
        tip="Examples: awskms:///alias/vendor-cosign, "
        "awskms:///arn:aws:kms:us-west-2:111122223333:alias/vendor-cosign, "
        "awskms:///1234abcd-12ab-34cd-56ef-1234567890ab. Note the three slashes when there is no endpoint.",
    )


# ---------------------------------------------------------------------------------------------------------------
# boto3 clients: one per (region, explicit endpoint), created under a lock (sessions are not thread-safe,
# clients are).
# ---------------------------------------------------------------------------------------------------------------

_lock = threading.Lock()
_clients: dict[tuple[str, str | None], Any] = {}


def reset_clients() -> None:
    """Forget cached clients (tests change the AWS environment between cases)."""
    with _lock:
        _clients.clear()


def _import_boto3() -> Any:
    try:
        import boto3
    except ImportError:
        raise KeyMaterialError(
            "awskms:// keys need the AWS SDK for Python (boto3), which is not installed",
            expected="boto3 importable",
            found="ModuleNotFoundError: boto3",
            tip="pip install 'sigverify[aws]' — or verify offline with the exported public key: "
            "aws kms get-public-key --key-id <key> --output text --query PublicKey | base64 -d | "
            "openssl pkey -pubin -inform DER -out vendor.pem, then key: {path: vendor.pem}.",
        ) from None
    return boto3


def _client(ref: AwsKeyRef) -> tuple[Any, str]:
    """The KMS client for ``ref`` and the region it talks to."""
    boto3 = _import_boto3()
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    from sigverify import __version__

    with _lock:
        try:
            session = boto3.session.Session()
            # AWS_REGION first, as the other AWS SDKs and the AWS CLI v2 (and so cosign) read it; botocore alone
            # reads only AWS_DEFAULT_REGION and the profile's region.
            region = ref.region or os.environ.get("AWS_REGION") or session.region_name
        except BotoCoreError as e:
            raise _sdk_error(ref, None, e) from None
        if not region:
            raise KeyMaterialError(
                f"no AWS region for {ref.uri}",
                expected="a region from the key ARN, AWS_REGION / AWS_DEFAULT_REGION, or the AWS config profile",
                found="none configured",
                tip="Set AWS_REGION (e.g. us-west-2), or write the key as a full ARN "
                "(awskms:///arn:aws:kms:REGION:ACCOUNT:alias/NAME) so the region comes from it.",
            )
        cache_key = (region, ref.endpoint_url)
        client = _clients.get(cache_key)
        if client is None:
            retries: dict[str, Any] = {}
            if "AWS_MAX_ATTEMPTS" not in os.environ and "AWS_RETRY_MODE" not in os.environ:
                retries = {"mode": "standard", "max_attempts": 3}
            config = Config(
                connect_timeout=5,
                read_timeout=20,
                user_agent_extra=f"sigverify/{__version__}",
                **({"retries": retries} if retries else {}),
            )
            try:
                client = session.client("kms", region_name=region, endpoint_url=ref.endpoint_url, config=config)
            except BotoCoreError as e:
                raise _sdk_error(ref, region, e) from None
            _require_https(ref, str(client.meta.endpoint_url or ""))
            _clients[cache_key] = client
        return client, region


def _require_https(ref: AwsKeyRef, endpoint: str) -> None:
    """TLS is never skipped: an endpoint override (AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL, the AWS config's
    endpoint_url) may point at another HTTPS endpoint (VPC endpoint, emulator), never at plain http://."""
    import urllib.parse

    parts = urllib.parse.urlsplit(endpoint)
    if parts.scheme.lower() == "https":
        return
    shown = f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    raise KeyMaterialError(
        f"the AWS KMS endpoint for {ref.uri} is not HTTPS: {shown}",
        expected="an https:// endpoint (TLS is never skipped, whatever the endpoint setting)",
        found=shown,
        tip="Point AWS_ENDPOINT_URL_KMS / AWS_ENDPOINT_URL (or endpoint_url in the AWS config) at an https:// URL; "
        "AWS_CA_BUNDLE adds the CA of a private endpoint or emulator. " + _offline(ref.key_id),
    )


# ---------------------------------------------------------------------------------------------------------------
# Fetch + checks
# ---------------------------------------------------------------------------------------------------------------


def fetch_public_key_pem(uri: str) -> bytes:
    """kms:GetPublicKey for an ``awskms://`` URI; check it is a SIGN_VERIFY key of a spec cosign signs with."""
    ref = parse_reference(uri)
    client, region = _client(ref)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        resp = client.get_public_key(KeyId=ref.key_id)
    except ClientError as e:
        raise _client_error(ref, region, e) from None
    except BotoCoreError as e:
        raise _sdk_error(ref, region, e) from None
    return _checked_pem(ref, region, resp)


def _checked_pem(ref: AwsKeyRef, region: str, resp: dict[str, Any]) -> bytes:
    source = f"AWS KMS key {ref.key_id} ({region})"
    usage = resp.get("KeyUsage")
    if usage != "SIGN_VERIFY":
        raise KeyMaterialError(
            f"{source} is not a signing key: its key usage is {usage or 'not reported'}",
            expected="KeyUsage SIGN_VERIFY (an asymmetric signing key)",
            found=f"KeyUsage {usage}",
            tip="Point the URI at the key the vendor signs with. A cosign signing key is created with "
            "`aws kms create-key --key-usage SIGN_VERIFY --key-spec ECC_NIST_P256` "
            "(or `cosign generate-key-pair --kms awskms:///alias/NAME`).",
        )
    der = resp.get("PublicKey")
    if not isinstance(der, bytes | bytearray) or not der:
        raise KeyMaterialError(f"{source}: GetPublicKey returned no public key", expected="PublicKey (DER)",
                               found=repr(type(der).__name__))
    key = _spki.load_der(bytes(der), source)
    derived = key_spec_of(key)
    # GetPublicKey reports KeySpec (older APIs and moto: only the deprecated CustomerMasterKeySpec); when it
    # reports one it must agree with the key itself. No DescribeKey call: kms:GetPublicKey is the only permission.
    reported = resp.get("KeySpec") or resp.get("CustomerMasterKeySpec")
    if reported and derived and reported != derived:
        raise KeyMaterialError(
            f"{source}: the reported key spec does not match the public key returned",
            expected=str(reported),
            found=derived,
            tip="The KMS answer is inconsistent; check AWS_ENDPOINT_URL / the endpoint points at AWS KMS.",
        )
    spec = reported or derived or "unknown"
    if spec not in SUPPORTED_KEY_SPECS:
        raise KeyMaterialError(
            f"{source} has key spec {spec}, which cosign signatures are not made with",
            expected=" | ".join(SUPPORTED_KEY_SPECS),
            found=spec,
            tip="cosign signs with ECC_NIST_P256 (recommended), ECC_NIST_P384/P521 or RSA_2048/3072/4096 keys.",
        )
    log.debug("fetched %s from AWS KMS (%s, %s)", ref.key_id, resp.get("KeyId"), spec)
    return _spki.to_pem(key)


def key_spec_of(key: Any) -> str | None:
    """The AWS KeySpec name for a public key (``ECC_NIST_P256``, ``RSA_3072``, ...), None if AWS has none."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if isinstance(key, ec.EllipticCurvePublicKey):
        return {
            "secp256r1": "ECC_NIST_P256",
            "secp384r1": "ECC_NIST_P384",
            "secp521r1": "ECC_NIST_P521",
            "secp256k1": "ECC_SECG_P256K1",
        }.get(key.curve.name)
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA_{key.key_size}"
    return None


# ---------------------------------------------------------------------------------------------------------------
# Error mapping: what failed, expected vs found, and what to do — never a credential.
# ---------------------------------------------------------------------------------------------------------------

_CREDENTIALS_TIP = (
    "sigverify uses the standard AWS credential chain: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY "
    "(+ AWS_SESSION_TOKEN), AWS_PROFILE with ~/.aws/config (SSO: `aws sso login`), web identity "
    "(AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, e.g. GitHub Actions OIDC through "
    "aws-actions/configure-aws-credentials), or the ECS/EC2 role. Or verify offline with the exported public "
    "key: key: {path: vendor.pem}."
)


def _offline(key: str) -> str:
    return _common.offline_tip(f"aws kms get-public-key --key-id {key} --output text --query PublicKey | base64 -d | "
                               "openssl pkey -pubin -inform DER -out vendor.pem")


_XML_CODE = re.compile(r"<Code>([^<]{1,100})</Code>")
_XML_MESSAGE = re.compile(r"<Message>([^<]{0,1000})</Message>")


def _scrub(text: str, limit: int = 400) -> str:
    return _common.scrub(text, _ACCESS_KEY_ID, "<access key id>", limit=limit)


def _code_and_message(e: Any) -> tuple[str, str, int | None]:
    """(error code, message, HTTP status) from a botocore ClientError. Also reads an XML error document sent
    where JSON was expected (some emulators, e.g. moto's IAM enforcement, answer KMS calls that way)."""
    err = e.response.get("Error", {}) if isinstance(e.response, dict) else {}
    code = str(err.get("Code") or "")
    message = str(err.get("Message") or "")
    status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") if isinstance(e.response, dict) else None
    if message.lstrip().startswith("<"):
        cm, mm = _XML_CODE.search(message), _XML_MESSAGE.search(message)
        if cm is not None:
            code = cm.group(1)
        message = mm.group(1) if mm is not None else ""
    return code, message, status


def _client_error(ref: AwsKeyRef, region: str, e: Any) -> KeyMaterialError:
    code, message, status = _code_and_message(e)
    found = _scrub(f"{code}: {message}" if message else code or f"HTTP {status}")
    key = ref.key_id
    offline = _offline(key)
    if code in ("AccessDeniedException", "AccessDenied") or (status == 403 and "not authorized" in message):
        alias_note = (
            " An IAM policy names the key ARN, not the alias (or uses the kms:RequestAlias condition)."
            if ref.form in ("alias", "alias ARN") else ""
        )
        return KeyMaterialError(
            f"access denied: not allowed to call {PERMISSION} on AWS KMS key {key} (region {region})",
            expected=f"an IAM policy and a key policy that allow {PERMISSION} on the key",
            found=found,
            tip=f"Grant the identity running sigverify {PERMISSION} on this key: an IAM policy statement "
            f'{{"Effect": "Allow", "Action": "{PERMISSION}", "Resource": "<key ARN>"}}, and a key policy '
            f"that allows it (or delegates to IAM).{alias_note} `aws sts get-caller-identity` shows which "
            f"identity is used. {offline}",
        )
    if code == "NotFoundException":
        return KeyMaterialError(
            f"AWS KMS key not found: {key} (region {region})",
            expected=f"an existing key or alias in {region}",
            found=found,
            tip="Check the key ID / alias name and the account and region: a key ID or alias is looked up in "
            "the credential chain's region (AWS_REGION); write the full ARN to pin it. "
            f"List aliases with `aws kms list-aliases --region {region}`.",
        )
    if code in ("DisabledException", "KMSInvalidStateException"):
        return KeyMaterialError(
            f"AWS KMS key {key} (region {region}) cannot be used in its current state",
            expected="an Enabled key",
            found=found,
            tip="A disabled key or one pending deletion cannot serve its public key; ask the key owner. "
            + offline,
        )
    if code == "UnsupportedOperationException":
        return KeyMaterialError(
            f"AWS KMS key {key} (region {region}) has no public key (symmetric or HMAC key)",
            expected="an asymmetric SIGN_VERIFY key",
            found=found,
            tip="Point the URI at the vendor's asymmetric signing key.",
        )
    if code in ("InvalidArnException", "ValidationException", "InvalidKeyUsageException"):
        return KeyMaterialError(f"AWS KMS rejected the key reference {key}", expected=GRAMMAR, found=found)
    if code in (
        "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException",
        "SignatureDoesNotMatch", "IncompleteSignature", "ExpiredTokenException", "ExpiredToken",
        "MissingAuthenticationToken",
    ):
        return KeyMaterialError(
            f"AWS rejected the credentials used to call {PERMISSION} on {key}",
            expected="valid, unexpired AWS credentials for the key's account",
            found=found,
            tip="Refresh or fix the credentials (an expired session token, a key of another partition, "
            "or a clock far off also cause this). " + _CREDENTIALS_TIP,
        )
    if code in ("ThrottlingException", "KMSInternalException", "DependencyTimeoutException",
                "KeyUnavailableException") or (status is not None and status >= 500):
        return KeyMaterialError(
            f"AWS KMS could not serve {PERMISSION} for {key} right now (region {region})",
            expected="a GetPublicKey answer",
            found=found,
            tip="A temporary KMS problem: re-run the job. " + offline,
        )
    return KeyMaterialError(
        f"{PERMISSION} failed for AWS KMS key {key} (region {region})",
        expected="a GetPublicKey answer",
        found=found,
        tip=offline,
    )


def _sdk_error(ref: AwsKeyRef, region: str | None, e: Exception) -> KeyMaterialError:
    from botocore import exceptions as bx

    key = ref.key_id
    found = _scrub(f"{type(e).__name__}: {e}")
    if isinstance(e, bx.NoCredentialsError):
        return KeyMaterialError(
            f"no AWS credentials found to call {PERMISSION} on {key}",
            expected="credentials from the AWS credential chain",
            found="none (environment, shared config, web identity, container and instance roles all empty)",
            tip=_CREDENTIALS_TIP,
        )
    if isinstance(e, bx.PartialCredentialsError | bx.CredentialRetrievalError | bx.SSOError
                  | bx.TokenRetrievalError | bx.ProfileNotFound | bx.ConfigNotFound | bx.ConfigParseError
                  | bx.UnknownCredentialError | bx.MetadataRetrievalError):
        return KeyMaterialError(
            f"could not load AWS credentials to call {PERMISSION} on {key}",
            expected="complete credentials from the AWS credential chain",
            found=found,
            tip=_CREDENTIALS_TIP,
        )
    if isinstance(e, bx.SSLError):
        return KeyMaterialError(
            f"TLS to the AWS KMS endpoint failed for {key}",
            expected="a server certificate trusted by the CA bundle",
            found=found,
            tip="For a private endpoint with its own CA, set AWS_CA_BUNDLE=/path/to/ca.pem "
            "(certificate checks are never skipped).",
        )
    if isinstance(e, bx.EndpointConnectionError | bx.ConnectTimeoutError | bx.ReadTimeoutError
                  | bx.ConnectionClosedError | bx.HTTPClientError | bx.ConnectionError):
        where = ref.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_KMS") or os.environ.get("AWS_ENDPOINT_URL")
        return KeyMaterialError(
            f"could not reach AWS KMS for {key} (region {region})",
            expected=f"a reachable KMS endpoint{f' at {where}' if where else ''}",
            found=found,
            tip="Check network access to KMS (or the VPC endpoint), the region, and AWS_ENDPOINT_URL_KMS / "
            "AWS_ENDPOINT_URL. " + _offline(key),
        )
    if isinstance(e, bx.NoRegionError):
        return KeyMaterialError(
            f"no AWS region for {ref.uri}",
            expected="a region from the key ARN, AWS_REGION / AWS_DEFAULT_REGION, or the AWS config profile",
            found="none configured",
            tip="Set AWS_REGION, or write the key as a full ARN so the region comes from it.",
        )
    return KeyMaterialError(
        f"the AWS SDK failed calling {PERMISSION} on {key}",
        expected="a GetPublicKey answer",
        found=found,
        tip=_offline(key),
    )
