"""Keyless bundles without a log entry, timestamped by a trusted TSA (opt-in: ``tlog: ignore``). This is how
Sigstore instances without a transparency log sign (GitHub's, for private-repository artifact attestations).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sigverify.crypto.bundle.model import KNOWN_MEDIA_TYPES, VerifiedBundle, b64_field, unverified_signer
from sigverify.errors import Failure
from sigverify.models import Code

if TYPE_CHECKING:
    from sigverify.crypto.trustroot import TrustStore


MAX_TIMESTAMPS = 32


def verify_timestamped_only(
    doc: Mapping[str, Any], trust: TrustStore, *, artifact: bytes | None, artifact_digest: bytes | None,
    artifact_digests: Mapping[str, bytes] | None = None,
) -> VerifiedBundle:
    """Steps: (1) the leaf certificate, (2) the signature bytes, (3) every RFC 3161 timestamp over them verified
    with a TSA of the trusted root (at least one), (4) at each time: chain, CA window, SCT (when the trusted root
    has CT logs), code signing, validity, (5) the signature (DSSE PAE or the artifact) with the certificate key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from sigverify.crypto.certificates import verify_fulcio_certificate
    from sigverify.crypto.dsse import pae as dsse_pae
    from sigverify.crypto.fulcio import IdentityError, identity_of
    from sigverify.crypto.keys import load_der_public_key, verify_signature
    from sigverify.crypto.sigstore_adapter import tsa_times

    signer = unverified_signer(doc)

    def fail(code: str, message: str, **kw: Any) -> Failure:
        return Failure(code, message, signer=signer, **kw)

    def b64(value: Any, what: str) -> bytes:
        return b64_field(value, what, signer)

    if doc.get("mediaType") not in KNOWN_MEDIA_TYPES:
        raise fail(Code.UNSUPPORTED_FORMAT, "unsupported Sigstore bundle version",
                   expected=" or ".join(KNOWN_MEDIA_TYPES), found=repr(doc.get("mediaType")))
    vm = doc["verificationMaterial"]
    raw_cert = None
    if isinstance(vm.get("certificate"), dict):
        raw_cert = vm["certificate"].get("rawBytes")
    elif isinstance(vm.get("x509CertificateChain"), dict):
        certs = vm["x509CertificateChain"].get("certificates") or []
        raw_cert = certs[0].get("rawBytes") if certs and isinstance(certs[0], dict) else None
    if raw_cert is None:
        raise fail(Code.CERTIFICATE_INVALID, "the bundle has no signing certificate")
    try:
        cert = x509.load_der_x509_certificate(b64(raw_cert, "certificate rawBytes"))
    except ValueError as e:
        raise fail(Code.CERTIFICATE_INVALID, f"the signing certificate does not parse: {e}") from None
    env, msg = doc.get("dsseEnvelope"), doc.get("messageSignature")
    if isinstance(env, dict) and msg is None:
        payload_type = env.get("payloadType")
        sigs = env.get("signatures")
        if not isinstance(payload_type, str) or not isinstance(sigs, list) or len(sigs) != 1:
            raise fail(Code.INVALID_PAYLOAD, "a bundle's DSSE envelope needs a payloadType and exactly one signature")
        payload: bytes | None = b64(env.get("payload"), "dsseEnvelope.payload")
        signature = b64(sigs[0].get("sig") if isinstance(sigs[0], dict) else None, "DSSE signature")
    elif isinstance(msg, dict) and env is None:
        payload_type, payload = None, None
        signature = b64(msg.get("signature"), "messageSignature.signature")
    else:
        raise fail(Code.INVALID_PAYLOAD, "the bundle needs exactly one of dsseEnvelope, messageSignature")

    tsd = vm.get("timestampVerificationData")
    raw_ts = tsd.get("rfc3161Timestamps") if isinstance(tsd, dict) else None
    if not isinstance(raw_ts, list) or not raw_ts:
        raise fail(Code.TLOG_INVALID, "neither a transparency-log entry nor a signed timestamp: no trusted time",
                   expected="verificationMaterial.timestampVerificationData.rfc3161Timestamps")
    if len(raw_ts) > MAX_TIMESTAMPS:
        raise fail(Code.TLOG_INVALID, "too many signed timestamps", expected=f"<= {MAX_TIMESTAMPS}",
                   found=str(len(raw_ts)))
    tokens = [b64(t.get("signedTimestamp") if isinstance(t, dict) else None, "signedTimestamp") for t in raw_ts]
    if len(set(tokens)) != len(tokens):
        raise fail(Code.TLOG_INVALID, "duplicate signed timestamps")
    times = tsa_times(trust, tokens, signature, signer)
    if not times:
        raise fail(Code.TLOG_INVALID, "no signed timestamp verifies with a TSA of the trusted root",
                   expected=f"a timestamp by a TSA in {trust.label}, valid at its time")
    for when in times:
        verify_fulcio_certificate(cert, when, trust, signer=signer, sct_optional_without_ct_logs=True)
    try:
        identity = identity_of(cert)
    except IdentityError as e:
        raise fail(Code.CERTIFICATE_INVALID, f"unreadable certificate identity: {e}") from None
    key = load_der_public_key(
        cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        "certificate")
    tlog = {"tlog": "none (signed timestamps only; tlog: ignore)"}
    if payload is not None:
        assert payload_type is not None
        pae = dsse_pae(payload_type, payload)
        if verify_signature(key, signature, pae) is None:
            raise fail(Code.INVALID_SIGNATURE, "the DSSE signature does not verify with the certificate's key")
        return VerifiedBundle(media_type=str(doc["mediaType"]), content="dsse", certificate=cert, identity=identity,
                              key_fingerprint=None, payload_type=payload_type, payload=payload,
                              signing_times=tuple(times), tlog=tlog)
    from sigverify.crypto.bundle.message import verify_message_signature

    verify_message_signature(key, signature, msg.get("messageDigest") if isinstance(msg, dict) else None,
                             artifact=artifact, artifact_digest=artifact_digest, artifact_digests=artifact_digests,
                             signer=signer)
    return VerifiedBundle(media_type=str(doc["mediaType"]), content="message_signature", certificate=cert,
                          identity=identity, key_fingerprint=None, payload_type=None, payload=None,
                          signing_times=tuple(times), tlog=tlog)
