"""``gcpkms://`` keys: the public key of a Google Cloud KMS key version (google-cloud-kms, Application Default
Credentials), chosen exactly as cosign chooses it."""

from __future__ import annotations

import importlib
import logging
import os
import re
import shlex
import threading
from dataclasses import dataclass
from typing import Any

from sigverify.errors import KeyMaterialError
from sigverify.kms import _common, _spki

log = logging.getLogger(__name__)

# sigstore/sigstore pkg/signature/kms/gcp/client.go (current; older releases know only /versions/):
#   ^gcpkms://projects/([^/]+)/locations/([^/]+)/keyRings/([^/]+)/cryptoKeys/([^/]+)(?:/(?:cryptoKeyVersions|versions)/([^/]+))?$
# Without a version cosign uses the first of ListCryptoKeyVersions(filter "state=ENABLED", order "name desc"),
# after GetCryptoKey has shown the purpose is ASYMMETRIC_SIGN.
_REFERENCE = re.compile(
    r"gcpkms://projects/([^/]+)/locations/([^/]+)/keyRings/([^/]+)/cryptoKeys/([^/]+)"
    r"(?:/(?:cryptoKeyVersions|versions)/([^/]+))?"
)
GRAMMAR = "gcpkms://projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY[/cryptoKeyVersions/VERSION]"

# CryptoKeyVersionAlgorithm -> (key the version must hold, what cosign signs). cosign also signs with the
# *_SHA512 RSA algorithms (SHA-512 digests), which sigverify's RSA verifier (SHA-256) does not check: refused.
ALGORITHMS: dict[str, str] = {
    "EC_SIGN_P256_SHA256": "ecdsa-p256",
    "EC_SIGN_P384_SHA384": "ecdsa-p384",
    "RSA_SIGN_PKCS1_2048_SHA256": "rsa-2048",
    "RSA_SIGN_PKCS1_3072_SHA256": "rsa-3072",
    "RSA_SIGN_PKCS1_4096_SHA256": "rsa-4096",
    "RSA_SIGN_PSS_2048_SHA256": "rsa-2048",
    "RSA_SIGN_PSS_3072_SHA256": "rsa-3072",
    "RSA_SIGN_PSS_4096_SHA256": "rsa-4096",
}
PERMISSIONS = ("cloudkms.cryptoKeys.get, cloudkms.cryptoKeyVersions.list (or .get for a pinned version), "
               "cloudkms.cryptoKeyVersions.viewPublicKey")
ROLES = "roles/cloudkms.viewer and roles/cloudkms.publicKeyViewer"
TIMEOUT_SECONDS = 20.0
ENDPOINT_ENV = "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS"  # gcloud's api_endpoint_overrides/cloudkms property


@dataclass(frozen=True)
class GcpKeyRef:
    """A parsed ``gcpkms://`` URI."""

    uri: str
    project: str
    location: str
    ring: str
    key: str
    version: str | None

    @property
    def key_name(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/keyRings/{self.ring}/cryptoKeys/{self.key}"


def parse_reference(uri: str) -> GcpKeyRef:
    """Parse a ``gcpkms://`` URI; raise ``KeyMaterialError`` with the grammar when it does not fit."""
    text, m = _common.match_uri(
        _REFERENCE,
        uri,
        GRAMMAR,
        "Use the same URI you give `cosign verify --key`, e.g. gcpkms://projects/acme/locations/global/"
        "keyRings/release/cryptoKeys/cosign (the newest enabled version) or .../cryptoKeyVersions/1.",
    )
    project, location, ring, key, version = m.groups()
    return GcpKeyRef(uri=text, project=project, location=location, ring=ring, key=key, version=version or None)


def export_command(ref: GcpKeyRef) -> str:
    q = shlex.quote
    where = f"--key {q(ref.key)} --keyring {q(ref.ring)} --location {q(ref.location)} --project {q(ref.project)}"
    if ref.version:
        return f"gcloud kms keys versions get-public-key {q(ref.version)} {where} --output-file vendor.pem"
    return (f"gcloud kms keys versions list {where} --filter=state=ENABLED --sort-by=~name  # the first is the "
            f"version cosign signs with, then: gcloud kms keys versions get-public-key VERSION {where} "
            "--output-file vendor.pem")


# ---------------------------------------------------------------------------------------------------------------
# One client per endpoint, created under a lock (google.auth.default() reads files and may call the metadata
# server; the client itself is thread-safe).
# ---------------------------------------------------------------------------------------------------------------

_lock = threading.Lock()
_clients: dict[str | None, Any] = {}


def reset_clients() -> None:
    """Forget cached clients (tests change the Google Cloud environment between cases)."""
    with _lock:
        _clients.clear()


def _import_kms() -> Any:
    try:
        kms_v1 = importlib.import_module("google.cloud.kms_v1")
    except ImportError:
        raise KeyMaterialError(
            "gcpkms:// keys need the Google Cloud KMS client for Python (google-cloud-kms), which is not installed",
            expected="google-cloud-kms importable",
            found="ModuleNotFoundError: google.cloud.kms_v1",
            tip="pip install 'sigverify[gcp]' — or verify offline with the exported public key: gcloud kms keys "
            "versions get-public-key VERSION --key KEY --keyring RING --location LOCATION --project PROJECT "
            "--output-file vendor.pem, then key: {path: vendor.pem}.",
        ) from None
    return kms_v1


def _endpoint() -> str | None:
    value = os.environ.get(ENDPOINT_ENV, "").strip()
    if not value:
        return None
    m = re.fullmatch(r"(https://[^/\s@]+)/?(?:v1/?)?", value, re.ASCII)
    if m is None:
        raise KeyMaterialError(
            f"{ENDPOINT_ENV} is not a Cloud KMS endpoint",
            expected="https://HOST[:PORT]/ (e.g. a Private Service Connect endpoint)",
            found=value if "@" not in value else "a URL with user info (not shown)",
            tip=f"Unset {ENDPOINT_ENV} to use cloudkms.googleapis.com.",
        )
    return m.group(1)


def _client(ref: GcpKeyRef) -> Any:
    kms_v1 = _import_kms()
    endpoint = _endpoint()
    with _lock:
        client = _clients.get(endpoint)
        if client is None:
            from google.api_core.client_options import ClientOptions
            from google.auth import exceptions as gx

            options = ClientOptions(api_endpoint=endpoint) if endpoint else None
            try:
                client = kms_v1.KeyManagementServiceClient(transport="rest", client_options=options)
            except gx.GoogleAuthError as e:
                raise _auth_error(ref, e) from None
            _clients[endpoint] = client
        return client


# ---------------------------------------------------------------------------------------------------------------
# Fetch + checks
# ---------------------------------------------------------------------------------------------------------------


def fetch_public_key_pem(uri: str) -> bytes:
    """GetCryptoKey (purpose), the version cosign uses, GetPublicKey; the key checked against its algorithm."""
    ref = parse_reference(uri)
    client = _client(ref)
    kms_v1 = _import_kms()
    call: dict[str, Any] = {"retry": None, "timeout": TIMEOUT_SECONDS}
    step = "GetCryptoKey"
    try:
        key = client.get_crypto_key(name=ref.key_name, **call)
        purpose = key.purpose.name
        if purpose != "ASYMMETRIC_SIGN":
            raise KeyMaterialError(
                f"Google Cloud KMS key {ref.key_name} is not a signing key: its purpose is {purpose}",
                expected="purpose ASYMMETRIC_SIGN",
                found=f"purpose {purpose}",
                tip="Point the URI at the vendor's asymmetric signing key (cosign creates one with "
                "`cosign generate-key-pair --kms gcpkms://...`, EC_SIGN_P256_SHA256).",
            )
        if ref.version:
            step = "GetCryptoKeyVersion"
            version = client.get_crypto_key_version(name=f"{ref.key_name}/cryptoKeyVersions/{ref.version}", **call)
        else:
            step = "ListCryptoKeyVersions"
            request = kms_v1.ListCryptoKeyVersionsRequest(parent=ref.key_name, filter="state=ENABLED",
                                                          order_by="name desc", page_size=1)
            page = next(iter(client.list_crypto_key_versions(request=request, **call).pages), None)
            versions = list(page.crypto_key_versions) if page is not None else []
            if not versions:
                raise KeyMaterialError(
                    f"Google Cloud KMS key {ref.key_name} has no enabled version",
                    expected="at least one ENABLED key version (cosign signs with the newest)",
                    found="none",
                    tip="Enable a key version, or pin one in the URI: .../cryptoKeyVersions/N.",
                )
            version = versions[0]
        check_version(version.name, version.algorithm.name, version.state.name)
        step = "GetPublicKey"
        public = client.get_public_key(name=version.name, **call)
    except KeyMaterialError:
        raise
    except Exception as e:  # google.api_core / google.auth errors, mapped below; anything else fails closed too
        raise _error(ref, step, e) from None
    return checked_pem(version.name, version.algorithm.name, public.pem)


def check_version(name: str, algorithm: str, state: str) -> None:
    """An enabled version of an algorithm cosign signs with and sigverify verifies."""
    source = f"Google Cloud KMS key version {name}"
    if state != "ENABLED":
        raise KeyMaterialError(
            f"{source} is {state}, not ENABLED",
            expected="an ENABLED key version",
            found=state,
            tip="A disabled or destroyed version cannot have signed new images; ask the key owner which version "
            "is in use, or drop the version from the URI to use the newest enabled one.",
        )
    if algorithm not in ALGORITHMS:
        _refuse_algorithm(source, algorithm)


def checked_pem(name: str, algorithm: str, pem: str) -> bytes:
    """The public key of version ``name``, checked to be the key its algorithm names."""
    source = f"Google Cloud KMS key version {name}"
    wanted = ALGORITHMS[algorithm]
    key = _spki.load_pem(pem.encode("utf-8", errors="replace"), source)
    if _spki.kind_of(key) != wanted:
        raise KeyMaterialError(
            f"{source}: the public key returned does not match its algorithm {algorithm}",
            expected=wanted,
            found=str(_spki.kind_of(key)),
            tip=f"The KMS answer is inconsistent; check {ENDPOINT_ENV} if set.",
        )
    log.debug("fetched %s (%s) from Google Cloud KMS", name, algorithm)
    return _spki.to_pem(key)


def _refuse_algorithm(source: str, algorithm: str) -> None:
    if algorithm.endswith("_SHA512") and algorithm.startswith("RSA_SIGN_"):
        tip = ("cosign signs with this key over SHA-512, which sigverify's RSA verifier (SHA-256) does not check; "
               "use an EC_SIGN_P256_SHA256 key or an RSA *_SHA256 algorithm.")
    else:
        tip = ("cosign signs with EC_SIGN_P256_SHA256 (recommended), EC_SIGN_P384_SHA384 and the RSA PKCS#1 / PSS "
               "algorithms; decryption, MAC and other signing algorithms cannot verify cosign signatures.")
    raise KeyMaterialError(
        f"{source} has algorithm {algorithm}, which sigverify does not verify cosign signatures with",
        expected=" | ".join(ALGORITHMS),
        found=algorithm,
        tip=tip,
    )


# ---------------------------------------------------------------------------------------------------------------
# Error mapping: what failed, expected vs found, what to do — never a credential.
# ---------------------------------------------------------------------------------------------------------------

_CREDENTIALS_TIP = (
    "sigverify uses Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS (a service-account or "
    "workload-identity-federation JSON, e.g. from google-github-actions/auth), `gcloud auth application-default "
    "login`, or the metadata server on Google Cloud."
)


def _scrub(text: str, limit: int = 300) -> str:
    return _common.scrub(text, r"\bya29\.[A-Za-z0-9._-]+", "<token>", limit=limit)


def _offline(ref: GcpKeyRef) -> str:
    return _common.offline_tip(export_command(ref))


def _auth_error(ref: GcpKeyRef, e: Exception) -> KeyMaterialError:
    from google.auth import exceptions as gx

    if isinstance(e, gx.DefaultCredentialsError):
        return KeyMaterialError(
            f"no Google Cloud credentials found to read {ref.key_name}",
            expected="Application Default Credentials",
            found=_scrub(f"{type(e).__name__}: {e}"),
            tip=f"{_CREDENTIALS_TIP} {_offline(ref)}",
        )
    return KeyMaterialError(
        f"could not obtain Google Cloud credentials to read {ref.key_name}",
        expected="a working Application Default Credentials source",
        found=_scrub(f"{type(e).__name__}: {e}"),
        tip=f"{_CREDENTIALS_TIP} {_offline(ref)}",
    )


def _error(ref: GcpKeyRef, step: str, e: Exception) -> KeyMaterialError:
    from google.api_core import exceptions as ax
    from google.auth import exceptions as gx

    found = _scrub(f"{type(e).__name__}: {getattr(e, 'message', None) or e}")
    what = ref.key_name + (f"/cryptoKeyVersions/{ref.version}" if ref.version else "")
    if isinstance(e, gx.GoogleAuthError):
        return _auth_error(ref, e)
    if isinstance(e, ax.Forbidden):
        return KeyMaterialError(
            f"access denied: {step} on Google Cloud KMS key {what}",
            expected=f"an identity with {PERMISSIONS}",
            found=found,
            tip=f"Grant the identity running sigverify {ROLES} on the key (the same access `cosign verify` needs); "
            f"`gcloud auth list` / the workload identity shows which identity is used. {_offline(ref)}",
        )
    if isinstance(e, ax.Unauthorized | ax.Unauthenticated):
        return KeyMaterialError(f"Google Cloud rejected the credentials used for {step} on {what}",
                                expected="valid, unexpired credentials", found=found,
                                tip=f"{_CREDENTIALS_TIP} {_offline(ref)}")
    if isinstance(e, ax.NotFound):
        return KeyMaterialError(
            f"Google Cloud KMS key not found: {what} ({step})",
            expected="an existing key (and key version) in that project, location and key ring",
            found=found,
            tip="Check the project, location, key ring and key names (they are case-sensitive); list keys with "
            f"`gcloud kms keys list --keyring {shlex.quote(ref.ring)} --location {shlex.quote(ref.location)} "
            f"--project {shlex.quote(ref.project)}`.",
        )
    if isinstance(e, ax.FailedPrecondition):
        return KeyMaterialError(f"Google Cloud KMS cannot serve {step} for {what} in its current state",
                                expected="an enabled asymmetric signing key version", found=found,
                                tip=f"The version may be disabled, destroyed or still being generated. {_offline(ref)}")
    if isinstance(e, ax.ServerError | ax.ServiceUnavailable | ax.DeadlineExceeded | ax.TooManyRequests):
        return KeyMaterialError(f"Google Cloud KMS could not serve {step} for {what} right now",
                                expected="an answer", found=found, tip=f"Re-run the job. {_offline(ref)}")
    import requests

    if isinstance(e, requests.exceptions.SSLError):
        return KeyMaterialError(f"TLS to Google Cloud KMS failed ({step} for {what})",
                                expected="a server certificate trusted by the CA bundle", found=found,
                                tip="For a private endpoint with its own CA, set REQUESTS_CA_BUNDLE=/path/to/ca.pem "
                                "(certificate checks are never skipped).")
    if isinstance(e, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        return KeyMaterialError(f"could not reach Google Cloud KMS ({step} for {what})",
                                expected="a reachable cloudkms endpoint", found=found,
                                tip=f"Check network access to cloudkms.googleapis.com (or {ENDPOINT_ENV}). "
                                + _offline(ref))
    return KeyMaterialError(f"{step} failed for Google Cloud KMS key {what}", expected="an answer", found=found,
                            tip=_offline(ref))
