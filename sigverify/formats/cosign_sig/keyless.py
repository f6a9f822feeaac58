"""Verify a cosign classic keyless signature (`.sig` layer with a Fulcio certificate and a Rekor bundle), offline.

Steps, each failure a reason code (docs/formats.md §1-§3):
1. simple-signing layer, blob digest, base64 signature annotation (UNSUPPORTED_FORMAT / INVALID_SIGNATURE)
2. the certificate annotation holds one certificate with a readable Fulcio identity (CERTIFICATE_INVALID)
3. the signature verifies over the exact layer bytes with the certificate's key (INVALID_SIGNATURE)
4. the Rekor bundle: SET by a trusted log key valid at integratedTime, entry bound to this signature, key and
   payload (TLOG_INVALID) — it is also the only trusted signing time, so keyless always needs it
5. the certificate chains to a Fulcio CA of the trusted root at that time, has a valid SCT, is a code-signing
   certificate, and the signing time lies within its validity (CERTIFICATE_INVALID)
6. the payload signs exactly the resolved digest (DIGEST_MISMATCH), annotations match (ANNOTATION_MISMATCH)
7. issuer, subject and claims match the authority (IDENTITY_MISMATCH)
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from sigverify.errors import Failure
from sigverify.formats import SIMPLE_SIGNING_MEDIA_TYPE
from sigverify.formats.base import run_checked
from sigverify.formats.cosign_sig import BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, SIGNATURE_ANNOTATION
from sigverify.models import Candidate, Code, SignatureCheck

if TYPE_CHECKING:

    from sigverify.formats.base import VerifyContext
    from sigverify.policy.model import Authority

def signature_from_annotations(annotations: Any, *, allow_empty: bool = False) -> bytes:
    from sigverify.crypto.keys import b64decode_strict

    sig_b64 = annotations.get(SIGNATURE_ANNOTATION)
    if sig_b64 is None:
        raise Failure(Code.INVALID_SIGNATURE, f"the layer has no {SIGNATURE_ANNOTATION} annotation",
                    "a base64 signature annotation", "none")
    try:
        sig = b64decode_strict(sig_b64)
    except ValueError:
        raise Failure(Code.INVALID_SIGNATURE, f"the {SIGNATURE_ANNOTATION} annotation is not valid base64",
                    "standard base64", repr(sig_b64[:40])) from None
    if not sig and not allow_empty:
        raise Failure(Code.INVALID_SIGNATURE, "the signature annotation is empty", "a signature", "empty")
    return sig


def keyless_material(candidate: Candidate, authority: Authority, ctx: VerifyContext, *,
                     signature: bytes, signed_bytes: bytes, log_payload: bytes,
                     details: dict[str, Any]) -> tuple[Any, str]:
    """Steps 2-5 shared by `.sig` and `.att` keyless layers: returns (CertIdentity, signer label).

    ``signed_bytes`` is what the signature covers (layer bytes, or the DSSE PAE); ``log_payload`` what the Rekor
    entry hashes. Raises ``Failure`` with ``details`` updated in place; sets ``details['signer']`` when known."""
    from cryptography.hazmat.primitives import serialization

    from sigverify.crypto import rekor
    from sigverify.crypto.certificates import load_certificate_pem, verify_fulcio_certificate
    from sigverify.crypto.fulcio import IdentityError, identity_of
    from sigverify.crypto.keys import load_der_public_key, verify_signature

    annotations = candidate.layer.annotations
    pem = annotations.get(CERTIFICATE_ANNOTATION)
    if not pem:
        raise Failure(Code.CERTIFICATE_INVALID, "the signature carries no certificate (signed with a key?)",
                    f"a {CERTIFICATE_ANNOTATION} annotation for a keyless authority", "none")
    try:
        cert = load_certificate_pem(pem, CERTIFICATE_ANNOTATION)
        ident = identity_of(cert)
    except IdentityError as e:
        raise Failure(Code.CERTIFICATE_INVALID, f"unreadable certificate identity: {e}") from None
    details["signer"] = ident.label
    details["identity"] = ident.to_dict()
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    key = load_der_public_key(spki, "certificate")
    scheme = verify_signature(key, signature, signed_bytes)
    if scheme is None:
        raise Failure(Code.INVALID_SIGNATURE, "the signature does not verify with the certificate's key",
                    f"a signature by {ident.label}", "a signature by another key, or over other bytes")
    details["algorithm"] = scheme
    bundle_text = annotations.get(BUNDLE_ANNOTATION)
    if bundle_text is None and not ctx.offline and signed_bytes == log_payload and authority.keyless is not None:
        from sigverify.formats.cosign_sig.online import looked_up_annotation  # no annotation: search the log

        bundle_text = looked_up_annotation(signature=signature, cert=cert, payload=log_payload,
                                           identity=authority.keyless, ctx=ctx, details=details)
    if bundle_text is None:
        raise Failure(Code.TLOG_INVALID,
                    "a keyless signature needs its Rekor bundle: the logged time is what the short-lived "
                    "certificate is checked at",
                    f"a {BUNDLE_ANNOTATION} annotation", "none")
    try:
        when = _verify_log(bundle_text, signature=signature, spki=spki, signer_der=cert.public_bytes(
            serialization.Encoding.DER), payload=log_payload, ctx=ctx, details=details)
    except rekor.TlogError as e:
        tip = f" Tip: {e.tip}" if e.tip else ""
        raise Failure(Code.TLOG_INVALID, f"transparency log: {e.message}.{tip}", e.expected, e.found) from None
    verify_fulcio_certificate(cert, when, ctx.trust)
    details["trust_root"] = ctx.trust.label
    return ident, ident.label


def _verify_log(bundle_text: str, *, signature: bytes, spki: bytes, signer_der: bytes, payload: bytes,
                ctx: VerifyContext, details: dict[str, Any]) -> Any:
    """SET + body binding; hashedrekord/rekord via rekor.py, intoto/dsse bodies via sigstore_core.
    ``signer_der`` is the certificate DER (keyless) or the key's SPKI DER; ``spki`` the signing key's SPKI."""
    import base64

    from sigverify.crypto import rekor
    from sigverify.crypto.bundle.logbody import check_dsse_log_body
    from sigverify.crypto.strictjson import PayloadError, loads_strict

    bundle = rekor.parse_cosign_bundle(bundle_text)
    log_key = rekor.verify_set(bundle, ctx.trust.rekor_keys(), now=ctx.now)
    body = base64.b64decode(bundle.body)
    try:
        head = loads_strict(body, what="the log entry body")
        kind, version = head.get("kind"), head.get("apiVersion")
    except (PayloadError, AttributeError):  # not an object: rekor.parse_body says what is wrong
        kind = version = None
    if kind in ("intoto", "dsse"):
        from sigverify.crypto.dsse import pae as dsse_pae
        from sigverify.crypto.intoto import INTOTO_PAYLOAD_TYPE

        pae = dsse_pae(INTOTO_PAYLOAD_TYPE, payload)
        check_dsse_log_body(str(kind), str(version), body, payload=payload, pae=pae, signature=signature,
                            signer_der=signer_der)
    else:
        entry = rekor.parse_body(bundle.body)
        rekor.check_binding(entry, signature=signature, key_der=spki, payload=payload)
    details["tlog"] = {
        "logIndex": bundle.log_index,
        "integratedTime": bundle.integrated_time,
        "integratedAt": bundle.integrated_at.isoformat(),
        "logID": bundle.log_id,
        "kind": f"{kind} {version}",
        "log": log_key.base_url,
    }
    return bundle.integrated_at


class CosignKeylessVerifier:
    """The Verifier for (cosign-classic, keyless)."""

    def verify(self, candidate: Candidate, authority: Authority, ctx: VerifyContext) -> SignatureCheck:
        details: dict[str, Any] = {"kind": "signature"}
        return run_checked(candidate, authority, details, "keyless",
                           lambda: self._verify(candidate, authority, ctx, details))

    def _verify(self, candidate: Candidate, authority: Authority, ctx: VerifyContext, details: dict[str, Any]) -> None:
        from sigverify.crypto.intoto import annotations_mismatch
        from sigverify.crypto.strictjson import PayloadError
        from sigverify.formats.cosign_sig.simplesigning import SIMPLE_SIGNING_TYPE, parse_simple_signing
        from sigverify.formats.identity import match_identity

        blob = candidate.content
        if authority.keyless is None:
            raise Failure(Code.UNSUPPORTED_FORMAT, "not a keyless authority")
        if candidate.layer.media_type != SIMPLE_SIGNING_MEDIA_TYPE:
            raise Failure(Code.UNSUPPORTED_FORMAT, "the layer is not a cosign simple-signing signature",
                        SIMPLE_SIGNING_MEDIA_TYPE, candidate.layer.media_type or "(none)")
        algo, _, want = candidate.layer.digest.partition(":")
        if algo != "sha256" or hashlib.sha256(blob).hexdigest() != want:
            raise Failure(Code.DIGEST_MISMATCH, "the signature payload does not match its layer digest",
                        candidate.layer.digest, "sha256:" + hashlib.sha256(blob).hexdigest())
        signature = signature_from_annotations(candidate.layer.annotations)
        ident, _label = keyless_material(candidate, authority, ctx, signature=signature, signed_bytes=blob,
                                         log_payload=blob, details=details)
        try:
            payload = parse_simple_signing(blob)
        except PayloadError as e:
            raise Failure(Code.INVALID_PAYLOAD, f"invalid simple-signing payload: {e.message}", e.expected,
                        e.found) from None
        if payload.type != SIMPLE_SIGNING_TYPE:
            raise Failure(Code.INVALID_PAYLOAD, "the payload is not a cosign container image signature",
                        SIMPLE_SIGNING_TYPE, payload.type)
        details["docker-reference"] = payload.docker_reference
        if payload.manifest_digest != ctx.digest:
            raise Failure(Code.DIGEST_MISMATCH,
                        "the signature is valid but signs another image digest (copied from another image's .sig?)",
                        ctx.digest, payload.manifest_digest)
        details["annotations"] = dict(payload.optional)
        mismatch = match_identity(authority.keyless, ident)
        if mismatch is not None:
            raise Failure(mismatch.code, mismatch.message, mismatch.expected, mismatch.found)
        bad = annotations_mismatch(dict(authority.annotations), dict(payload.optional))
        if bad is not None:
            raise Failure(bad.code, bad.message, bad.expected, bad.found)


VERIFIER = CosignKeylessVerifier()
