"""cosign v3 Sigstore bundles on images (OCI referrers): verify, bind the in-toto statement to the image digest.

A bundle counts as a *signature* only when its statement's predicateType is ``https://sigstore.dev/cosign/sign/v1``
(what ``cosign sign`` v3 writes); any other predicate type is an *attestation*. This is stricter than
``cosign verify`` v3, which accepts any verified attestation as a signature.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sigverify.errors import ConfigError
from sigverify.formats.base import crash_reason, signature_check
from sigverify.models import Candidate, Code, Reason, SignatureCheck

if TYPE_CHECKING:
    from sigverify.crypto.keys import PublicKey
    from sigverify.formats.base import VerifyContext
    from sigverify.policy.model import Authority


def authority_key(authority: Authority) -> tuple[PublicKey | None, Reason | None]:
    """The public key of a key authority (PEM or KMS, cached per run), or a KEY_ERROR reason."""
    from sigverify.crypto import keys
    from sigverify.errors import SigverifyError

    assert authority.key is not None
    try:
        return keys.resolve(authority.key), None
    except SigverifyError as e:  # keep the tip: it says which permission or package is missing
        msg = e.message + (f" Tip: {e.tip}" if e.tip else "")
        return None, Reason(Code.KEY_ERROR, f"cannot load key {authority.key.source}: {msg}",
                            expected=e.expected, found=e.found)


class BundleVerifier:
    """(SIGSTORE_BUNDLE, key | keyless) -> SignatureCheck."""

    def verify(self, candidate: Candidate, authority: Authority, ctx: VerifyContext) -> SignatureCheck:
        try:
            return self._verify(candidate, authority, ctx)
        except ConfigError:  # a broken trusted root or key file is a configuration error (exit 2)
            raise
        except Exception as e:  # fail closed with a named reason, never raise for a bad signature
            return signature_check(candidate, authority, False, reason=crash_reason(e, "bundle verification"))

    def _verify(self, candidate: Candidate, authority: Authority, ctx: VerifyContext) -> SignatureCheck:
        from sigverify.crypto.bundle.verify import verify_bundle
        from sigverify.crypto.intoto import (
            StatementError,
            annotations_mismatch,
            bind_statement,
            parse_statement,
        )
        from sigverify.errors import Failure
        from sigverify.formats.identity import match_identity

        if candidate.subject_digest != ctx.digest:
            return signature_check(candidate, authority, False, reason=Reason(
                Code.DIGEST_MISMATCH, "the bundle was discovered for another digest",
                expected=ctx.digest, found=candidate.subject_digest))
        key = None
        if authority.kind == "key":
            key, why = authority_key(authority)
            if why is not None:
                return signature_check(candidate, authority, False, reason=why)
        elif authority.kind != "keyless" or authority.keyless is None:
            return signature_check(candidate, authority, False, reason=Reason(
                Code.UNSUPPORTED_FORMAT, f"a Sigstore bundle cannot be checked by a {authority.kind} authority"))
        try:
            vb = verify_bundle(candidate.content, ctx.trust, key=key, allow_no_tlog=authority.tlog == "ignore")
        except Failure as f:
            return signature_check(candidate, authority, False, reason=f.reason(), signer=f.signer,
                          details={"trust_root": ctx.trust.label})
        details: dict[str, Any] = {
            "kind": "signature",
            "bundle_media_type": vb.media_type,
            "trust_root": ctx.trust.label,
            "tlog": dict(vb.tlog),
            "signing_times": [t.isoformat() for t in vb.signing_times],
        }
        if vb.identity is not None:
            details["identity"] = vb.identity.to_dict()
        try:
            st = parse_statement(vb.payload_type, vb.payload or b"")
        except StatementError as e:
            return signature_check(candidate, authority, False, reason=e.reason(), signer=vb.signer, details=details)
        subject, unbound = bind_statement(st, ctx.digest, details)
        if subject is None:
            return signature_check(candidate, authority, False, reason=unbound, signer=vb.signer, details=details)
        if authority.keyless is not None and vb.identity is not None:
            mismatch = match_identity(authority.keyless, vb.identity)
            if mismatch is not None:
                return signature_check(candidate, authority, False, reason=mismatch, signer=vb.signer, details=details)
        if authority.annotations:
            bad = annotations_mismatch(authority.annotations, subject.annotations)
            if bad is not None:
                return signature_check(candidate, authority, False, reason=bad, signer=vb.signer, details=details)
        details["annotations"] = dict(subject.annotations)
        return signature_check(candidate, authority, True, signer=vb.signer, details=details)


VERIFIER = BundleVerifier()
