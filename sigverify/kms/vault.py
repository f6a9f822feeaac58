"""``hashivault://`` keys: read the public key of a HashiCorp Vault / OpenBao transit key (hvac, Vault token)."""

from __future__ import annotations

import base64
import binascii
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

# sigstore/sigstore pkg/signature/kms/hashivault/client.go: ^hashivault://(?P<path>\w(([\w-.]+)?\w)?)$ (Go's \w is
# ASCII). The key is read from /v1/<TRANSIT_SECRET_ENGINE_PATH or "transit">/keys/<name> at VAULT_ADDR with
# VAULT_TOKEN (else ~/.vault-token); the public key is the one of "latest_version", the version cosign signs with.
_REFERENCE = re.compile(r"hashivault://(?P<name>\w(?:[\w.-]*\w)?)", re.ASCII)
_MOUNT = re.compile(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*", re.ASCII)
GRAMMAR = "hashivault://KEY_NAME (a transit key; the mount is TRANSIT_SECRET_ENGINE_PATH, default transit)"

# Transit key types cosign signs with (hashivault signer.go hvSupportedAlgorithms). aes*, chacha20, hmac and
# managed keys have no public key to verify with.
SUPPORTED_TYPES = ("ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "ed25519", "rsa-2048", "rsa-3072", "rsa-4096")
PERMISSION = 'read on "<mount>/keys/<name>"'
MAX_VERSIONS = 10_000


@dataclass(frozen=True)
class VaultKeyRef:
    """A parsed ``hashivault://`` URI and where it is read (``mount`` from the environment, as cosign does)."""

    uri: str
    name: str
    mount: str

    @property
    def path(self) -> str:
        return f"{self.mount}/keys/{self.name}"


def parse_reference(uri: str) -> VaultKeyRef:
    """Parse ``hashivault://KEY``; raise ``KeyMaterialError`` with the grammar when it does not fit."""
    text, m = _common.match_uri(
        _REFERENCE,
        uri,
        GRAMMAR,
        "Use the same URI you give `cosign verify --key`, e.g. hashivault://cosign-key; a transit mount "
        "other than transit/ is set with TRANSIT_SECRET_ENGINE_PATH, not in the URI.",
    )
    mount = (os.environ.get("TRANSIT_SECRET_ENGINE_PATH") or "transit").strip("/")
    if not _MOUNT.fullmatch(mount):
        raise KeyMaterialError(
            f"TRANSIT_SECRET_ENGINE_PATH is not a Vault mount path (for {text})",
            expected="a mount path such as transit or team/transit",
            found=repr(mount[:80]),
            tip="Set TRANSIT_SECRET_ENGINE_PATH to the path the transit secrets engine is mounted at, "
            "or unset it for the default transit/.",
        )
    return VaultKeyRef(uri=text, name=m.group("name"), mount=mount)


def export_command(ref: VaultKeyRef) -> str:
    """The shell command that exports the public key cosign signs with (for offline verification)."""
    return (f"vault read -format=json {shlex.quote(ref.path)} | "
            "jq -r '.data.keys[.data.latest_version|tostring].public_key' > vendor.pem")


# ---------------------------------------------------------------------------------------------------------------
# hvac clients: one per (address, namespace, CA setting), created under a lock.
# ---------------------------------------------------------------------------------------------------------------

_lock = threading.Lock()
_clients: dict[tuple[str, str | None, str | bool, str], Any] = {}
TIMEOUT_SECONDS = 20


def reset_clients() -> None:
    """Forget cached clients (tests change the Vault environment between cases)."""
    with _lock:
        _clients.clear()


def _import_hvac() -> Any:
    try:
        import hvac
    except ImportError:
        raise KeyMaterialError(
            "hashivault:// keys need the HashiCorp Vault client for Python (hvac), which is not installed",
            expected="hvac importable",
            found="ModuleNotFoundError: hvac",
            tip="pip install 'sigverify[vault]' — or verify offline with the exported public key: "
            "vault read -format=json transit/keys/KEY | jq -r '.data.keys[.data.latest_version|tostring]"
            ".public_key' > vendor.pem, then key: {path: vendor.pem}.",
        ) from None
    return hvac


def _token() -> str | None:
    """VAULT_TOKEN, else ~/.vault-token (as cosign and the vault CLI read them)."""
    token = os.environ.get("VAULT_TOKEN", "").strip()
    if token:
        return token
    try:
        with open(os.path.expanduser("~/.vault-token"), encoding="utf-8") as f:
            text = f.read(64 * 1024).strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def _client(ref: VaultKeyRef) -> Any:
    hvac = _import_hvac()
    address = os.environ.get("VAULT_ADDR", "").strip()
    if not address:
        raise KeyMaterialError(
            f"VAULT_ADDR is not set (needed to read {ref.uri})",
            expected="VAULT_ADDR=https://vault.example:8200",
            found="not set",
            tip="Set VAULT_ADDR (and VAULT_TOKEN, VAULT_NAMESPACE for Vault Enterprise/HCP namespaces) as for "
            f"`cosign verify --key {ref.uri}`. " + _common.offline_tip(export_command(ref)),
        )
    if re.fullmatch(r"http://[^/\s@]+/?", address, re.ASCII | re.IGNORECASE):
        raise KeyMaterialError(
            f"VAULT_ADDR is plain http:// ({address}); the Vault token and the key would cross the network unprotected",
            expected="VAULT_ADDR=https://HOST[:PORT] (TLS is never skipped)",
            found=address,
            tip="Serve Vault over TLS (for a local dev server: `vault server -dev-tls`, then VAULT_CACERT), or "
            f"verify offline with the exported public key: {export_command(ref)}, then key: {{path: vendor.pem}}.",
        )
    if not re.fullmatch(r"https://[^/\s@]+/?", address, re.ASCII | re.IGNORECASE):
        raise KeyMaterialError(
            "VAULT_ADDR is not a Vault server address",
            expected="https://HOST[:PORT] (no user info, no path)",
            found=address if "@" not in address else "an address with user info (not shown)",
            tip="Set VAULT_ADDR to the server's base URL, e.g. https://vault.example:8200.",
        )
    token = _token()
    if token is None:
        raise KeyMaterialError(
            f"no Vault token to read {ref.uri}",
            expected="VAULT_TOKEN or ~/.vault-token",
            found="neither is set",
            tip="Log in first (in CI, e.g. `vault login -method=jwt role=...` or hashicorp/vault-action, which "
            "exports VAULT_TOKEN); the token needs a policy with capabilities [\"read\"] on "
            f'"{ref.path}". Or verify offline with the exported public key: {export_command(ref)}.',
        )
    namespace = os.environ.get("VAULT_NAMESPACE", "").strip() or None
    # Certificate checks are never skipped (VAULT_SKIP_VERIFY is not honoured); VAULT_CACERT wins over VAULT_CAPATH.
    verify: str | bool = os.environ.get("VAULT_CACERT") or os.environ.get("VAULT_CAPATH") or True
    import hashlib

    cache_key = (address.rstrip("/"), namespace, verify, hashlib.sha256(token.encode()).hexdigest())
    with _lock:
        client = _clients.get(cache_key)
        if client is None:
            # No redirects: a standby node's redirect would carry the X-Vault-Token header to another origin.
            client = hvac.Client(url=address.rstrip("/"), token=token, namespace=namespace, verify=verify,
                                 timeout=TIMEOUT_SECONDS, allow_redirects=False)
            _clients[cache_key] = client
        return client


# ---------------------------------------------------------------------------------------------------------------
# Fetch + checks
# ---------------------------------------------------------------------------------------------------------------


def fetch_public_key_pem(uri: str) -> bytes:
    """GET /v1/<mount>/keys/<name>; the public key of ``latest_version``, checked to be a signing key."""
    ref = parse_reference(uri)
    client = _client(ref)
    try:
        resp = client.secrets.transit.read_key(name=ref.name, mount_point=ref.mount)
    except Exception as e:  # hvac and requests exceptions, mapped below; anything else fails closed too
        raise _error(ref, e) from None
    status = getattr(resp, "status_code", None)  # hvac hands back the raw response for anything but JSON 200
    if status is not None:
        raise _unexpected(ref, int(status))
    return checked_pem(ref, resp)


def checked_pem(ref: VaultKeyRef, resp: Any) -> bytes:
    """The PEM public key of the version cosign signs with, from a transit read-key answer."""
    source = f"Vault transit key {ref.path}"
    data = resp.get("data") if isinstance(resp, dict) else None
    if not isinstance(data, dict):
        raise KeyMaterialError(f"{source}: the answer holds no key data", expected='{"data": {...}}',
                               found=type(resp).__name__,
                               tip="Check VAULT_ADDR points at Vault (or OpenBao), not at a proxy or login page.")
    key_type = data.get("type")
    if data.get("supports_signing") is not True or key_type not in SUPPORTED_TYPES:
        raise KeyMaterialError(
            f"{source} is not a signing key cosign signs with: its type is {key_type!r}",
            expected=" | ".join(SUPPORTED_TYPES) + " (supports_signing: true)",
            found=f"type {key_type!r}, supports_signing {data.get('supports_signing')!r}",
            tip="Point the URI at the vendor's asymmetric signing key; encryption (aes*, chacha20) and hmac keys "
            "cannot verify signatures. A cosign key is created with `cosign generate-key-pair --kms "
            "hashivault://NAME` (ecdsa-p256).",
        )
    keys, latest = data.get("keys"), data.get("latest_version")
    if not isinstance(keys, dict) or len(keys) > MAX_VERSIONS or type(latest) is not int or latest < 1:
        raise KeyMaterialError(f"{source}: the answer has no usable key versions",
                               expected="keys and latest_version", found=f"latest_version {latest!r}")
    entry = keys.get(str(latest))
    pem = entry.get("public_key") if isinstance(entry, dict) else None
    if not isinstance(pem, str) or not pem.strip():
        raise KeyMaterialError(
            f"{source}: version {latest} (the latest, which cosign signs with) has no public key",
            expected="keys[latest_version].public_key",
            found="missing",
            tip="The latest version may have been trimmed or the key is not asymmetric; ask the key owner.",
        )
    if key_type == "ed25519":
        try:
            raw = base64.b64decode(pem.strip(), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise KeyMaterialError(f"{source}: the ed25519 public key is not 32 base64-encoded bytes",
                                   expected="32 bytes", found=f"{len(raw)} bytes")
        from cryptography.hazmat.primitives.asymmetric import ed25519

        key: Any = ed25519.Ed25519PublicKey.from_public_bytes(raw)
    else:
        key = _spki.load_pem(pem.encode("utf-8", errors="replace"), f"{source} version {latest}")
    derived = _spki.kind_of(key)
    if derived != key_type:
        raise KeyMaterialError(
            f"{source}: the reported key type does not match the public key returned",
            expected=str(key_type),
            found=str(derived),
            tip="The Vault answer is inconsistent; check VAULT_ADDR points at Vault.",
        )
    log.debug("fetched %s version %s (%s) from Vault", ref.path, latest, key_type)
    return _spki.to_pem(key)


# ---------------------------------------------------------------------------------------------------------------
# Error mapping: what failed, expected vs found, what to do — never the token.
# ---------------------------------------------------------------------------------------------------------------


def _scrub(text: str, limit: int = 300) -> str:
    token = os.environ.get("VAULT_TOKEN", "").strip()
    return _common.scrub(text, r"\b(?:hvs|hvb|hvr|s|b|r)\.[A-Za-z0-9_-]{8,}", "<token>",
                         secrets=((token, "<token>"),), limit=limit)


def _error(ref: VaultKeyRef, e: Exception) -> KeyMaterialError:
    import requests
    from hvac import exceptions as hx

    address = os.environ.get("VAULT_ADDR", "").strip()
    offline = _common.offline_tip(export_command(ref))
    found = _scrub(f"{type(e).__name__}: {e}")
    if isinstance(e, hx.Forbidden):
        return KeyMaterialError(
            f"access denied: the Vault token may not read {ref.path} (VAULT_ADDR {address})",
            expected=f'a token whose policy allows capabilities ["read"] on "{ref.path}"',
            found=found,
            tip=f'Grant it: path "{ref.path}" {{ capabilities = ["read"] }}. Vault also answers 403 for an '
            "expired or revoked token and for a token of another namespace (check VAULT_NAMESPACE). " + offline,
        )
    if isinstance(e, hx.Unauthorized):
        return KeyMaterialError(f"Vault rejected the token used to read {ref.path}",
                                expected="a valid, unexpired Vault token", found=found,
                                tip="Log in again (VAULT_TOKEN or ~/.vault-token). " + offline)
    if isinstance(e, hx.InvalidPath):
        return KeyMaterialError(
            f"Vault transit key not found: {ref.path} (VAULT_ADDR {address})",
            expected=f"an existing transit key {ref.name!r} under the mount {ref.mount!r}",
            found=found,
            tip="Check the key name and the mount (TRANSIT_SECRET_ENGINE_PATH, default transit) and the "
            f"namespace (VAULT_NAMESPACE); list keys with `vault list {shlex.quote(ref.mount + '/keys')}`.",
        )
    if isinstance(e, hx.VaultDown | hx.InternalServerError | hx.BadGateway):
        return KeyMaterialError(f"Vault could not serve {ref.path} right now", expected="a read-key answer",
                                found=found, tip="A sealed or unavailable Vault: re-run the job. " + offline)
    if isinstance(e, requests.exceptions.SSLError):
        return KeyMaterialError(
            f"TLS to Vault at {address} failed (reading {ref.path})",
            expected="a server certificate trusted by the CA bundle",
            found=found,
            tip="For a private CA, set VAULT_CACERT=/path/to/ca.pem (certificate checks are never skipped; "
            "VAULT_SKIP_VERIFY is not honoured).",
        )
    if isinstance(e, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        return KeyMaterialError(f"could not reach Vault at {address} (reading {ref.path})",
                                expected="a reachable Vault server", found=found,
                                tip="Check VAULT_ADDR and network access to it. " + offline)
    return KeyMaterialError(f"reading Vault transit key {ref.path} failed", expected="a read-key answer",
                            found=found, tip=offline)


def _unexpected(ref: VaultKeyRef, status: int) -> KeyMaterialError:
    address = os.environ.get("VAULT_ADDR", "").strip()
    if 300 <= status < 400:
        return KeyMaterialError(
            f"Vault at {address} redirected the read of {ref.path}",
            expected="an answer from the server VAULT_ADDR names",
            found=f"HTTP {status}",
            tip="Redirects are not followed (they would carry the token elsewhere): point VAULT_ADDR at the "
            "active node or the cluster's load balancer.",
        )
    return KeyMaterialError(
        f"Vault at {address} did not answer the read of {ref.path} with a key",
        expected="HTTP 200 with a JSON body",
        found=f"HTTP {status}",
        tip="Check VAULT_ADDR points at Vault (or OpenBao), not at a proxy or login page.",
    )
