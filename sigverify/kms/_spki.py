"""Normalise public keys from KMS answers or environment variables to PEM SubjectPublicKeyInfo."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sigverify.errors import KeyMaterialError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes


def to_pem(key: PublicKeyTypes) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def kind_of(key: object) -> str | None:
    """``ecdsa-p256`` / ``ecdsa-p384`` / ``ecdsa-p521`` / ``rsa-<bits>`` / ``ed25519`` (Vault transit's names),
    None for any other key: what a key service's reported type or algorithm is compared with."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"secp256r1": "ecdsa-p256", "secp384r1": "ecdsa-p384", "secp521r1": "ecdsa-p521"}.get(key.curve.name)
    if isinstance(key, rsa.RSAPublicKey):
        return f"rsa-{key.key_size}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519"
    return None


def load_der(der: bytes, source: str) -> PublicKeyTypes:
    """Parse a DER SubjectPublicKeyInfo (what KMS GetPublicKey returns)."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    try:
        return serialization.load_der_public_key(der)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise KeyMaterialError(
            f"{source}: the public key returned is not a valid DER SubjectPublicKeyInfo",
            expected="a DER SubjectPublicKeyInfo",
            found=f"{len(der)} bytes ({type(e).__name__})",
        ) from None


def load_pem(data: bytes, source: str) -> PublicKeyTypes:
    """Parse exactly one PEM public key. Never echoes the input (it might hold a private key by mistake)."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    text = data.strip()
    begins = text.count(b"-----BEGIN ")
    if begins == 0:
        raise KeyMaterialError(
            f"{source} does not hold a PEM public key",
            expected="-----BEGIN PUBLIC KEY-----",
            found=f"{len(data)} bytes without a PEM header",
            tip="Put the PEM text of the public key (`cosign public-key --key ...`) in the variable.",
        )
    if b"PRIVATE KEY-----" in text:
        raise KeyMaterialError(
            f"{source} holds a private key; a verifier must only be given the public key",
            expected="-----BEGIN PUBLIC KEY-----",
            found="a PEM PRIVATE KEY block (not shown)",
            tip="Export the public half with `cosign public-key --key cosign.key` and keep the private key "
            "out of the verifier's environment.",
        )
    if begins > 1:
        raise KeyMaterialError(
            f"{source} holds {begins} PEM blocks; one key URI names exactly one public key",
            expected="1 PUBLIC KEY block",
            found=f"{begins} blocks",
            tip="Split the keys into separate authorities (each counts once towards the threshold).",
        )
    try:
        return serialization.load_pem_public_key(text)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise KeyMaterialError(
            f"{source} does not hold a valid PEM public key",
            expected="-----BEGIN PUBLIC KEY----- (SubjectPublicKeyInfo) or RSA PUBLIC KEY",
            found=type(e).__name__,
        ) from None
