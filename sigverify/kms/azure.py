"""``azurekms://`` keys: the public key of an Azure Key Vault key (azure-keyvault-keys, DefaultAzureCredential),
from the JSON Web Key the vault returns."""

from __future__ import annotations

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

# sigstore/sigstore pkg/signature/kms/azure/client.go: ^azurekms://([^/]+)/([^/]+)(/[a-z0-9]*)?$ — the vault is
# https://<first part>/ (a vault host such as myvault.vault.azure.net), then the key name and an optional version
# (absent or empty: the current version).
_REFERENCE = re.compile(r"azurekms://([^/]+)/([^/]+)(?:/([a-z0-9]*))?")
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?", re.ASCII)
GRAMMAR = "azurekms://VAULT_HOST/KEY[/VERSION], e.g. azurekms://myvault.vault.azure.net/mykey"

# JWK (kty, crv / RSA size) -> what cosign signs with through Key Vault (azure signer.go getKeyVaultHashFunc:
# P-256 ES256, P-384 ES384, P-521 ES512, RSA 2048 RS256, RSA 3072 RS384, RSA 4096 RS512). sigverify's RSA verifier
# checks SHA-256 only, so RSA 3072/4096 keys (RS384/RS512 signatures) are refused with that reason.
SUPPORTED = ("EC P-256", "EC P-384", "EC P-521", "RSA 2048")
PERMISSION = "keys/get (Key Vault Crypto User / Key Vault Reader role, or a 'get' key access policy)"
TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class AzureKeyRef:
    """A parsed ``azurekms://`` URI."""

    uri: str
    host: str
    name: str
    version: str | None

    @property
    def vault_url(self) -> str:
        return f"https://{self.host}/"

    @property
    def key_id(self) -> str:
        return f"https://{self.host}/keys/{self.name}" + (f"/{self.version}" if self.version else "")


def parse_reference(uri: str) -> AzureKeyRef:
    """Parse an ``azurekms://`` URI; raise ``KeyMaterialError`` with the grammar when it does not fit."""
    text = uri.strip()
    m = _REFERENCE.fullmatch(text)
    if m is None or not _HOST.fullmatch(m.group(1)):
        raise _common.malformed_uri(
            uri,
            GRAMMAR,
            "Use the same URI you give `cosign verify --key`: the vault's host name (not https://), the key "
            "name and optionally the key version.",
        )
    host, name, version = m.groups()
    return AzureKeyRef(uri=text, host=host, name=name, version=version or None)


def export_command(ref: AzureKeyRef) -> str:
    return f"az keyvault key download --id {shlex.quote(ref.key_id)} --encoding PEM --file vendor.pem"


# ---------------------------------------------------------------------------------------------------------------
# Clients: one credential per run and one KeyClient per vault, created under a lock.
# ---------------------------------------------------------------------------------------------------------------

_lock = threading.Lock()
_clients: dict[str, Any] = {}
_credential: list[Any] = []


def reset_clients() -> None:
    """Forget cached clients and the credential (tests change the Azure environment between cases)."""
    with _lock:
        _clients.clear()
        _credential.clear()


def _import_sdk() -> tuple[Any, Any]:
    try:
        from azure.identity import DefaultAzureCredential
        from azure.keyvault.keys import KeyClient
    except ImportError as e:
        raise KeyMaterialError(
            "azurekms:// keys need the Azure SDK for Python (azure-keyvault-keys and azure-identity), which is "
            "not installed",
            expected="azure-keyvault-keys and azure-identity importable",
            found=f"ModuleNotFoundError: {e.name or 'azure'}",
            tip="pip install 'sigverify[azure]' — or verify offline with the exported public key: az keyvault key "
            "download --id https://VAULT.vault.azure.net/keys/KEY --encoding PEM --file vendor.pem, then "
            "key: {path: vendor.pem}.",
        ) from None
    return DefaultAzureCredential, KeyClient


def _client(ref: AzureKeyRef) -> Any:
    default_credential, key_client = _import_sdk()
    with _lock:
        client = _clients.get(ref.vault_url)
        if client is None:
            if not _credential:
                # The usual chain: environment (client secret / certificate), workload identity (AKS, GitHub OIDC
                # via azure/login), managed identity, Azure CLI, ... Never an interactive browser.
                _credential.append(default_credential(exclude_interactive_browser_credential=True))
            client = key_client(ref.vault_url, _credential[0], connection_timeout=TIMEOUT_SECONDS,
                                read_timeout=TIMEOUT_SECONDS, retry_total=0)
            _clients[ref.vault_url] = client
        return client


# ---------------------------------------------------------------------------------------------------------------
# Fetch + checks
# ---------------------------------------------------------------------------------------------------------------


def fetch_public_key_pem(uri: str) -> bytes:
    """GET {vault}/keys/{name}[/{version}]; the JWK checked to be an enabled signing key cosign signs with."""
    ref = parse_reference(uri)
    client = _client(ref)
    try:
        key = client.get_key(ref.name, ref.version)
    except Exception as e:  # azure.core / azure.identity errors, mapped below; anything else fails closed too
        raise _error(ref, e) from None
    jwk = key.key
    return checked_pem(ref, {f: getattr(jwk, f, None) for f in ("kid", "kty", "key_ops", "crv", "n", "e", "x", "y")},
                       getattr(key.properties, "enabled", None))


def _value(value: Any) -> str:
    """The string of an SDK enum member (KeyType.EC -> "EC") or of a plain string."""
    return str(getattr(value, "value", value) or "")


def _b(value: Any) -> bytes:
    return bytes(value) if isinstance(value, bytes | bytearray) else b""


def checked_pem(ref: AzureKeyRef, jwk: dict[str, Any], enabled: bool | None) -> bytes:
    """The public key of a Key Vault JWK (``n``/``e``/``x``/``y`` already decoded to bytes by the SDK)."""
    source = f"Azure Key Vault key {ref.key_id}"
    if enabled is False:
        raise KeyMaterialError(f"{source} is disabled", expected="an enabled key", found="attributes.enabled false",
                               tip="A disabled key cannot have signed new images; ask the key owner.")
    kty = _value(jwk.get("kty"))
    ops = {_value(op).lower() for op in (jwk.get("key_ops") or [])}
    if jwk.get("key_ops") is not None and "verify" not in ops and "sign" not in ops:
        raise KeyMaterialError(
            f"{source} is not a signing key: its permitted operations are {sorted(ops)}",
            expected="key_ops including sign/verify",
            found=f"key_ops {sorted(ops)}",
            tip="Point the URI at the vendor's signing key (an encryption or wrap key cannot have signed images); "
            "`cosign generate-key-pair --kms azurekms://...` creates an EC key with sign and verify.",
        )
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key: Any
    if kty.upper() in ("EC", "EC-HSM"):
        curves = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
        crv = _value(jwk.get("crv")).upper()
        curve = curves.get(crv)
        if curve is None:
            return _refuse(source, f"EC {crv or '?'}")
        x, y = _b(jwk.get("x")), _b(jwk.get("y"))
        size = (curve.key_size + 7) // 8
        if len(x) > size or len(y) > size or not x or not y:
            raise KeyMaterialError(f"{source}: the EC key coordinates do not fit {crv}", expected=f"{size} bytes each",
                                   found=f"{len(x)} and {len(y)} bytes")
        try:
            key = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                                curve).public_key()
        except ValueError:
            raise KeyMaterialError(f"{source}: the EC point is not on {crv}", expected="a valid public key",
                                   found="an invalid point") from None
    elif kty.upper() in ("RSA", "RSA-HSM"):
        n, e = int.from_bytes(_b(jwk.get("n")), "big"), int.from_bytes(_b(jwk.get("e")), "big")
        try:
            key = rsa.RSAPublicNumbers(e, n).public_key()
        except ValueError:
            raise KeyMaterialError(f"{source}: the RSA key is not valid", expected="a valid RSA public key",
                                   found=f"{n.bit_length()}-bit modulus") from None
        if key.key_size != 2048:
            return _refuse(source, f"RSA {key.key_size}")
    else:
        return _refuse(source, kty or "no key type")
    log.debug("fetched %s from Azure Key Vault", ref.key_id)
    return _spki.to_pem(key)


def _refuse(source: str, found: str) -> bytes:
    tip = ("cosign signs with P-256 (recommended), P-384, P-521 and RSA keys; for RSA 3072/4096 keys it signs "
           "with RS384/RS512 (SHA-384/512), which sigverify's RSA verifier (SHA-256) does not check."
           if found.startswith("RSA") else
           "Point the URI at the vendor's asymmetric signing key (EC P-256/P-384/P-521 or RSA 2048).")
    raise KeyMaterialError(
        f"{source} is a {found} key, which sigverify does not verify cosign signatures with",
        expected=" | ".join(SUPPORTED),
        found=found,
        tip=tip,
    )


# ---------------------------------------------------------------------------------------------------------------
# Error mapping: what failed, expected vs found, what to do — never a credential.
# ---------------------------------------------------------------------------------------------------------------

_CREDENTIALS_TIP = (
    "sigverify uses the Azure SDK's DefaultAzureCredential: AZURE_TENANT_ID + AZURE_CLIENT_ID + "
    "AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH), workload identity (AZURE_FEDERATED_TOKEN_FILE, e.g. "
    "AKS or GitHub OIDC through azure/login), a managed identity, or `az login`."
)


def _scrub(text: str, limit: int = 300) -> str:
    secret = os.environ.get("AZURE_CLIENT_SECRET", "").strip()
    return _common.scrub(text, r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9._-]+", "<token>",
                         secrets=((secret, "<secret>"),), cut=" Content: ", limit=limit)


def _error(ref: AzureKeyRef, e: Exception) -> KeyMaterialError:
    from azure.core import exceptions as az

    offline = _common.offline_tip(export_command(ref))
    found = _scrub(f"{type(e).__name__}: {getattr(e, 'message', None) or e}")
    status = getattr(e, "status_code", None)
    if type(e).__name__ == "CredentialUnavailableError" or (
            isinstance(e, az.ClientAuthenticationError) and getattr(e, "response", None) is None):
        return KeyMaterialError(f"no usable Azure credentials to read {ref.key_id}",
                                expected="credentials from the Azure credential chain", found=found,
                                tip=f"{_CREDENTIALS_TIP} {offline}")
    if status == 403:
        return KeyMaterialError(
            f"access denied: not allowed to get Azure Key Vault key {ref.key_id}",
            expected=f"an identity with {PERMISSION}",
            found=found,
            tip="Grant the identity running sigverify the Key Vault Crypto User (or Reader) role on the key or "
            "vault (RBAC), or a key access policy with 'get'; check the vault's firewall allows this runner. "
            + offline,
        )
    if isinstance(e, az.ClientAuthenticationError) or status == 401:
        return KeyMaterialError(f"Azure rejected the credentials used to read {ref.key_id}",
                                expected="valid credentials for the vault's tenant", found=found,
                                tip=f"{_CREDENTIALS_TIP} {offline}")
    if isinstance(e, az.ResourceNotFoundError) or status == 404:
        return KeyMaterialError(
            f"Azure Key Vault key not found: {ref.key_id}",
            expected="an existing key (and version) in the vault",
            found=found,
            tip=f"Check the vault host, key name and version; list keys with `az keyvault key list --vault-name "
            f"{shlex.quote(ref.host.split('.')[0])}`.",
        )
    if isinstance(e, az.ServiceRequestError | az.ServiceResponseError):
        ssl = "SSL" in found or "CERTIFICATE" in found.upper()
        return KeyMaterialError(
            f"{'TLS to' if ssl else 'could not reach'} Azure Key Vault at {ref.vault_url} (reading {ref.name})",
            expected="a reachable vault with a trusted certificate",
            found=found,
            tip=("For a private CA, set REQUESTS_CA_BUNDLE=/path/to/ca.pem (certificate checks are never skipped). "
                 if ssl else "Check network access to the vault (private endpoint / firewall). ") + offline,
        )
    if status is not None and (status >= 500 or status == 429):
        return KeyMaterialError(f"Azure Key Vault could not serve {ref.key_id} right now", expected="an answer",
                                found=found, tip=f"Re-run the job. {offline}")
    return KeyMaterialError(f"reading Azure Key Vault key {ref.key_id} failed", expected="a key answer",
                            found=found, tip=offline)
