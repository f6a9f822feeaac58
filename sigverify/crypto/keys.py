"""Public keys for key authorities: load PEM or KMS keys (cached per run), fingerprint, verify signatures.

Which schemes a key accepts (what cosign signs with, old and new; see docs in ``verify_signature``):

* ECDSA P-256: SHA-256. P-384: SHA-384 (cosign >= 2.5 ``LoadDefaultSignerVerifier``) or SHA-256 (older cosign,
  and ``cosign verify --key`` default ``--signature-digest-algorithm sha256``). P-521: SHA-512 or SHA-256.
  Signatures are ASN.1 DER ``ECDSA-Sig-Value``.
* RSA (>= 2048 bits): PKCS#1 v1.5 with SHA-256 (cosign default), or PSS with SHA-256 (KMS keys).
* Ed25519: Ed25519ph (cosign >= 2.5 signs with it by default, hashedrekord needs a pre-hash) or pure Ed25519
  (older cosign).
Every accepted scheme uses a collision-resistant hash, so accepting several never weakens the check.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from sigverify.errors import KeyMaterialError, SigverifyError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes


MIN_RSA_BITS = 2048
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.S)


@dataclass(frozen=True)
class PublicKey:
    """A loaded public key: the key object, its SPKI DER, a human label of where it came from."""

    key: PublicKeyTypes
    der: bytes  # SubjectPublicKeyInfo DER
    source: str
    algorithm: str  # "ECDSA P-256", "RSA-3072", "Ed25519"

    @property
    def fingerprint(self) -> str:
        """``sha256:<hex>`` of the SubjectPublicKeyInfo DER."""
        return "sha256:" + hashlib.sha256(self.der).hexdigest()

    @property
    def label(self) -> str:
        """``sha256:1a2b3c4d5e6f… (keys/cosign.pub, ECDSA P-256)``: for messages."""
        return f"{self.fingerprint[:23]}… ({self.source}, {self.algorithm})"


def fingerprint_der(der: bytes) -> str:
    return "sha256:" + hashlib.sha256(der).hexdigest()


EC_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


@dataclass(frozen=True)
class KeyTypeProblem:
    """Why a public key is refused: ``curve`` (its curve name), ``rsa_bits`` (its size) or ``type`` (its class)."""

    kind: str
    found: str


def key_type_problem(key: PublicKeyTypes) -> KeyTypeProblem | None:
    """THE rules for a usable public key, shared by the policy loader and the verifiers: ECDSA on P-256, P-384 or
    P-521, RSA of at least MIN_RSA_BITS bits, or Ed25519. None when ``key`` is usable."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePublicKey):
        return None if key.curve.name in EC_CURVES else KeyTypeProblem("curve", key.curve.name)
    if isinstance(key, rsa.RSAPublicKey):
        return None if key.key_size >= MIN_RSA_BITS else KeyTypeProblem("rsa_bits", str(key.key_size))
    if isinstance(key, ed25519.Ed25519PublicKey):
        return None
    return KeyTypeProblem("type", type(key).__name__)


def _describe(key: PublicKeyTypes) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    problem = key_type_problem(key)
    if problem is not None and problem.kind == "curve":
        raise KeyMaterialError(
            f"unsupported elliptic curve {problem.found}",
            expected="P-256, P-384 or P-521",
            found=problem.found,
            tip="cosign keys use P-256; generate one with `cosign generate-key-pair`.",
        )
    if problem is not None and problem.kind == "rsa_bits":
        raise KeyMaterialError(
            f"RSA key of {problem.found} bits is too small",
            expected=f">= {MIN_RSA_BITS} bits",
            found=problem.found,
            tip="Use an RSA key of at least 2048 bits (3072 or 4096 recommended).",
        )
    if problem is not None:
        raise KeyMaterialError(
            f"unsupported public key type {problem.found}",
            expected="ECDSA (P-256/P-384/P-521), RSA or Ed25519",
            found=problem.found,
        )
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ECDSA {EC_CURVES[key.curve.name]}"
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA-{key.key_size}"
    return "Ed25519"


def load_pem_public_key(pem: bytes, source: str) -> PublicKey:
    """Load exactly one PEM public key (``PUBLIC KEY`` SPKI, or ``RSA PUBLIC KEY`` PKCS#1).

    Raises ``KeyMaterialError`` for no key, a certificate, several keys, a private key, an unsupported type.
    """
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    blocks = _PEM_BLOCK.findall(pem)
    if not blocks:
        raise KeyMaterialError(
            f"no PEM public key found in {source}",
            expected="-----BEGIN PUBLIC KEY-----",
            found=_peek(pem),
            tip="Export the public key: `cosign public-key --key cosign.key` (or `openssl pkey -pubout`).",
        )
    types = [b[0].decode() for b in blocks]
    if types[0] == "CERTIFICATE":
        raise KeyMaterialError(
            f"{source} holds a certificate, not a public key",
            expected="PUBLIC KEY",
            found="CERTIFICATE",
            tip="Extract its key: `openssl x509 -in cert.pem -pubkey -noout`, or use a keyless authority.",
        )
    if "PRIVATE" in types[0]:
        raise KeyMaterialError(
            f"{source} holds a private key; a verifier must only be given the public key",
            expected="PUBLIC KEY",
            found=types[0],
            tip="Use `cosign public-key --key cosign.key > cosign.pub`; keep private keys out of CI configs.",
        )
    if types[0] not in ("PUBLIC KEY", "RSA PUBLIC KEY"):
        raise KeyMaterialError(f"unexpected PEM block in {source}", expected="PUBLIC KEY", found=types[0])
    if len(blocks) > 1:
        raise KeyMaterialError(
            f"{source} holds {len(blocks)} PEM blocks; one authority names exactly one key",
            expected="1 PUBLIC KEY block",
            found=", ".join(types),
            tip="Split the keys into separate authorities (each counts once towards the threshold).",
        )
    match = _PEM_BLOCK.search(pem)
    assert match is not None
    try:
        key = serialization.load_pem_public_key(match.group(0))  # SPKI, or PKCS#1 for RSA PUBLIC KEY
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise KeyMaterialError(f"{source}: invalid public key: {e}", expected="a valid PEM public key") from None
    algorithm = _describe(key)
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return PublicKey(key=key, der=der, source=source, algorithm=algorithm)


def load_der_public_key(der: bytes, source: str) -> PublicKey:
    """Load a SubjectPublicKeyInfo DER key (trusted roots, Rekor bodies)."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise KeyMaterialError(f"{source}: invalid DER public key: {e}") from None
    algorithm = _describe(key)
    norm = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return PublicKey(key=key, der=norm, source=source, algorithm=algorithm)


def _peek(data: bytes) -> str:
    text = data[:40].decode("utf-8", errors="replace").replace("\n", "\\n")
    return repr(text + ("…" if len(data) > 40 else ""))


# ------------------------------------------------------------------------------------------------------------
# Signature verification
# ------------------------------------------------------------------------------------------------------------


def verify_signature(key: PublicKey, signature: bytes, message: bytes) -> str | None:
    """Verify ``signature`` over the exact ``message`` bytes. Returns the scheme that verified
    (e.g. ``ecdsa-p256-sha256``), or None. Never raises for a bad signature."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    k = key.key
    try:
        if isinstance(k, ec.EllipticCurvePublicKey):
            curve_hash: dict[str, hashes.HashAlgorithm] = {
                "secp256r1": hashes.SHA256(),
                "secp384r1": hashes.SHA384(),
                "secp521r1": hashes.SHA512(),
            }
            first = curve_hash[k.curve.name]
            candidates = [first] if first.name == "sha256" else [first, hashes.SHA256()]
            for h in candidates:
                try:
                    k.verify(signature, message, ec.ECDSA(h))
                    return f"ecdsa-{key.algorithm.split()[-1].lower()}-{h.name}"
                except InvalidSignature:
                    continue
            return None
        if isinstance(k, rsa.RSAPublicKey):
            try:
                k.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
                return "rsa-pkcs1v15-sha256"
            except InvalidSignature:
                pass
            try:
                pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
                k.verify(signature, message, pss, hashes.SHA256())
                return "rsa-pss-sha256"
            except InvalidSignature:
                return None
        if isinstance(k, ed25519.Ed25519PublicKey):
            from sigverify.crypto import ed25519ph

            raw = k.public_bytes_raw()
            if ed25519ph.verify(raw, signature, message):
                return "ed25519ph"
            try:
                k.verify(signature, message)
                return "ed25519"
            except InvalidSignature:
                return None
    except (ValueError, TypeError):  # malformed signature encodings
        return None
    return None


def verify_log_signature(key: PublicKeyTypes, signature: bytes, message: bytes) -> bool:
    """Verify a transparency-log signature (Rekor SET): ECDSA with SHA-256 (what cosign's ``VerifySET`` uses for
    every curve) or the curve's own hash (sigstore-go, from the key details), or Ed25519. False on any failure."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            own = {"secp384r1": hashes.SHA384(), "secp521r1": hashes.SHA512()}.get(key.curve.name)
            for h in (hashes.SHA256(), *([own] if own else [])):
                try:
                    key.verify(signature, message, ec.ECDSA(h))
                    return True
                except InvalidSignature:
                    continue
            return False
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
            return True
    except (InvalidSignature, ValueError, TypeError):
        return False
    return False


# ------------------------------------------------------------------------------------------------------------
# Resolution of key references (the policy's KeyRef), cached once per run (thread-safe)
# ------------------------------------------------------------------------------------------------------------


class KeySource(Protocol):
    """A reference to a public key: PEM bytes or a KMS URI, and a label without secrets (policy's KeyRef)."""

    @property
    def source(self) -> str: ...

    @property
    def pem(self) -> bytes | None: ...

    @property
    def kms(self) -> str | None: ...


class KeyCache:
    """Loads each PEM / KMS key once per run. Failures are cached too: every image gets the same answer and a
    KMS is asked once per URI. Thread-safe: concurrent callers for one URI wait for a single fetch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, bytes | str], PublicKey | KeyMaterialError] = {}
        self._inflight: dict[tuple[str, bytes | str], threading.Lock] = {}

    def resolve(self, ref: KeySource) -> PublicKey:
        """Return the key for ``ref`` or raise ``KeyMaterialError`` (the same error every time)."""
        if ref.kms is not None:
            cache_key: tuple[str, bytes | str] = ("kms", ref.kms)
        elif ref.pem is not None:
            cache_key = ("pem", ref.pem)
        else:
            raise KeyMaterialError(f"{ref.source}: the key reference has neither PEM data nor a KMS URI")
        with self._lock:
            hit = self._entries.get(cache_key)
            if hit is None:
                gate = self._inflight.setdefault(cache_key, threading.Lock())
        if hit is None:
            with gate:
                with self._lock:
                    hit = self._entries.get(cache_key)
                if hit is None:
                    hit = self._load(ref)
                    with self._lock:
                        self._entries[cache_key] = hit
                        self._inflight.pop(cache_key, None)
        if isinstance(hit, KeyMaterialError):
            raise hit
        return hit if hit.source == ref.source else replace(hit, source=ref.source)

    @staticmethod
    def _load(ref: KeySource) -> PublicKey | KeyMaterialError:
        try:
            if ref.kms is not None:
                from sigverify import kms

                pem = kms.fetch_public_key_pem(ref.kms)
                return load_pem_public_key(pem, ref.source)
            assert ref.pem is not None
            return load_pem_public_key(ref.pem, ref.source)
        except KeyMaterialError as e:
            return e
        except SigverifyError as e:
            return KeyMaterialError(f"{ref.source}: {e.message}", expected=e.expected, found=e.found, tip=e.tip)
        except Exception as e:  # a KMS client failing in an unexpected way must still fail closed
            return KeyMaterialError(f"{ref.source}: could not load the key: {type(e).__name__}: {e}")

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._inflight.clear()


CACHE = KeyCache()


def resolve(ref: KeySource) -> PublicKey:
    """Load the key named by ``ref`` through the run-wide cache."""
    return CACHE.resolve(ref)


def b64decode_strict(text: str) -> bytes:
    """Standard base64 with padding, no whitespace or stray characters (Go ``StdEncoding``)."""
    if not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text) or len(text) % 4 != 0:
        raise ValueError("not standard padded base64")
    return base64.b64decode(text, validate=True)


def verify_prehashed(key: PublicKey, signature: bytes, digest: bytes) -> bool:
    """An ECDSA or RSA PKCS#1 v1.5 signature over a SHA-256 ``digest`` (the file itself is not at hand)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    k = key.key
    try:
        if isinstance(k, ec.EllipticCurvePublicKey):
            k.verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
            return True
        if isinstance(k, rsa.RSAPublicKey):
            k.verify(signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
            return True
    except (InvalidSignature, ValueError):
        return False
    return False
