"""Key-signed bundles verified without their log entry (authorities with ``tlog: ignore``): the signature alone."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sigverify.crypto.bundle.model import KNOWN_MEDIA_TYPES, VerifiedBundle, b64_field
from sigverify.errors import Failure
from sigverify.models import Code

if TYPE_CHECKING:
    from sigverify.crypto.keys import PublicKey


def verify_key_bundle_without_log(
    doc: Mapping[str, Any], key: PublicKey, *, artifact: bytes | None, artifact_digest: bytes | None
) -> VerifiedBundle:
    """A key-signed bundle with no log entry (sigstore-models refuses it, so it is read here, strictly):
    the signature alone, with the authority's key."""
    from sigverify.crypto.dsse import pae as dsse_pae
    from sigverify.crypto.keys import verify_prehashed, verify_signature

    signer = f"key {key.fingerprint}"

    def b64(value: Any, what: str) -> bytes:
        return b64_field(value, what, signer)

    media_type = doc.get("mediaType")
    if media_type not in KNOWN_MEDIA_TYPES:
        raise Failure(Code.UNSUPPORTED_FORMAT, "unsupported Sigstore bundle version",
                            expected=" or ".join(KNOWN_MEDIA_TYPES), found=repr(media_type), signer=signer)
    hint = (doc.get("verificationMaterial") or {}).get("publicKey", {}).get("hint")
    expected_hint = base64.b64encode(hashlib.sha256(key.der).digest()).decode()
    if hint and hint != expected_hint:
        raise Failure(Code.INVALID_SIGNATURE, "the bundle was signed with another key",
                            expected=f"key hint {expected_hint}", found=f"key hint {hint}", signer=f"key hint {hint}")
    env = doc.get("dsseEnvelope")
    msg = doc.get("messageSignature")
    if isinstance(env, dict) and msg is None:
        payload_type = env.get("payloadType")
        if not isinstance(payload_type, str):
            raise Failure(Code.INVALID_PAYLOAD, "the DSSE envelope has no payloadType", signer=signer)
        payload = b64(env.get("payload"), "dsseEnvelope.payload")
        sigs = env.get("signatures")
        if not isinstance(sigs, list) or len(sigs) != 1 or not isinstance(sigs[0], dict):
            raise Failure(Code.INVALID_PAYLOAD, "a bundle's DSSE envelope must carry exactly one signature",
                                signer=signer)
        sig = b64(sigs[0].get("sig"), "dsseEnvelope.signatures[0].sig")
        pae = dsse_pae(payload_type, payload)
        if verify_signature(key, sig, pae) is None:
            raise Failure(Code.INVALID_SIGNATURE, "the DSSE signature does not verify with the key",
                                expected=f"signed by {key.label}", signer=signer)
        return VerifiedBundle(media_type=str(media_type), content="dsse", certificate=None, identity=None,
                              key_fingerprint=key.fingerprint, payload_type=payload_type, payload=payload,
                              signing_times=(), tlog={"tlog": "ignored (tlog: ignore)"})
    if isinstance(msg, dict) and env is None:
        sig = b64(msg.get("signature"), "messageSignature.signature")
        digest = hashlib.sha256(artifact).digest() if artifact is not None else artifact_digest
        if digest is None:
            raise Failure(Code.UNSUPPORTED_FORMAT, "a message-signature bundle signs a file, not this image",
                                expected="a DSSE (in-toto) bundle", found="messageSignature", signer=signer)
        md = msg.get("messageDigest")
        if md is not None:
            if not isinstance(md, dict) or md.get("algorithm") != "SHA2_256":
                raise Failure(Code.INVALID_PAYLOAD, "unsupported messageDigest", expected="SHA2_256",
                                    signer=signer)
            if b64(md.get("digest"), "messageDigest.digest") != digest:
                raise Failure(Code.DIGEST_MISMATCH, "the bundle's message digest is not the artifact's",
                                    expected=digest.hex(), signer=signer)
        ok = (verify_signature(key, sig, artifact) is not None if artifact is not None
              else verify_prehashed(key, sig, digest))
        if not ok:
            raise Failure(Code.INVALID_SIGNATURE, "the signature does not verify with the key over the "
                                "artifact", expected=f"signed by {key.label}", signer=signer)
        return VerifiedBundle(media_type=str(media_type), content="message_signature", certificate=None,
                              identity=None, key_fingerprint=key.fingerprint, payload_type=None, payload=None,
                              signing_times=(), tlog={"tlog": "ignored (tlog: ignore)"})
    raise Failure(Code.INVALID_PAYLOAD, "the bundle needs exactly one of dsseEnvelope, messageSignature",
                        signer=signer)
