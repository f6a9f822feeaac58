"""v0.1 bundles with an inclusion promise and no inclusion proof (allowed by the bundle spec; sigstore-python
refuses them). Same steps as a classic keyless signature: SET, then the certificate at the integrated time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sigverify.crypto.bundle.logbody import check_dsse_log_body, check_hashedrekord_body
from sigverify.crypto.bundle.model import VerifiedBundle, b64_field
from sigverify.errors import Failure
from sigverify.models import Code

if TYPE_CHECKING:
    from sigverify.crypto.trustroot import TrustStore


V01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"


def is_promise_only_v01(doc: Mapping[str, Any]) -> bool:
    vm = doc.get("verificationMaterial")
    if doc.get("mediaType") != V01 or not isinstance(vm, dict):
        return False
    entries = vm.get("tlogEntries")
    if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
        return False
    # proto3 JSON: an explicit null is an absent field (npm's 2023 bundles write "inclusionProof": null)
    return entries[0].get("inclusionPromise") is not None and entries[0].get("inclusionProof") is None


def verify_promise_only_v01(
    doc: Mapping[str, Any], trust: TrustStore, *, artifact: bytes | None, artifact_digest: bytes | None,
    signer: str | None, artifact_digests: Mapping[str, bytes] | None = None,
) -> VerifiedBundle:
    """Steps: (1) leaf certificate from x509CertificateChain, (2) SET by a trusted Rekor key valid at the
    integrated time (rekor.py), (3) the certificate at that time: chain, CA window, SCT, code signing, validity,
    (4) the signature (DSSE PAE or the artifact) with the certificate key, (5) the log body names exactly this
    signature, certificate and payload/artifact."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from sigverify.crypto import rekor
    from sigverify.crypto.certificates import verify_fulcio_certificate
    from sigverify.crypto.dsse import pae as dsse_pae
    from sigverify.crypto.fulcio import IdentityError, identity_of
    from sigverify.crypto.keys import load_der_public_key, verify_signature

    def fail(code: str, message: str, **kw: Any) -> Failure:
        return Failure(code, message, signer=signer, **kw)

    def b64(value: Any, what: str) -> bytes:
        return b64_field(value, what, signer)

    vm = doc["verificationMaterial"]
    chain = vm.get("x509CertificateChain")
    certs = chain.get("certificates") if isinstance(chain, dict) else None
    if not isinstance(certs, list) or not certs or not isinstance(certs[0], dict):
        raise fail(Code.CERTIFICATE_INVALID, "the bundle has no signing certificate",
                   expected="verificationMaterial.x509CertificateChain.certificates[0]")
    try:
        cert = x509.load_der_x509_certificate(b64(certs[0].get("rawBytes"), "certificate rawBytes"))
    except ValueError as e:
        raise fail(Code.CERTIFICATE_INVALID, f"the signing certificate does not parse: {e}") from None
    if (vm.get("timestampVerificationData") or {}).get("rfc3161Timestamps"):
        raise fail(Code.UNSUPPORTED_FORMAT, "RFC 3161 timestamps in a v0.1 bundle without inclusion proof")
    entry = vm["tlogEntries"][0]
    try:
        kind_version = entry["kindVersion"]
        kind, version = str(kind_version["kind"]), str(kind_version["version"])
        body_b64 = entry["canonicalizedBody"]
        rb = rekor.RekorBundle(
            signed_entry_timestamp=b64(entry["inclusionPromise"]["signedEntryTimestamp"], "signedEntryTimestamp"),
            body=body_b64,
            integrated_time=int(entry["integratedTime"]),
            log_index=int(entry["logIndex"]),
            log_id=b64(entry["logId"]["keyId"], "logId.keyId").hex(),
        )
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, Failure):
            raise
        raise fail(Code.TLOG_INVALID, f"malformed transparency log entry: {e}") from None
    if rb.log_index < 0 or rb.integrated_time <= 0:
        raise fail(Code.TLOG_INVALID, "negative log index or integrated time in the log entry")
    try:
        rekor.verify_set(rb, trust.rekor_keys())
    except rekor.TlogError as e:
        raise fail(Code.TLOG_INVALID, f"transparency log: {e.message}", expected=e.expected, found=e.found) from None
    verify_fulcio_certificate(cert, rb.integrated_at, trust, signer=signer)
    try:
        identity = identity_of(cert)
    except IdentityError as e:
        raise fail(Code.CERTIFICATE_INVALID, f"unreadable certificate identity: {e}") from None
    cert_der = cert.public_bytes(serialization.Encoding.DER)
    key = load_der_public_key(
        cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        "certificate")
    body = b64(body_b64, "canonicalizedBody")
    env, msg = doc.get("dsseEnvelope"), doc.get("messageSignature")
    tlog = {"log_index": rb.log_index, "log_id": rb.log_id, "kind": f"{kind}/{version}",
            "integrated_time": rb.integrated_at.isoformat(), "inclusion": "promise only (v0.1)"}
    if isinstance(env, dict) and msg is None:
        payload_type = env.get("payloadType")
        sigs = env.get("signatures")
        if not isinstance(payload_type, str) or not isinstance(sigs, list) or len(sigs) != 1:
            raise fail(Code.INVALID_PAYLOAD, "a bundle's DSSE envelope needs a payloadType and exactly one signature")
        payload = b64(env.get("payload"), "dsseEnvelope.payload")
        sig = b64(sigs[0].get("sig") if isinstance(sigs[0], dict) else None, "DSSE signature")
        pae = dsse_pae(payload_type, payload)
        if verify_signature(key, sig, pae) is None:
            raise fail(Code.INVALID_SIGNATURE, "the DSSE signature does not verify with the certificate's key")
        check_dsse_log_body(kind, version, body, payload=payload, pae=pae, signature=sig, signer_der=cert_der)
        return VerifiedBundle(media_type=V01, content="dsse", certificate=cert, identity=identity,
                              key_fingerprint=None, payload_type=payload_type, payload=payload,
                              signing_times=(rb.integrated_at,), tlog=tlog)
    if isinstance(msg, dict) and env is None:
        sig = b64(msg.get("signature"), "messageSignature.signature")
        from sigverify.crypto.bundle.message import verify_message_signature

        verified = verify_message_signature(key, sig, msg.get("messageDigest"), artifact=artifact,
                                            artifact_digest=artifact_digest, artifact_digests=artifact_digests,
                                            signer=signer)
        check_hashedrekord_body(kind, version, body, digest=verified.digest, signature=sig, signer_der=cert_der,
                                algorithm=verified.algorithm)
        return VerifiedBundle(media_type=V01, content="message_signature", certificate=cert, identity=identity,
                              key_fingerprint=None, payload_type=None, payload=None,
                              signing_times=(rb.integrated_at,), tlog=tlog)
    raise fail(Code.INVALID_PAYLOAD, "the bundle needs exactly one of dsseEnvelope, messageSignature")
