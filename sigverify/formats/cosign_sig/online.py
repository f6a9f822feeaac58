"""A classic keyless `.sig` without the Rekor bundle annotation (cosign ``--tlog-upload`` with an older cosign, or
a copy that dropped annotations): when the network is allowed, its log entry is searched in the Rekor v1 API by
the payload's SHA-256, as cosign does. The entry must name this signature, certificate and payload; its inclusion
proof, checkpoint and signed entry timestamp, and the certificate at the logged time, are verified as the bundle
the three amount to. The verified entry is returned in the annotation's form for the usual checks."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING

from sigverify.errors import Failure
from sigverify.formats.blob import BlobInput, verify_blob
from sigverify.formats.blob_detached import Detached, bound_entry, bundle_for
from sigverify.models import Code

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

    from sigverify.formats.base import VerifyContext
    from sigverify.policy.model import KeylessIdentity


def looked_up_annotation(*, signature: bytes, cert: Certificate, payload: bytes, identity: KeylessIdentity,
                         ctx: VerifyContext, details: dict[str, object]) -> str:
    """Find and verify the log entry of this signature; return it as a ``dev.sigstore.cosign/bundle`` annotation.
    Raises ``Failure`` (TLOG_INVALID when there is none, the network's code when the log cannot be asked)."""
    from cryptography.hazmat.primitives import serialization

    blob = BlobInput(label="signature payload", sha256=hashlib.sha256(payload).digest(), data=payload)
    d = Detached(signature=signature, certificate=cert, label="signature payload")
    lookup: dict[str, object] = {}
    entry = bound_entry(blob, d, signer_der=cert.public_bytes(serialization.Encoding.DER), signer_kind="certificate",
                        trust=ctx.trust, offline=False, rekor_url=None, details=lookup)
    details["tlog_lookup"] = lookup.get("tlog_lookup")
    if entry.signed_entry_timestamp is None:
        raise Failure(Code.TLOG_INVALID, "the looked-up log entry has no signed entry timestamp",
                      expected="verification.signedEntryTimestamp", found="none")
    check = verify_blob(blob, trust=ctx.trust, bundle=bundle_for(blob, d, entry), bundle_label="log entry",
                        identity=identity)
    if not check.ok:
        r = check.reason
        assert r is not None
        raise Failure(r.code, f"looked-up log entry: {r.message}", r.expected, r.found, signer=check.signer)
    return json.dumps({
        "SignedEntryTimestamp": base64.b64encode(entry.signed_entry_timestamp).decode(),
        "Payload": {"body": entry.body_b64, "integratedTime": entry.integrated_time, "logIndex": entry.log_index,
                    "logID": entry.log_id},
    })
