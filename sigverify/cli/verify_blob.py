"""`sigverify verify-blob`: check a file (or a sha256 digest) against a Sigstore bundle or a detached signature.

Flags follow the sigstore-conformance client protocol (``verify-bundle``), so that suite can drive this directly:
``--bundle FILE --certificate-identity ID --certificate-oidc-issuer URL [--trusted-root FILE] FILE_OR_DIGEST`` or
``--bundle FILE --key KEY [--trusted-root FILE] FILE_OR_DIGEST``. Exit 0 verified, 1 not verified, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sigverify.formats.blob import read_blob_input, verify_blob, verify_detached_key_signature
from sigverify.models import Exit

if TYPE_CHECKING:
    from sigverify.crypto.keys import PublicKey
    from sigverify.crypto.trustroot import TrustStore
    from sigverify.models import SignatureCheck
    from sigverify.policy.model import KeylessIdentity

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
    p.add_argument("--offline", action="store_true", help="never use the network: no transparency-log lookup for a "
                   "detached signature (give --rekor-entry)")
    p.add_argument("--signature", metavar="FILE", help="detached signature (base64), with --certificate or --key")
    p.add_argument("--certificate", metavar="FILE", help="the signing certificate of a detached signature (PEM, or "
                   "base64 of PEM)")
    p.add_argument("--certificate-chain", metavar="FILE", help="its CA chain (PEM): must be CAs of the trusted root")
    p.add_argument("--rekor-entry", metavar="FILE", help="the transparency-log entry of a detached signature (JSON of "
                   "GET /api/v1/log/entries/<uuid>); without it, the log is searched by the file's SHA-256")
    p.add_argument("--rekor-url", metavar="URL", help="the Rekor log to search (default: the trusted root's)")
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
    from sigverify.formats.identity import unknown_claims

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
    from sigverify.crypto.trustroot import TrustStore

    if args.trusted_root and args.staging:
        raise _UsageError("give --trusted-root or --staging, not both")
    if args.staging:
        return TrustStore(str(_embedded_staging_root()), offline=True)
    return TrustStore(args.trusted_root or "embedded", offline=True)


def _embedded_staging_root() -> Path:
    from sigverify.crypto.sigstore_adapter.package import embedded_trusted_root

    path = embedded_trusted_root("https%3A%2F%2Ftuf-repo-cdn.sigstage.dev")
    if path is None:
        raise _UsageError("--staging needs sigstore-python installed")
    return path


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
            return _run_detached_tlog(args, identity)
        raise _UsageError("--bundle is required (or a detached --signature with --certificate or --key)")
    key: PublicKey | None = None
    try:
        trust = _trust_from_args(args)
        if args.key:
            from sigverify.crypto.keys import load_pem_public_key

            key = load_pem_public_key(_read(args.key, "--key"), args.key)
        elif identity is None:
            raise _UsageError("give --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp], "
                              "or --key")
        bundle = _read(args.bundle, "--bundle")
        try:
            blob = read_blob_input(args.file_or_digest)
        except OSError as e:
            raise _UsageError(f"cannot read {args.file_or_digest}: {e.strerror}") from None
        from sigverify.cli.verify_blob_detached import run_legacy

        legacy = run_legacy(args, bundle, identity=identity, key=key, trust=trust, blob=blob)
        check = legacy or verify_blob(blob, trust=trust, bundle=bundle, bundle_label=args.bundle, identity=identity,
                                      key=key, allow_no_tlog=bool(args.insecure_ignore_tlog))
    except SigverifyError as e:
        # A broken key file or trusted root is a usage/configuration problem (exit 2), never a pass.
        return int(Exit.USAGE), None, f"error: {e.diagnostics()}"
    text = _render_text(check, blob.label)
    if args.format == "json":
        text = json.dumps({"trust_root": trust.label, "subject": blob.label, **check.to_dict()}, indent=2,
                          default=str)
    return int(Exit.OK if check.ok else Exit.FAIL), check, text


def _run_detached(args: argparse.Namespace) -> tuple[int, SignatureCheck | None, str]:
    from sigverify.crypto.keys import load_pem_public_key
    from sigverify.errors import SigverifyError

    try:
        key = load_pem_public_key(_read(args.key, "--key"), args.key)
    except SigverifyError as e:
        return int(Exit.USAGE), None, f"error: {e.diagnostics()}"
    signature = _read(args.signature, "--signature")
    try:
        blob = read_blob_input(args.file_or_digest)
    except OSError as e:
        raise _UsageError(f"cannot read {args.file_or_digest}: {e.strerror}") from None
    check = verify_detached_key_signature(blob, signature=signature, key=key, signature_label=args.signature)
    text = _render_text(check, blob.label)
    if args.format == "json":
        text = json.dumps({"subject": blob.label, **check.to_dict()}, indent=2, default=str)
    return int(Exit.OK if check.ok else Exit.FAIL), check, text


def _run_detached_tlog(args: argparse.Namespace, identity: KeylessIdentity | None) -> tuple[int, Any, str]:
    """A detached signature with its certificate or key, and a transparency-log entry (given or looked up)."""
    from sigverify.cli.verify_blob_detached import DetachedUsageError, check_flags, run_detached
    from sigverify.errors import SigverifyError

    try:
        check_flags(args, identity)
        trust = _trust_from_args(args)
        key = None
        if args.key:
            from sigverify.crypto.keys import load_pem_public_key

            key = load_pem_public_key(_read(args.key, "--key"), args.key)
        try:
            blob = read_blob_input(args.file_or_digest)
        except OSError as e:
            raise _UsageError(f"cannot read {args.file_or_digest}: {e.strerror}") from None
        check = run_detached(args, identity=identity, key=key, trust=trust, blob=blob)
    except DetachedUsageError as e:
        raise _UsageError(str(e)) from None
    except SigverifyError as e:
        return int(Exit.USAGE), None, f"error: {e.diagnostics()}"
    text = _render_text(check, blob.label)
    if args.format == "json":
        text = json.dumps({"trust_root": trust.label, "subject": blob.label, **check.to_dict()}, indent=2,
                          default=str)
    return int(Exit.OK if check.ok else Exit.FAIL), check, text


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
        return int(Exit.USAGE)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        code, _check, text = run(args)
    except SystemExit as e:  # --help
        return e.code if isinstance(e.code, int) else 0
    except _UsageError as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        print("Tip: run `sigverify verify-blob --help` for the options.", file=sys.stderr)
        return int(Exit.USAGE)
    stream = sys.stdout if code == 0 or args.format == "json" else sys.stderr
    print(text, file=stream)
    return code


if __name__ == "__main__":  # python -m sigverify.cli.verify_blob
    sys.exit(main())
