"""Verify a Sigstore bundle: pick the path (certificate or key; with a log entry, a promise only, or a timestamp)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sigverify.crypto.bundle.keyed import verify_key_bundle_without_log
from sigverify.crypto.bundle.model import VerifiedBundle, parse_bundle_json, unverified_signer
from sigverify.crypto.bundle.promise import is_promise_only_v01, verify_promise_only_v01
from sigverify.crypto.bundle.timestamped import verify_timestamped_only
from sigverify.crypto.fulcio import IdentityError, identity_of
from sigverify.crypto.sigstore_adapter import verify_cert_bundle, verify_key_bundle
from sigverify.errors import Failure
from sigverify.models import Code

if TYPE_CHECKING:
    from sigverify.crypto.keys import PublicKey
    from sigverify.crypto.trustroot import TrustStore


def verify_bundle(
    raw: bytes,
    trust: TrustStore,
    *,
    artifact: bytes | None = None,
    artifact_digest: bytes | None = None,
    key: PublicKey | None = None,
    allow_no_tlog: bool = False,
    artifact_digests: Mapping[str, bytes] | None = None,
) -> VerifiedBundle:
    """Verify a bundle's signature, log entry, times and (keyless) certificate chain + SCT against ``trust``.

    For a message-signature bundle give ``artifact`` (bytes) or ``artifact_digest`` (SHA-256; ``artifact_digests``
    adds SHA-384/SHA-512 for bundles whose key or messageDigest names them). DSSE bundles are
    verified over their envelope; the caller binds the statement to the artifact. ``key``: the bundle must be
    signed with exactly this public key (key-based authority); without it the bundle must carry a certificate.
    ``allow_no_tlog`` (authorities with ``tlog: ignore``): a key-signed bundle is checked on its signature alone,
    its log entry (if any) not consulted (``cosign sign --key --tlog-upload=false``); a keyless bundle *without*
    a log entry is accepted on a trusted RFC 3161 timestamp instead (a Sigstore instance without a log).
    Raises ``Failure``; the identity is returned, not matched.
    """
    doc = parse_bundle_json(raw)
    vm = doc.get("verificationMaterial")
    if not isinstance(vm, dict):
        raise Failure(Code.INVALID_PAYLOAD, "the bundle has no verificationMaterial object",
                            expected="verificationMaterial: {...}", found=type(vm).__name__)
    has_key_material = isinstance(vm, dict) and "publicKey" in vm
    if key is None and has_key_material:
        raise Failure(
            Code.KEY_ERROR,
            "the bundle is signed with a public key, but no key was given to verify it",
            expected="a keyless identity check needs a certificate in the bundle",
            found="a bundle with verificationMaterial.publicKey",
            signer=unverified_signer(doc),
        )
    if key is not None and not has_key_material:
        raise Failure(
            Code.KEY_ERROR,
            "the bundle carries a certificate, but a public key was given",
            expected=f"a bundle signed with key {key.fingerprint}",
            found="a certificate (keyless) bundle",
            signer=unverified_signer(doc),
        )
    if key is not None:
        entries = vm.get("tlogEntries") if isinstance(vm, dict) else None
        if allow_no_tlog:
            # `tlog: ignore` (cosign --insecure-ignore-tlog): the log entry, present or not, is not consulted.
            return verify_key_bundle_without_log(doc, key, artifact=artifact, artifact_digest=artifact_digest,
                                                 artifact_digests=artifact_digests)
        if not entries:
            if not allow_no_tlog:
                raise Failure(
                    Code.TLOG_INVALID,
                    "the bundle has no transparency-log entry, and the authority requires one. Tip: for "
                    "signatures made with `--tlog-upload=false`, set `tlog: ignore` on the key authority "
                    "(verify-blob: --insecure-ignore-tlog).",
                    expected="verificationMaterial.tlogEntries with one entry", found="none",
                    signer=f"key {key.fingerprint}")
            return verify_key_bundle_without_log(doc, key, artifact=artifact, artifact_digest=artifact_digest)
        if is_promise_only_v01(doc):
            from sigverify.crypto.bundle.keypromise import verify_key_promise_only_v01

            return verify_key_promise_only_v01(doc, trust, key, artifact=artifact, artifact_digest=artifact_digest,
                                               artifact_digests=artifact_digests)
        return verify_key_bundle(raw, doc, trust, key, artifact=artifact, artifact_digest=artifact_digest,
                                 artifact_digests=artifact_digests)
    entries = vm.get("tlogEntries") if isinstance(vm, dict) else None
    if not entries:
        if not allow_no_tlog:
            raise Failure(
                Code.TLOG_INVALID,
                "the keyless bundle has no transparency-log entry. Tip: for a Sigstore instance without a log "
                "(e.g. GitHub's, for private-repository attestations) set `tlog: ignore` on the keyless authority: "
                "a trusted RFC 3161 timestamp is then required instead.",
                expected="verificationMaterial.tlogEntries with one entry", found="none",
                signer=unverified_signer(doc))
        return verify_timestamped_only(doc, trust, artifact=artifact, artifact_digest=artifact_digest,
                                       artifact_digests=artifact_digests)
    signer = unverified_signer(doc)
    if is_promise_only_v01(doc):
        return verify_promise_only_v01(doc, trust, artifact=artifact, artifact_digest=artifact_digest,
                                       signer=signer, artifact_digests=artifact_digests)
    verified = verify_cert_bundle(raw, doc, trust, artifact=artifact, artifact_digest=artifact_digest, signer=signer,
                                  artifact_digests=artifact_digests)
    assert verified.certificate is not None
    try:
        identity = identity_of(verified.certificate)
    except IdentityError as e:
        raise Failure(Code.CERTIFICATE_INVALID, f"unreadable certificate identity: {e}") from None
    return dataclasses.replace(verified, identity=identity)
