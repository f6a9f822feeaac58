"""Public keys named by key URIs, as ``cosign verify --key <uri>`` accepts them (awskms://, gcpkms://, ...).

``fetch_public_key_pem(uri)`` returns a PEM ``SubjectPublicKeyInfo``; verification then happens locally, exactly
as with a PEM file. ``awskms://`` (boto3), ``gcpkms://`` (google-cloud-kms), ``azurekms://`` (azure-keyvault-keys
with azure-identity) and ``hashivault://`` (hvac) talk to the key service through its SDK, each an optional extra
(``sigverify[aws]``, ``[gcp]``, ``[azure]``, ``[vault]``); ``env://`` reads an environment variable. Every other
scheme cosign knows is recognised and refused with the command that exports the public key, so the same policy
can use ``key: {path: exported.pem}``.

Nothing here imports an SDK or cryptography at module level: ``import sigverify.kms`` stays cheap.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

# Schemes cosign accepts for --key besides a file path (sigstore/sigstore pkg/signature/kms, cosign pkg/blob).
FETCHED_SCHEMES = ("awskms", "gcpkms", "azurekms", "hashivault", "env")
EXPORT_ONLY_SCHEMES = ("k8s", "gitlab", "pkcs11", "https", "http")
_SERVICES = {"awskms": "aws", "gcpkms": "gcp", "azurekms": "azure", "hashivault": "vault"}

_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):", re.ASCII)


def scheme_of(uri: str) -> str | None:
    """The lower-case scheme of a key URI (``awskms`` for ``awskms:///alias/x``), or None without one."""
    m = _SCHEME.match(uri.strip().lower())
    if m is None:
        return None
    rest = uri.strip()[m.end():]
    if m.group(1) == "pkcs11" or rest.startswith("//"):
        return m.group(1)
    return None


def check_uri(uri: str) -> None:
    """Raise ``KeyMaterialError`` when ``uri`` cannot work here (bad grammar, export-only or unknown scheme).

    Pure: no network, no environment lookups, no heavy imports. A policy loader may call it to report the
    problem as a configuration error (exit code 2) before any image is looked at.
    """
    scheme = scheme_of(uri)
    if scheme in _SERVICES:
        _service(scheme).parse_reference(uri)
        return
    if scheme == "env":
        from sigverify.kms import offline

        offline.env_var_name(uri)
        return
    from sigverify.kms import offline

    raise offline.refusal(uri, scheme)


_SERVICE_NAMES = {"awskms": "AWS KMS", "gcpkms": "Google Cloud KMS", "azurekms": "Azure Key Vault",
                  "hashivault": "HashiCorp Vault"}


def network_service(uri: str) -> str | None:
    """The key service a key URI is read from over the network (``AWS KMS`` for ``awskms://``), or None when
    reading it needs no network (``env://``, or a scheme that is refused anyway)."""
    return _SERVICE_NAMES.get(scheme_of(uri) or "")


def export_command(uri: str) -> str:
    """The command that exports the public key a key-service URI names, for ``key: {path: vendor.pem}``."""
    import shlex

    return f"cosign public-key --key {shlex.quote(uri.strip())} --outfile vendor.pem"


def fetch_public_key_pem(uri: str) -> bytes:
    """Return the PEM public key (SubjectPublicKeyInfo) named by a key URI.

    Raises ``KeyMaterialError`` (code ``KEY_ERROR``) for every failure: a malformed URI, a scheme that needs the
    exported public key instead, a missing SDK, credentials, permissions, a missing key, a key that cannot
    verify cosign signatures. Safe to call from several threads at once.
    """
    scheme = scheme_of(uri)
    if scheme in _SERVICES:
        pem: bytes = _service(scheme).fetch_public_key_pem(uri)
        return pem
    if scheme == "env":
        from sigverify.kms import offline

        return offline.env_public_key_pem(uri)
    from sigverify.kms import offline

    raise offline.refusal(uri, scheme)


def _service(scheme: str) -> Any:
    """The module of a key service (imported on first use: each needs its own optional SDK)."""
    return importlib.import_module(f"sigverify.kms.{_SERVICES[scheme]}")


__all__ = ["EXPORT_ONLY_SCHEMES", "FETCHED_SCHEMES", "check_uri", "export_command", "fetch_public_key_pem",
           "network_service", "scheme_of"]
