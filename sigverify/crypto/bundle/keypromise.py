"""Key-signed v0.1 bundles with an inclusion promise and no inclusion proof (npm's registry publish attestations):
the SET by a trusted Rekor key, the signature with the authority's key, the log body naming both."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sigverify.crypto.bundle.keyed import verify_key_bundle_without_log
from sigverify.crypto.bundle.logbody import check_dsse_log_body, check_hashedrekord_body
from sigverify.crypto.bundle.model import VerifiedBundle, b64_field
from sigverify.errors import Failure
from sigverify.models import Code

if TYPE_CHECKING:
    from sigverify.crypto.keys import PublicKey
    from sigverify.crypto.trustroot import TrustStore


def verify_key_promise_only_v01(
    doc: Mapping[str, Any], trust: TrustStore, key: PublicKey, *, artifact: bytes | None,
    artifact_digest: bytes | None, artifact_digests: Mapping[str, bytes] | None = None,
) -> VerifiedBundle:
    """Steps: (1) the SET of the one log entry by a trusted Rekor key valid at its integrated time, (2) the
    signature (DSSE PAE or the artifact's digest) with ``key`` (keyed.py), (3) the log body (dsse, intoto,
    hashedrekord) names exactly this signature, this key and this payload or digest."""
    from sigverify.crypto import rekor
    from sigverify.crypto.bundle.message import verify_message_signature
    from sigverify.crypto.dsse import pae as dsse_pae

    signer = f"key {key.fingerprint}"

    def b64(value: Any, what: str) -> bytes:
        return b64_field(value, what, signer)

    vm = doc["verificationMaterial"]
    if (vm.get("timestampVerificationData") or {}).get("rfc3161Timestamps"):
        raise Failure(Code.UNSUPPORTED_FORMAT, "RFC 3161 timestamps in a v0.1 bundle without inclusion proof",
                      signer=signer)
    entry = vm["tlogEntries"][0]
    try:
        kind, version = str(entry["kindVersion"]["kind"]), str(entry["kindVersion"]["version"])
        rb = rekor.RekorBundle(
            signed_entry_timestamp=b64(entry["inclusionPromise"]["signedEntryTimestamp"], "signedEntryTimestamp"),
            body=entry["canonicalizedBody"],
            integrated_time=int(entry["integratedTime"]),
            log_index=int(entry["logIndex"]),
            log_id=b64(entry["logId"]["keyId"], "logId.keyId").hex(),
        )
        body = b64(entry["canonicalizedBody"], "canonicalizedBody")
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, Failure):
            raise
        raise Failure(Code.TLOG_INVALID, f"malformed transparency log entry: {e}", signer=signer) from None
    if rb.log_index < 0 or rb.integrated_time <= 0:
        raise Failure(Code.TLOG_INVALID, "negative log index or integrated time in the log entry", signer=signer)
    try:
        rekor.verify_set(rb, trust.rekor_keys())
    except rekor.TlogError as e:
        raise Failure(Code.TLOG_INVALID, f"transparency log: {e.message}", expected=e.expected, found=e.found,
                      signer=signer) from None
    vb = verify_key_bundle_without_log(doc, key, artifact=artifact, artifact_digest=artifact_digest,
                                       artifact_digests=artifact_digests)
    if vb.content == "dsse":
        assert vb.payload is not None and vb.payload_type is not None
        sig = b64(doc["dsseEnvelope"]["signatures"][0].get("sig"), "dsseEnvelope.signatures[0].sig")
        check_dsse_log_body(kind, version, body, payload=vb.payload, pae=dsse_pae(vb.payload_type, vb.payload),
                            signature=sig, signer_der=key.der)
    else:
        msg = doc["messageSignature"]
        sig = b64(msg.get("signature"), "messageSignature.signature")
        md = verify_message_signature(key, sig, msg.get("messageDigest"), artifact=artifact,
                                      artifact_digest=artifact_digest, artifact_digests=artifact_digests,
                                      signer=signer)
        check_hashedrekord_body(kind, version, body, digest=md.digest, signature=sig, signer_der=key.der,
                                algorithm=md.algorithm)
    tlog = {"log_index": rb.log_index, "log_id": rb.log_id, "kind": f"{kind}/{version}",
            "integrated_time": rb.integrated_at.isoformat(), "inclusion": "promise only (v0.1)"}
    return dataclasses.replace(vb, signing_times=(rb.integrated_at,), tlog=tlog)
