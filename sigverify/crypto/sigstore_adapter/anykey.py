"""sigstore-python's verification steps (7) and (8) for keys other than P-256 with SHA-256: P-384/P-521 with their
own hash, RSA (PKCS#1 v1.5 and PSS), and SHA-384/SHA-512 message digests (upstream casts every key to P-256)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sigverify.errors import Failure
from sigverify.models import Code

if TYPE_CHECKING:
    from sigverify.crypto.keys import PublicKey


def _der() -> Any:
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def is_p256(key: Any) -> bool:
    from cryptography.hazmat.primitives.asymmetric import ec

    return isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"


def upstream_message_path(bundle: Any, doc: Mapping[str, Any]) -> bool:
    """sigstore-python verifies a message signature only for a P-256 key over a SHA-256 digest."""
    msg = doc.get("messageSignature")
    md = msg.get("messageDigest") if isinstance(msg, dict) else None
    sha256 = md is None or (isinstance(md, dict) and md.get("algorithm") == "SHA2_256")
    return sha256 and is_p256(bundle.signing_certificate.public_key())


def cert_key(bundle: Any) -> PublicKey:
    from cryptography.hazmat.primitives.serialization import PublicFormat

    from sigverify.crypto.keys import load_der_public_key

    spki = bundle.signing_certificate.public_key().public_bytes(_der(), PublicFormat.SubjectPublicKeyInfo)
    return load_der_public_key(spki, "signing certificate")


def verify_cert_message(bundle: Any, doc: Mapping[str, Any], *, artifact: bytes | None,
                         artifact_digest: bytes | None, artifact_digests: Mapping[str, bytes] | None,
                         signer: str | None) -> None:
    """Steps (7) and (8) of sigstore-python's verify_artifact for any key: the signature over the digest the
    bundle and key name, and the hashedrekord body naming that digest, signature and certificate."""
    from sigverify.crypto.bundle.logbody import check_hashedrekord_body
    from sigverify.crypto.bundle.message import verify_message_signature

    msg = doc.get("messageSignature")
    md = msg.get("messageDigest") if isinstance(msg, dict) else None
    signature = bundle._inner.message_signature.signature
    verified = verify_message_signature(cert_key(bundle), signature, md, artifact=artifact,
                                        artifact_digest=artifact_digest, artifact_digests=artifact_digests,
                                        signer=signer)
    ie = bundle.log_entry._inner
    check_hashedrekord_body(ie.kind_version.kind, ie.kind_version.version, bytes(ie.canonicalized_body),
                            digest=verified.digest, signature=signature,
                            signer_der=bundle.signing_certificate.public_bytes(_der()), algorithm=verified.algorithm)


def verify_cert_dsse(bundle: Any, signer: str | None) -> tuple[str, bytes]:
    """Steps (7) and (8) of verify_dsse for keys other than P-256 (P-384/P-521 with their own hash, RSA)."""
    from sigverify.crypto.bundle.logbody import check_dsse_log_body
    from sigverify.crypto.keys import verify_signature

    envelope = bundle._dsse_envelope
    if envelope is None:
        raise Failure(Code.INVALID_PAYLOAD, "the bundle has no DSSE envelope", signer=signer)
    pae = envelope.pae()
    signature = envelope.signature
    if verify_signature(cert_key(bundle), signature, pae) is None:
        raise Failure(Code.INVALID_SIGNATURE, "the DSSE signature does not verify with the certificate's key",
                      signer=signer)
    ie = bundle.log_entry._inner
    check_dsse_log_body(ie.kind_version.kind, ie.kind_version.version, bytes(ie.canonicalized_body),
                        payload=envelope._inner.payload, pae=pae, signature=signature,
                        signer_der=bundle.signing_certificate.public_bytes(_der()))
    return (envelope._inner.payload_type, envelope._inner.payload)
