"""Key-signed bundles verified without their log entry (authorities with ``tlog: ignore``): the signature alone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sigverify.crypto.bundle.model import KNOWN_MEDIA_TYPES, VerifiedBundle, b64_field
from sigverify.errors import Failure
from sigverify.models import Code

if TYPE_CHECKING:
    from sigverify.crypto.keys import PublicKey


def verify_key_bundle_without_log(
    doc: Mapping[str, Any], key: PublicKey, *, artifact: bytes | None, artifact_digest: bytes | None,
    artifact_digests: Mapping[str, bytes] | None = None,
) -> VerifiedBundle:
    """A key-signed bundle with no log entry (sigstore-models refuses it, so it is read here, strictly):
    the signature alone, with the authority's key."""
    from sigverify.crypto.dsse import pae as dsse_pae
    from sigverify.crypto.keys import verify_signature

    signer = f"key {key.fingerprint}"

    def b64(value: Any, what: str) -> bytes:
        return b64_field(value, what, signer)

    media_type = doc.get("mediaType")
    if media_type not in KNOWN_MEDIA_TYPES:
        raise Failure(Code.UNSUPPORTED_FORMAT, "unsupported Sigstore bundle version",
                            expected=" or ".join(KNOWN_MEDIA_TYPES), found=repr(media_type), signer=signer)
    # The publicKey hint is advisory (npm's registry key ids are not SPKI hashes): the signature decides.
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
        from sigverify.crypto.bundle.message import verify_message_signature

        sig = b64(msg.get("signature"), "messageSignature.signature")
        verify_message_signature(key, sig, msg.get("messageDigest"), artifact=artifact,
                                 artifact_digest=artifact_digest, artifact_digests=artifact_digests, signer=signer)
        return VerifiedBundle(media_type=str(media_type), content="message_signature", certificate=None,
                              identity=None, key_fingerprint=key.fingerprint, payload_type=None, payload=None,
                              signing_times=(), tlog={"tlog": "ignored (tlog: ignore)"})
    raise Failure(Code.INVALID_PAYLOAD, "the bundle needs exactly one of dsseEnvelope, messageSignature",
                        signer=signer)
