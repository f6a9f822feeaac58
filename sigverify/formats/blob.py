"""Signed files: a file (or a sha256 digest) against a Sigstore bundle or a detached key signature."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sigverify.models import Code, Format, Reason, SignatureCheck

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sigverify.crypto.keys import PublicKey
    from sigverify.crypto.trustroot import TrustStore
    from sigverify.policy.model import Authority, BlobEntry, KeylessIdentity

_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")
MAX_FILE_READ = 1 << 20  # hash files in chunks of this size


@dataclass(frozen=True)
class BlobInput:
    """The artifact: its bytes when small enough to keep, and always its SHA-256."""

    label: str
    sha256: bytes
    data: bytes | None = None
    digests: Mapping[str, bytes] | None = None  # sha384/sha512 of a file too large to keep

    def digest(self, algorithm: str) -> bytes | None:
        """The artifact's digest under ``algorithm`` (hashlib name), or None when it cannot be known."""
        if self.data is not None:
            return hashlib.new(algorithm, self.data).digest() if algorithm in hashlib.algorithms_available else None
        if algorithm == "sha256":
            return self.sha256
        return (self.digests or {}).get(algorithm)


def read_blob_input(file_or_digest: str) -> BlobInput:
    """``sha256:<64 hex>`` that is not a path on disk is a digest; anything else is a file (protocol rule)."""
    m = _DIGEST.fullmatch(file_or_digest)
    if m and not Path(file_or_digest).exists():
        return BlobInput(label=file_or_digest, sha256=bytes.fromhex(m.group(1)))
    path = Path(file_or_digest)
    h = hashlib.sha256()
    others = {"sha384": hashlib.sha384(), "sha512": hashlib.sha512()}  # bundles and subjects may name these
    with path.open("rb") as f:
        size = path.stat().st_size
        if size <= 64 * MAX_FILE_READ:
            data = f.read()
            h.update(data)
            return BlobInput(label=str(path), sha256=h.digest(), data=data)
        while chunk := f.read(MAX_FILE_READ):
            h.update(chunk)
            for o in others.values():
                o.update(chunk)
    return BlobInput(label=str(path), sha256=h.digest(), digests={k: o.digest() for k, o in others.items()})


def _fail(blob: BlobInput, storage: str, authority: str, reason: Reason, signer: str | None = None,
          details: Mapping[str, Any] | None = None) -> SignatureCheck:
    return SignatureCheck(
        format=Format.SIGSTORE_BUNDLE,
        storage=storage,
        layer_digest="sha256:" + blob.sha256.hex(),
        authority=authority,
        ok=False,
        reason=reason,
        signer=signer,
        details=dict(details or {}),
    )


def verify_blob(
    blob: BlobInput,
    *,
    trust: TrustStore,
    bundle: bytes | None = None,
    bundle_label: str = "bundle",
    identity: KeylessIdentity | None = None,
    key: PublicKey | None = None,
    authority: str = "command line",
    allow_no_tlog: bool = False,
) -> SignatureCheck:
    """Verify ``blob`` against a Sigstore bundle with a keyless identity or a public key. Never raises for a bad
    signature; the result names the signer (identity and issuer, or key fingerprint) even when it fails."""
    from sigverify.crypto.bundle.verify import verify_bundle
    from sigverify.errors import Failure
    from sigverify.formats.identity import match_identity

    storage = f"file {bundle_label}"
    if bundle is None:
        return _fail(blob, storage, authority, Reason(Code.NO_SIGNATURE, "no bundle was given for the file"))
    if identity is None and key is None:
        return _fail(blob, storage, authority, Reason(
            Code.IDENTITY_MISMATCH, "no identity or key to verify against",
            expected="--certificate-identity and --certificate-oidc-issuer, or --key", found="neither"))
    try:
        vb = verify_bundle(bundle, trust, artifact=blob.data, artifact_digest=blob.sha256, key=key,
                           allow_no_tlog=allow_no_tlog, artifact_digests=blob.digests)
    except Failure as f:
        return _fail(blob, storage, authority, f.reason(), signer=f.signer, details={"trust_root": trust.label})
    except Exception as e:  # fail closed: a crash in verification is never a pass
        from sigverify.errors import SigverifyError

        if isinstance(e, SigverifyError):
            raise  # configuration problems (trusted root, key) are reported by the caller
        from sigverify.formats.base import crash_reason

        return _fail(blob, storage, authority, crash_reason(e, "bundle verification"),
                     details={"trust_root": trust.label})
    details: dict[str, Any] = {
        "kind": "signature",
        "bundle_media_type": vb.media_type,
        "content": vb.content,
        "trust_root": trust.label,
        "tlog": dict(vb.tlog),
        "signing_times": [t.isoformat() for t in vb.signing_times],
    }
    if vb.identity is not None:
        details["identity"] = vb.identity.to_dict()
    if vb.content == "dsse":
        from sigverify.crypto.intoto import StatementError, parse_statement

        try:
            st = parse_statement(vb.payload_type, vb.payload or b"")
        except StatementError as e:
            return _fail(blob, storage, authority, e.reason(), signer=vb.signer, details=details)
        details["predicate_type"] = st.predicate_type
        if st.match_subject(blob.digest) is None:  # the algorithms each subject names (npm: sha512 only)
            named = sorted({a for s in st.subjects for a in s.digest} & {"sha256", "sha384", "sha512"}) or ["sha256"]
            have = [f"{a}:{d.hex()}" for a in named if (d := blob.digest(a)) is not None]
            return _fail(blob, storage, authority, Reason(
                Code.DIGEST_MISMATCH, "the file is not a subject of the signed in-toto statement (at least one of "
                "sha256/sha384/sha512 must match and no digest may differ)",
                expected=", ".join(have) or "the file itself (only its sha256 digest is known)",
                found=", ".join(st.subject_digests()) or "(none)"),
                signer=vb.signer, details=details)
        details["kind"] = "attestation"
        details["predicate"] = st.predicate
        details["statement_subject_ok"] = True
    if identity is not None and vb.identity is not None:
        mismatch = match_identity(identity, vb.identity)
        if mismatch is not None:
            return _fail(blob, storage, authority, mismatch, signer=vb.signer, details=details)
    from sigverify.formats.base import identity_signer_id, key_signer_id

    if key is not None:
        signer_id: str | None = key_signer_id(key.der)
    else:
        signer_id = None if vb.identity is None else identity_signer_id(vb.identity.issuer, vb.identity.subject)
    return SignatureCheck(
        format=Format.SIGSTORE_BUNDLE,
        storage=storage,
        layer_digest="sha256:" + blob.sha256.hex(),
        authority=authority,
        ok=True,
        signer=vb.signer,
        details=details,
        signer_id=signer_id,
    )


def verify_detached_key_signature(blob: BlobInput, *, signature: bytes, key: PublicKey, signature_label: str,
                                  authority: str = "command line") -> SignatureCheck:
    """A detached signature made with a key and no transparency log (``cosign sign-blob --key
    --tlog-upload=false``). Only for authorities with ``tlog: ignore`` / ``--insecure-ignore-tlog``."""
    from sigverify.crypto.keys import b64decode_strict, verify_signature
    from sigverify.formats.base import key_signer_id

    storage = f"file {signature_label}"
    text = signature.strip()
    try:
        raw = b64decode_strict(text.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        raw = signature  # cosign writes base64; accept raw DER too
    if blob.data is not None:
        ok = verify_signature(key, raw, blob.data) is not None
    else:  # a large file: its digest with the key's own hash (P-384: SHA-384, ...), then SHA-256
        from sigverify.crypto.bundle.message import key_hash, verify_prehashed_with

        ok = any(verify_prehashed_with(key, raw, digest, alg) is not None
                 for alg in dict.fromkeys((key_hash(key), "sha256")) if (digest := blob.digest(alg)) is not None)
    if not ok:
        return _fail(blob, storage, authority, Reason(
            Code.INVALID_SIGNATURE, "the detached signature does not verify with the key",
            expected=f"signed by {key.label}", found="a signature by another key, or over other bytes"),
            signer=f"key {key.fingerprint}")
    return SignatureCheck(format=Format.SIGSTORE_BUNDLE, storage=storage, layer_digest="sha256:" + blob.sha256.hex(),
                          authority=authority, ok=True, signer=f"key {key.fingerprint}",
                          details={"kind": "signature", "content": "detached", "tlog": "ignored (tlog: ignore)"},
                          signer_id=key_signer_id(key.der))


def verify_file(entry: BlobEntry, authorities: Sequence[Authority], trust: TrustStore) -> list[SignatureCheck]:
    """Check one ``files:`` entry of the config against each key / keyless authority of its policy (one
    SignatureCheck per authority; the caller applies the threshold). Never raises for a bad signature; a
    missing or unreadable file is a failed check with a reason."""
    from sigverify.crypto import keys
    from sigverify.errors import SigverifyError

    try:
        blob = read_blob_input(entry.path)
    except OSError as e:
        return [_fail(BlobInput(entry.path, b"\0" * 32), f"file {entry.path}", a.name,
                      Reason(Code.NOT_FOUND, f"cannot read {entry.path}: {e.strerror}")) for a in authorities]
    out: list[SignatureCheck] = []
    for auth in authorities:
        label = entry.bundle or entry.signature or "(none)"
        try:
            material = Path(label).read_bytes() if (entry.bundle or entry.signature) else None
        except OSError as e:
            out.append(_fail(blob, f"file {label}", auth.name, Reason(Code.NO_SIGNATURE,
                                                                     f"cannot read {label}: {e.strerror}")))
            continue
        key = None
        if auth.key is not None:
            try:
                key = keys.resolve(auth.key)
            except SigverifyError as e:
                out.append(_fail(blob, f"file {label}", auth.name, Reason(Code.KEY_ERROR, e.message)))
                continue
        elif auth.keyless is None:
            continue  # notation authorities do not apply to Sigstore-signed files
        if entry.bundle is not None:
            no_tlog_ok = auth.tlog == "ignore"
            out.append(verify_blob(blob, trust=trust, bundle=material, bundle_label=label, identity=auth.keyless,
                                   key=key, authority=auth.name, allow_no_tlog=no_tlog_ok))
        elif key is not None and auth.tlog == "ignore" and material is not None:
            out.append(verify_detached_key_signature(blob, signature=material, key=key, signature_label=label,
                                                     authority=auth.name))
        else:
            out.append(_fail(blob, f"file {label}", auth.name, Reason(
                Code.TLOG_INVALID,
                "a detached signature carries no transparency-log proof, and offline verification cannot look "
                "it up. Tip: sign with `cosign sign-blob --bundle` (or `sigstore sign`) and list the bundle; for "
                "key signatures made with --tlog-upload=false, set `tlog: ignore` on the key authority.",
                expected="bundle: <file>.sigstore.json", found=f"signature: {label}")))
    return out
