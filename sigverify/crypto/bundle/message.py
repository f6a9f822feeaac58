"""Message signatures over a file: the digest algorithm follows the bundle's messageDigest and the key."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sigverify.crypto.bundle.model import b64_field
from sigverify.errors import Failure
from sigverify.models import Code

if TYPE_CHECKING:
    from sigverify.crypto.keys import PublicKey

# protobuf-specs HashAlgorithm names -> hashlib names (the strong hashes a bundle may name).
BUNDLE_HASHES = {"SHA2_256": "sha256", "SHA2_384": "sha384", "SHA2_512": "sha512"}
_CURVE_HASH = {"secp256r1": "sha256", "secp384r1": "sha384", "secp521r1": "sha512"}


@dataclass(frozen=True)
class MessageDigest:
    """The digest a message signature was verified over: its hashlib name, its bytes, the scheme that verified."""

    algorithm: str
    digest: bytes
    scheme: str


def key_hash(key: PublicKey) -> str:
    """The hash a key signs with by default (sigstore-go key details): the curve's own for ECDSA, SHA-256 for RSA
    (PKCS#1 v1.5 and PSS, 2048-4096) and for Ed25519 (hashedrekord logs the SHA-256 digest)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    if isinstance(key.key, ec.EllipticCurvePublicKey):
        return _CURVE_HASH.get(key.key.curve.name, "sha256")
    return "sha256"


def artifact_digest_of(algorithm: str, *, artifact: bytes | None, sha256: bytes | None,
                       digests: Mapping[str, bytes] | None = None) -> bytes | None:
    """The artifact's digest under ``algorithm``: hashed from its bytes, else from the digests known for it."""
    if artifact is not None:
        return hashlib.new(algorithm, artifact).digest()
    if algorithm == "sha256" and sha256 is not None:
        return sha256
    return (digests or {}).get(algorithm)


def verify_prehashed_with(key: PublicKey, signature: bytes, digest: bytes, algorithm: str) -> str | None:
    """An ECDSA or RSA (PKCS#1 v1.5, then PSS) signature over ``digest`` made with ``algorithm``; the scheme
    name, or None. Ed25519 has no pre-hashed form here (None)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    algo: hashes.HashAlgorithm = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(),
                                  "sha512": hashes.SHA512()}[algorithm]
    if len(digest) != algo.digest_size:
        return None
    k = key.key
    try:
        if isinstance(k, ec.EllipticCurvePublicKey):
            k.verify(signature, digest, ec.ECDSA(Prehashed(algo)))
            return f"ecdsa-{key.algorithm.split()[-1].lower()}-{algorithm}"
        if isinstance(k, rsa.RSAPublicKey):
            try:
                k.verify(signature, digest, padding.PKCS1v15(), Prehashed(algo))
                return f"rsa-pkcs1v15-{algorithm}"
            except InvalidSignature:
                pss = padding.PSS(mgf=padding.MGF1(algo), salt_length=padding.PSS.AUTO)
                k.verify(signature, digest, pss, Prehashed(algo))
                return f"rsa-pss-{algorithm}"
    except (InvalidSignature, ValueError, TypeError):
        return None
    return None


def verify_message_signature(
    key: PublicKey, signature: bytes, message_digest: Any, *, artifact: bytes | None, artifact_digest: bytes | None,
    artifact_digests: Mapping[str, bytes] | None = None, signer: str | None,
) -> MessageDigest:
    """Verify a bundle's ``messageSignature`` over the artifact with ``key``.

    ``message_digest`` is the bundle's raw ``messageDigest`` object (or None). Its algorithm (SHA2_256/384/512)
    decides the hash; without it the key's own hash is tried, then SHA-256 (older signers of P-384/P-521 keys).
    The artifact is hashed with that algorithm; a messageDigest that differs is DIGEST_MISMATCH, a signature that
    does not verify INVALID_SIGNATURE. Returns what verified (the log body must name that digest)."""
    from sigverify.crypto.keys import verify_signature

    if message_digest is not None:
        if not isinstance(message_digest, dict) or message_digest.get("algorithm") not in BUNDLE_HASHES:
            found = message_digest.get("algorithm") if isinstance(message_digest, dict) else message_digest
            raise Failure(Code.INVALID_PAYLOAD, "unsupported messageDigest algorithm",
                          expected=" or ".join(BUNDLE_HASHES), found=repr(found), signer=signer)
        candidates = [BUNDLE_HASHES[message_digest["algorithm"]]]
        claimed: bytes | None = b64_field(message_digest.get("digest"), "messageDigest.digest", signer)
    else:
        own = key_hash(key)
        candidates = [own] if own == "sha256" else [own, "sha256"]
        claimed = None
    from cryptography.hazmat.primitives.asymmetric import ed25519

    for algorithm in candidates:
        digest = artifact_digest_of(algorithm, artifact=artifact, sha256=artifact_digest, digests=artifact_digests)
        if digest is None:
            if artifact is None and artifact_digest is None:
                raise Failure(Code.UNSUPPORTED_FORMAT, "a message-signature bundle signs a file, not this image",
                              expected="a DSSE (in-toto) bundle", found="messageSignature", signer=signer)
            raise Failure(Code.UNSUPPORTED_FORMAT, f"the bundle signs the {algorithm} digest of the file, and "
                          "only its sha256 digest is known", expected="the file itself, not sha256:<hex>",
                          found=f"messageDigest {algorithm}", signer=signer)
        if claimed is not None and claimed != digest:
            raise Failure(Code.DIGEST_MISMATCH, "the bundle's message digest is not the artifact's",
                          expected=f"{algorithm}:{digest.hex()}", found=f"{algorithm}:{claimed.hex()}",
                          signer=signer)
        if isinstance(key.key, ed25519.Ed25519PublicKey):
            scheme = verify_signature(key, signature, artifact) if artifact is not None else None
        else:
            scheme = verify_prehashed_with(key, signature, digest, algorithm)
        if scheme is not None:
            return MessageDigest(algorithm=algorithm, digest=digest, scheme=scheme)
    raise Failure(Code.INVALID_SIGNATURE, "the signature does not verify with the key over the artifact",
                  expected=f"signed by {key.label} over the {' or '.join(candidates)} digest of the file",
                  signer=signer)
