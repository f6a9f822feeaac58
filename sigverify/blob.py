"""`sigverify verify-blob`: check a file (or a sha256 digest) against a Sigstore bundle or a detached signature.

Flags follow the sigstore-conformance client protocol (``verify-bundle``), so that suite can drive this directly:
``--bundle FILE --certificate-identity ID --certificate-oidc-issuer URL [--trusted-root FILE] FILE_OR_DIGEST`` or
``--bundle FILE --key KEY [--trusted-root FILE] FILE_OR_DIGEST``. Exit 0 verified, 1 not verified, 2 usage error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sigverify.models import Code, Format, Reason, SignatureCheck

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sigverify.policy.model import Authority, BlobEntry, KeylessIdentity
    from sigverify.trust import TrustStore
    from sigverify.verifiers.keys import PublicKey

_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")
MAX_FILE_READ = 1 << 20  # hash files in chunks of this size


@dataclass(frozen=True)
class BlobInput:
    """The artifact: its bytes when small enough to keep, and always its SHA-256."""

    label: str
    sha256: bytes
    data: bytes | None = None


def read_blob_input(file_or_digest: str) -> BlobInput:
    """``sha256:<64 hex>`` that is not a path on disk is a digest; anything else is a file (protocol rule)."""
    m = _DIGEST.fullmatch(file_or_digest)
    if m and not Path(file_or_digest).exists():
        return BlobInput(label=file_or_digest, sha256=bytes.fromhex(m.group(1)))
    path = Path(file_or_digest)
    h = hashlib.sha256()
    with path.open("rb") as f:
        size = path.stat().st_size
        if size <= 64 * MAX_FILE_READ:
            data = f.read()
            h.update(data)
            return BlobInput(label=str(path), sha256=h.digest(), data=data)
        while chunk := f.read(MAX_FILE_READ):
            h.update(chunk)
    return BlobInput(label=str(path), sha256=h.digest())


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
    from sigverify.verifiers.fulcio import match_identity
    from sigverify.verifiers.sigstore_core import BundleFailure, verify_bundle

    storage = f"file {bundle_label}"
    if bundle is None:
        return _fail(blob, storage, authority, Reason(Code.NO_SIGNATURE, "no bundle was given for the file"))
    if identity is None and key is None:
        return _fail(blob, storage, authority, Reason(
            Code.IDENTITY_MISMATCH, "no identity or key to verify against",
            expected="--certificate-identity and --certificate-oidc-issuer, or --key", found="neither"))
    try:
        vb = verify_bundle(bundle, trust, artifact=blob.data, artifact_digest=blob.sha256, key=key,
                           allow_no_tlog=allow_no_tlog)
    except BundleFailure as f:
        return _fail(blob, storage, authority, f.reason(), signer=f.signer, details={"trust_root": trust.label})
    except Exception as e:  # fail closed: a crash in verification is never a pass
        from sigverify.errors import SigverifyError

        if isinstance(e, SigverifyError):
            raise  # configuration problems (trusted root, key) are reported by the caller
        return _fail(blob, storage, authority, Reason(
            Code.INTERNAL_ERROR, f"bundle verification crashed: {type(e).__name__}: {e}"),
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
        from sigverify.verifiers.statement import StatementError, parse_statement

        try:
            st = parse_statement(vb.payload_type, vb.payload or b"")
        except StatementError as e:
            return _fail(blob, storage, authority, e.reason(), signer=vb.signer, details=details)
        details["predicate_type"] = st.predicate_type
        if st.subject_for(blob.sha256.hex()) is None:
            return _fail(blob, storage, authority, Reason(
                Code.DIGEST_MISMATCH, "the file is not a subject of the signed in-toto statement",
                expected="sha256:" + blob.sha256.hex(), found=", ".join(st.subject_digests()) or "(none)"),
                signer=vb.signer, details=details)
        details["kind"] = "attestation"
        details["predicate"] = st.predicate
        details["statement_subject_ok"] = True
    if identity is not None and vb.identity is not None:
        mismatch = match_identity(identity, vb.identity)
        if mismatch is not None:
            return _fail(blob, storage, authority, mismatch, signer=vb.signer, details=details)
    return SignatureCheck(
        format=Format.SIGSTORE_BUNDLE,
        storage=storage,
        layer_digest="sha256:" + blob.sha256.hex(),
        authority=authority,
        ok=True,
        signer=vb.signer,
        details=details,
    )


def verify_detached_key_signature(blob: BlobInput, *, signature: bytes, key: PublicKey, signature_label: str,
                                  authority: str = "command line") -> SignatureCheck:
    """A detached signature made with a key and no transparency log (``cosign sign-blob --key
    --tlog-upload=false``). Only for authorities with ``tlog: ignore`` / ``--insecure-ignore-tlog``."""
    from sigverify.verifiers.keys import b64decode_strict, verify_signature
    from sigverify.verifiers.sigstore_core import _verify_prehashed

    storage = f"file {signature_label}"
    text = signature.strip()
    try:
        raw = b64decode_strict(text.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        raw = signature  # cosign writes base64; accept raw DER too
    if blob.data is not None:
        ok = verify_signature(key, raw, blob.data) is not None
    else:
        ok = _verify_prehashed(key, raw, blob.sha256)
    if not ok:
        return _fail(blob, storage, authority, Reason(
            Code.INVALID_SIGNATURE, "the detached signature does not verify with the key",
            expected=f"signed by {key.label}", found="a signature by another key, or over other bytes"),
            signer=f"key {key.fingerprint}")
    return SignatureCheck(format=Format.SIGSTORE_BUNDLE, storage=storage, layer_digest="sha256:" + blob.sha256.hex(),
                          authority=authority, ok=True, signer=f"key {key.fingerprint}",
                          details={"kind": "signature", "content": "detached", "tlog": "ignored (tlog: ignore)"})


def verify_file(entry: BlobEntry, authorities: Sequence[Authority], trust: TrustStore) -> list[SignatureCheck]:
    """Check one ``files:`` entry of the config against each key / keyless authority of its policy (one
    SignatureCheck per authority; the caller applies the threshold). Never raises for a bad signature; a
    missing or unreadable file is a failed check with a reason."""
    from sigverify.errors import SigverifyError
    from sigverify.verifiers import keys

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


# ---------------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------------


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would exit(2) and print usage: keep control of the exit code
        raise _UsageError(message)


def build_parser(prog: str = "sigverify verify-blob") -> argparse.ArgumentParser:
    p = _Parser(
        prog=prog,
        description="Verify a file (or sha256:<hex> digest) against a Sigstore bundle.",
        epilog="Exit codes: 0 verified, 1 not verified (with a reason), 2 usage error.",
    )
    p.add_argument("--bundle", metavar="FILE", help="the Sigstore bundle (.sigstore.json)")
    p.add_argument("--certificate-identity", metavar="ID", help="expected certificate SAN (exact)")
    p.add_argument("--certificate-identity-regexp", metavar="RE", help="expected SAN, whole-string regexp")
    p.add_argument("--certificate-oidc-issuer", metavar="URL", help="expected OIDC issuer (exact)")
    p.add_argument("--certificate-oidc-issuer-regexp", metavar="RE", help="expected issuer, whole-string regexp")
    p.add_argument("--claim", metavar="NAME=VALUE", action="append", default=[],
                   help="required Fulcio extension, by name (source_repository_ref) or OID (repeatable)")
    p.add_argument("--key", metavar="FILE", help="PEM public key (for key-signed bundles)")
    p.add_argument("--trusted-root", metavar="FILE", help="trusted_root.json (default: embedded production root)")
    p.add_argument("--staging", action="store_true", help="use the embedded Sigstore staging trusted root")
    p.add_argument("--offline", action="store_true", help="never use the network (the default roots are offline)")
    p.add_argument("--signature", metavar="FILE", help="detached base64 signature (with --key and "
                   "--insecure-ignore-tlog; keyless detached signatures need a bundle)")
    p.add_argument("--certificate", metavar="FILE", help="detached certificate: not verifiable offline, use --bundle")
    p.add_argument("--insecure-ignore-tlog", action="store_true",
                   help="do not require a transparency-log proof: key signatures/bundles are checked on the "
                   "signature alone; keyless bundles without a log entry need a trusted RFC 3161 timestamp")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("file_or_digest", metavar="FILE_OR_DIGEST")
    return p


def _identity_from_args(args: argparse.Namespace) -> KeylessIdentity | None:
    from sigverify.policy.model import KeylessIdentity, Pattern

    subj = _pattern(args.certificate_identity, args.certificate_identity_regexp, "--certificate-identity")
    iss = _pattern(args.certificate_oidc_issuer, args.certificate_oidc_issuer_regexp, "--certificate-oidc-issuer")
    claims: dict[str, Pattern] = {}
    for item in args.claim:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise _UsageError(f"--claim expects NAME=VALUE, found {item!r}")
        claims[name] = Pattern(value)
    if subj is None and iss is None and not claims:
        return None
    if subj is None or iss is None:
        raise _UsageError("a keyless identity needs both --certificate-identity[-regexp] and "
                          "--certificate-oidc-issuer[-regexp]")
    ident = KeylessIdentity(issuer=iss, subject=subj, claims=claims)
    from sigverify.verifiers.fulcio import unknown_claims

    bad = unknown_claims(ident)
    if bad:
        raise _UsageError(f"unknown certificate claim(s): {', '.join(bad)} (use a name such as "
                          "source_repository_ref, or an OID 1.3.6.1.4.1.57264.1.N)")
    return ident


def _pattern(exact: str | None, regexp: str | None, flag: str) -> Any:
    from sigverify.policy.model import Pattern

    if exact is not None and regexp is not None:
        raise _UsageError(f"give {flag} or {flag}-regexp, not both")
    if regexp is not None:
        try:
            re.compile(regexp)
        except re.error as e:
            raise _UsageError(f"{flag}-regexp is not a valid regular expression: {e}") from None
        return Pattern(regexp, regexp=True)
    return Pattern(exact) if exact is not None else None


def _trust_from_args(args: argparse.Namespace) -> TrustStore:
    from sigverify.trust import TrustStore

    if args.trusted_root and args.staging:
        raise _UsageError("give --trusted-root or --staging, not both")
    if args.staging:
        return TrustStore(str(_embedded_staging_root()), offline=True)
    return TrustStore(args.trusted_root or "embedded", offline=True)


def _embedded_staging_root() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("sigstore")
    if spec is None or not spec.submodule_search_locations:
        raise _UsageError("--staging needs sigstore-python installed")
    base = Path(next(iter(spec.submodule_search_locations)))
    return base / "_store" / "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev" / "trusted_root.json"


def _render_text(check: SignatureCheck, subject: str) -> str:
    if check.ok:
        d = check.details
        what = "attestation " + str(d.get("predicate_type")) if d.get("kind") == "attestation" else "signature"
        lines = [f"Verified OK: {subject}", f"  {what} by {check.signer}"]
        times = d.get("signing_times") or []
        if times:
            lines.append(f"  signed at {', '.join(times)}")
        if d.get("trust_root"):
            lines.append(f"  trust root: {d['trust_root']}")
        return "\n".join(lines)
    r = check.reason
    assert r is not None
    lines = [f"Verification FAILED: {subject}", f"  {r.code}: {r.message}"]
    if r.expected is not None:
        lines.append(f"  expected: {r.expected}")
    if r.found is not None:
        lines.append(f"  found:    {r.found}")
    if check.signer:
        lines.append(f"  signer:   {check.signer}")
    if check.details.get("trust_root"):
        lines.append(f"  trust root: {check.details['trust_root']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> tuple[int, SignatureCheck | None, str]:
    """Verify as the parsed arguments say. Returns (exit code, check, text to print)."""
    from sigverify.errors import SigverifyError

    identity = _identity_from_args(args)
    if args.key and identity is not None:
        raise _UsageError("give --key or a certificate identity, not both")
    if args.bundle and args.signature:
        raise _UsageError("give --bundle or --signature, not both")
    if args.bundle is None:
        if args.signature and args.key and args.insecure_ignore_tlog and not args.certificate:
            return _run_detached(args)
        if args.signature or args.certificate:
            raise _UsageError("a detached --signature/--certificate has no transparency-log proof and offline "
                              "verification cannot look it up: sign with `cosign sign-blob --bundle` or "
                              "`sigstore sign` (or, for a key signature made with --tlog-upload=false, use "
                              "--key with --insecure-ignore-tlog)")
        raise _UsageError("--bundle is required")
    key: PublicKey | None = None
    try:
        trust = _trust_from_args(args)
        if args.key:
            from sigverify.verifiers.keys import load_pem_public_key

            key = load_pem_public_key(_read(args.key, "--key"), args.key)
        elif identity is None:
            raise _UsageError("give --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp], "
                              "or --key")
        bundle = _read(args.bundle, "--bundle")
        try:
            blob = read_blob_input(args.file_or_digest)
        except OSError as e:
            raise _UsageError(f"cannot read {args.file_or_digest}: {e.strerror}") from None
        check = verify_blob(blob, trust=trust, bundle=bundle, bundle_label=args.bundle, identity=identity, key=key,
                            allow_no_tlog=bool(args.insecure_ignore_tlog))
    except SigverifyError as e:
        # A broken key file or trusted root is a usage/configuration problem (exit 2), never a pass.
        return 2, None, f"error: {e.diagnostics()}"
    text = _render_text(check, blob.label)
    if args.format == "json":
        text = json.dumps({"trust_root": trust.label, "subject": blob.label, **check.to_dict()}, indent=2,
                          default=str)
    return (0 if check.ok else 1), check, text


def _run_detached(args: argparse.Namespace) -> tuple[int, SignatureCheck | None, str]:
    from sigverify.errors import SigverifyError
    from sigverify.verifiers.keys import load_pem_public_key

    try:
        key = load_pem_public_key(_read(args.key, "--key"), args.key)
    except SigverifyError as e:
        return 2, None, f"error: {e.diagnostics()}"
    signature = _read(args.signature, "--signature")
    try:
        blob = read_blob_input(args.file_or_digest)
    except OSError as e:
        raise _UsageError(f"cannot read {args.file_or_digest}: {e.strerror}") from None
    check = verify_detached_key_signature(blob, signature=signature, key=key, signature_label=args.signature)
    text = _render_text(check, blob.label)
    if args.format == "json":
        text = json.dumps({"subject": blob.label, **check.to_dict()}, indent=2, default=str)
    return (0 if check.ok else 1), check, text


def _read(path: str, flag: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise _UsageError(f"{flag}: cannot read {path}: {e.strerror}") from None


def main(argv: list[str] | None = None) -> int:
    """``sigverify verify-blob`` entry point. Also accepts the conformance form ``verify-bundle ...``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("verify-bundle", "verify-blob"):
        argv = argv[1:]
    if argv and argv[0] == "sign-bundle":
        print("error: sigverify verifies; it does not sign (sign-bundle is not supported)", file=sys.stderr)
        return 2
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        code, _check, text = run(args)
    except SystemExit as e:  # --help
        return e.code if isinstance(e.code, int) else 0
    except _UsageError as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        print("Tip: run `sigverify verify-blob --help` for the options.", file=sys.stderr)
        return 2
    stream = sys.stdout if code == 0 or args.format == "json" else sys.stderr
    print(text, file=stream)
    return code


if __name__ == "__main__":  # python -m sigverify.blob
    sys.exit(main())
