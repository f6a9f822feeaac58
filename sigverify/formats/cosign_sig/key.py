"""Verify a cosign classic (`.sig` layer, simple signing) signature against a public-key authority, offline.

Steps, each failure a reason code (docs/formats.md §1.5-§1.6, §2):
1. layer media type is simple signing (UNSUPPORTED_FORMAT); signature annotation is base64 (INVALID_SIGNATURE)
2. the authority's key loads (KEY_ERROR); the signature verifies over the exact layer bytes (INVALID_SIGNATURE)
3. payload parsed strictly, ``critical.type`` is the cosign type (INVALID_PAYLOAD), and
   ``critical.image.docker-manifest-digest`` equals the resolved digest (DIGEST_MISMATCH)
4. every policy annotation equals the signed ``optional`` value (ANNOTATION_MISMATCH)
5. with ``tlog: require``: the Rekor bundle's SET verifies with a trusted log key and the logged entry is
   bound to this signature, key and payload (TLOG_INVALID)
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from sigverify.crypto import keys as _keys
from sigverify.crypto.strictjson import PayloadError, describe
from sigverify.errors import KeyMaterialError
from sigverify.formats import SIMPLE_SIGNING_MEDIA_TYPE
from sigverify.formats.base import signature_check
from sigverify.formats.cosign_sig import BUNDLE_ANNOTATION, SIGNATURE_ANNOTATION
from sigverify.formats.cosign_sig.simplesigning import SIMPLE_SIGNING_TYPE, SimpleSigning, parse_simple_signing
from sigverify.models import Candidate, Code, Reason, SignatureCheck

if TYPE_CHECKING:
    from sigverify.formats.base import VerifyContext
    from sigverify.policy.model import Authority

class CosignClassicVerifier:
    """The Verifier for (cosign-classic, key). Stateless; keys are cached run-wide in ``keys.CACHE``."""

    def verify(self, candidate: Candidate, authority: Authority, ctx: VerifyContext) -> SignatureCheck:
        def fail(
            code: str,
            message: str,
            expected: str | None = None,
            found: str | None = None,
            signer: str | None = None,
            details: dict[str, Any] | None = None,
        ) -> SignatureCheck:
            reason = Reason(code, message, expected, found, authority=authority.name)
            return signature_check(candidate, authority, False, reason, signer=signer, details=details or {})

        blob = candidate.content
        annotations = candidate.layer.annotations

        # 1. media type, signature annotation, and (defence in depth) the blob digest
        if candidate.layer.media_type != SIMPLE_SIGNING_MEDIA_TYPE:
            return fail(
                Code.UNSUPPORTED_FORMAT,
                "the layer is not a cosign simple-signing signature",
                SIMPLE_SIGNING_MEDIA_TYPE,
                candidate.layer.media_type or "(none)",
            )
        algo, _, want = candidate.layer.digest.partition(":")
        if algo != "sha256" or hashlib.sha256(blob).hexdigest() != want:
            return fail(
                Code.DIGEST_MISMATCH,
                "the signature payload does not match its layer digest",
                candidate.layer.digest,
                "sha256:" + hashlib.sha256(blob).hexdigest(),
            )
        sig_b64 = annotations.get(SIGNATURE_ANNOTATION)
        if sig_b64 is None:
            return fail(
                Code.INVALID_SIGNATURE,
                f"the layer has no {SIGNATURE_ANNOTATION} annotation",
                "a base64 signature annotation",
                "none",
            )
        try:
            if not isinstance(sig_b64, str):
                raise ValueError("not a string")
            signature = _keys.b64decode_strict(sig_b64)
        except ValueError:
            return fail(
                Code.INVALID_SIGNATURE,
                f"the {SIGNATURE_ANNOTATION} annotation is not valid base64",
                "standard base64",
                repr(sig_b64)[:40],
            )
        if not signature:
            return fail(Code.INVALID_SIGNATURE, "the signature annotation is empty", "a signature", "empty")

        # 2. the key, and the signature over the exact layer bytes
        if authority.key is None:
            return fail(Code.KEY_ERROR, "the authority names no key", "key: {path|pem|env|kms}", "none")
        try:
            key = _keys.resolve(authority.key)
        except KeyMaterialError as e:
            msg = e.message + (f" Tip: {e.tip}" if e.tip else "")
            return fail(Code.KEY_ERROR, f"cannot load key {authority.key.source}: {msg}", e.expected, e.found)
        scheme = _keys.verify_signature(key, signature, blob)
        if scheme is None:
            return fail(
                Code.INVALID_SIGNATURE,
                f"the signature does not verify with key {key.fingerprint} ({key.source}, {key.algorithm})",
                f"a signature by {key.fingerprint} ({key.source})",
                "a signature by another key, or over other bytes",
            )
        signer = key.fingerprint
        details: dict[str, Any] = {"key": key.fingerprint, "key_source": key.source, "algorithm": scheme}

        # 3. payload: strict JSON, cosign type, bound to exactly the resolved digest
        try:
            payload: SimpleSigning = parse_simple_signing(blob)
        except PayloadError as e:
            return fail(
                Code.INVALID_PAYLOAD,
                f"invalid simple-signing payload: {e.message}",
                e.expected,
                e.found,
                signer=signer,
                details=details,
            )
        details["docker-reference"] = payload.docker_reference
        if payload.type != SIMPLE_SIGNING_TYPE:
            return fail(
                Code.INVALID_PAYLOAD,
                "the payload is not a cosign container image signature",
                SIMPLE_SIGNING_TYPE,
                payload.type,
                signer=signer,
                details=details,
            )
        if payload.manifest_digest != ctx.digest:
            return fail(
                Code.DIGEST_MISMATCH,
                "the signature is valid but signs another image digest (copied from another image's .sig?)",
                ctx.digest,
                payload.manifest_digest,
                signer=signer,
                details=details,
            )
        details["annotations"] = dict(payload.optional)

        # 4. annotations: exact string equality (cosign SimpleClaimVerifier compares interface{} values, so a
        # signed number/bool/null never equals a policy string)
        bad = _annotation_mismatches(dict(authority.annotations), payload.optional)
        if bad:
            return fail(
                Code.ANNOTATION_MISMATCH,
                "signed annotations differ from the policy: " + "; ".join(bad),
                describe(dict(authority.annotations)),
                describe(dict(payload.optional)) if payload.optional else "no annotations (optional: null)",
                signer=signer,
                details=details,
            )

        # 5. transparency log
        if authority.tlog == "ignore":
            details["tlog"] = "ignored (tlog: ignore)"
        else:
            bundle_text = annotations.get(BUNDLE_ANNOTATION)
            if not isinstance(bundle_text, str):
                return fail(
                    Code.TLOG_INVALID,
                    "no Rekor bundle on the signature, and the authority requires a transparency-log proof. "
                    "Tip: for signatures made with `cosign sign --tlog-upload=false`, set `tlog: ignore` "
                    "on the authority.",
                    f"a {BUNDLE_ANNOTATION} annotation",
                    "none",
                    signer=signer,
                    details=details,
                )
            from sigverify.crypto import rekor

            try:
                result = rekor.verify_cosign_bundle(
                    bundle_text,
                    signature=signature,
                    key_der=key.der,
                    payload=blob,
                    keys=ctx.trust.rekor_keys(),
                    now=ctx.now,
                )
            except rekor.TlogError as e:
                tip = f" Tip: {e.tip}" if e.tip else ""
                return fail(
                    Code.TLOG_INVALID,
                    f"transparency log: {e.message}.{tip}",
                    e.expected,
                    e.found,
                    signer=signer,
                    details=details,
                )
            details["tlog"] = result.to_dict()

        return signature_check(candidate, authority, True, signer=signer, details=details)


def _annotation_mismatches(wanted: dict[str, str], signed: Any) -> list[str]:
    problems = []
    for k, v in sorted(wanted.items()):
        if k not in signed:
            problems.append(f"{k!r} is not signed (expected {describe(v)})")
        elif not isinstance(signed[k], str):
            problems.append(f"{k!r} is signed as a non-string {describe(signed[k])}, expected the string {describe(v)}")
        elif signed[k] != v:
            problems.append(f"{k!r} is {describe(signed[k])}, expected {describe(v)}")
    return problems


VERIFIER = CosignClassicVerifier()
