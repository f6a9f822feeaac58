"""Verify a cosign classic attestation (`.att` layer: a DSSE envelope over an in-toto statement), key or keyless.

Steps, each failure a reason code (docs/formats.md §5, cosign ATTESTATION_SPEC):
1. DSSE layer media type and blob digest (UNSUPPORTED_FORMAT / DIGEST_MISMATCH); the envelope parses strictly
   with exactly one signature (INVALID_PAYLOAD)
2. key: the signature verifies over PAE(payloadType, payload) with the key (INVALID_SIGNATURE) and, unless
   ``tlog: ignore``, the Rekor bundle's SET and entry (intoto 0.0.2 / dsse 0.0.1) are bound to it (TLOG_INVALID);
   keyless: the same with the certificate, plus Fulcio chain, SCT and time (CERTIFICATE_INVALID)
3. the payload is an in-toto statement (INVALID_PAYLOAD) whose subject includes the resolved digest
   (DIGEST_MISMATCH); predicateType comes from the signed statement, never from the layer annotation
4. keyless: issuer, subject, claims (IDENTITY_MISMATCH)
Result: ``details.kind`` = ``attestation`` (or ``signature`` for a ``https://sigstore.dev/cosign/sign/v1`` statement).
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from sigverify.crypto.dsse import pae
from sigverify.formats import DSSE_MEDIA_TYPE
from sigverify.models import Candidate, Code, SignatureCheck

if TYPE_CHECKING:
    from sigverify.formats.base import VerifyContext
    from sigverify.policy.model import Authority

MAX_SIGNATURES = 1


def _b64(text: Any, what: str) -> bytes:
    """Standard or URL-safe base64 (DSSE allows both), padding optional."""
    from sigverify.errors import Failure

    if not isinstance(text, str):
        raise Failure(Code.INVALID_PAYLOAD, f"{what} is not a base64 string")
    s = text.strip()
    try:
        if "-" in s or "_" in s:
            return base64.b64decode(s + "=" * (-len(s) % 4), altchars=b"-_", validate=True)
        return base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    except ValueError:
        raise Failure(Code.INVALID_PAYLOAD, f"{what} is not valid base64", found=repr(s[:40])) from None


def parse_envelope(blob: bytes) -> tuple[str, bytes, bytes]:
    """(payloadType, payload, signature) of a DSSE envelope with exactly one signature."""
    from sigverify.crypto.strictjson import PayloadError, loads_object
    from sigverify.errors import Failure

    try:
        env = loads_object(blob, what="DSSE envelope")
    except PayloadError as e:
        raise Failure(Code.INVALID_PAYLOAD, f"invalid DSSE envelope: {e.message}", e.expected, e.found) from None
    payload_type = env.get("payloadType")
    if not isinstance(payload_type, str):
        raise Failure(Code.INVALID_PAYLOAD, "the DSSE envelope has no payloadType")
    payload = _b64(env.get("payload"), "DSSE payload")
    sigs = env.get("signatures")
    if not isinstance(sigs, list) or len(sigs) != MAX_SIGNATURES or not isinstance(sigs[0], dict):
        raise Failure(Code.INVALID_PAYLOAD, "a cosign attestation envelope carries exactly one signature",
                    expected="1 signature", found=f"{len(sigs) if isinstance(sigs, list) else 'no'} signatures")
    sig = _b64(sigs[0].get("sig"), "DSSE signature")
    if not sig:
        raise Failure(Code.INVALID_SIGNATURE, "the DSSE signature is empty")
    return payload_type, payload, sig


class AttestationVerifier:
    """The Verifier for (cosign-attestation, key | keyless)."""

    def verify(self, candidate: Candidate, authority: Authority, ctx: VerifyContext) -> SignatureCheck:
        from sigverify.formats.base import run_checked

        details: dict[str, Any] = {"kind": "attestation"}
        return run_checked(candidate, authority, details, "attestation",
                           lambda: self._verify(candidate, authority, ctx, details))

    def _verify(self, candidate: Candidate, authority: Authority, ctx: VerifyContext, details: dict[str, Any]) -> None:
        from sigverify.crypto.intoto import StatementError, bind_statement, parse_statement
        from sigverify.errors import Failure
        from sigverify.formats.cosign_sig.keyless import keyless_material
        from sigverify.formats.identity import match_identity

        blob = candidate.content
        if candidate.layer.media_type != DSSE_MEDIA_TYPE:
            raise Failure(Code.UNSUPPORTED_FORMAT, "the layer is not a DSSE envelope", DSSE_MEDIA_TYPE,
                        candidate.layer.media_type or "(none)")
        algo, _, want = candidate.layer.digest.partition(":")
        if algo != "sha256" or hashlib.sha256(blob).hexdigest() != want:
            raise Failure(Code.DIGEST_MISMATCH, "the envelope does not match its layer digest", candidate.layer.digest,
                        "sha256:" + hashlib.sha256(blob).hexdigest())
        payload_type, payload, signature = parse_envelope(blob)
        signed = pae(payload_type, payload)
        if authority.kind == "keyless":
            ident, _ = keyless_material(candidate, authority, ctx, signature=signature, signed_bytes=signed,
                                        log_payload=payload, details=details)
        elif authority.kind == "key":
            ident = None
            self._verify_key(candidate, authority, ctx, details, signature=signature, signed=signed,
                             payload=payload)
        else:
            raise Failure(Code.UNSUPPORTED_FORMAT, f"a cosign attestation cannot be checked by a {authority.kind} "
                        "authority")
        try:
            st = parse_statement(payload_type, payload)
        except StatementError as e:
            raise Failure(Code.INVALID_PAYLOAD, e.message, e.expected, e.found) from None
        _, unbound = bind_statement(st, ctx.digest, details)
        if unbound is not None:
            raise Failure(unbound.code, unbound.message, unbound.expected, unbound.found)
        if ident is not None and authority.keyless is not None:
            mismatch = match_identity(authority.keyless, ident)
            if mismatch is not None:
                raise Failure(mismatch.code, mismatch.message, mismatch.expected, mismatch.found)

    @staticmethod
    def _verify_key(candidate: Candidate, authority: Authority, ctx: VerifyContext, details: dict[str, Any], *,
                    signature: bytes, signed: bytes, payload: bytes) -> None:
        from sigverify.crypto import rekor
        from sigverify.crypto.keys import verify_signature
        from sigverify.errors import Failure
        from sigverify.formats.cosign_sig import BUNDLE_ANNOTATION
        from sigverify.formats.cosign_sig.keyless import _verify_log
        from sigverify.formats.sigstore_bundle import authority_key

        key, why = authority_key(authority)
        if key is None:
            assert why is not None
            raise Failure(why.code, why.message, why.expected, why.found)
        details["signer"] = key.fingerprint
        scheme = verify_signature(key, signature, signed)
        if scheme is None:
            raise Failure(Code.INVALID_SIGNATURE, f"the attestation does not verify with key {key.label}",
                        f"a signature by {key.fingerprint}", "a signature by another key, or over other bytes")
        details["algorithm"] = scheme
        if authority.tlog == "ignore":
            details["tlog"] = "ignored (tlog: ignore)"
            return
        text = candidate.layer.annotations.get(BUNDLE_ANNOTATION)
        if text is None:
            raise Failure(Code.TLOG_INVALID, "no Rekor bundle on the attestation, and the authority requires a "
                        "transparency-log proof. Tip: for `cosign attest --tlog-upload=false`, set `tlog: ignore`.",
                        f"a {BUNDLE_ANNOTATION} annotation", "none")
        try:
            _verify_log(text, signature=signature, spki=key.der, signer_der=key.der, payload=payload, ctx=ctx,
                        details=details)
        except rekor.TlogError as e:
            raise Failure(Code.TLOG_INVALID, f"transparency log: {e.message}", e.expected, e.found) from None


VERIFIER = AttestationVerifier()
