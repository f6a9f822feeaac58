"""Fetch public keys named by KMS key URIs (awskms://, gcpkms://, azurekms://, hashivault://, ...)."""

from __future__ import annotations

from sigverify.errors import KeyMaterialError


def fetch_public_key_pem(uri: str) -> bytes:
    """Return the PEM public key for a KMS key URI. Placeholder until the KMS work (issue 7) lands."""
    raise KeyMaterialError(f"KMS key URIs are not supported yet: {uri}", code="KEY_ERROR",
                           tip="Export the public key and use key: {path: ...}.")
