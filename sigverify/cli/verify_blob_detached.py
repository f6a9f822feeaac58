"""`sigverify verify-blob` with a detached ``--signature`` and ``--certificate`` (or ``--key``), or with cosign's
legacy blob bundle: reads the material, the log entry (``--rekor-entry``) or allows the lookup, and verifies."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from sigverify.errors import Failure
from sigverify.formats.blob import BlobInput, _fail
from sigverify.formats.blob_detached import (
    Detached,
    decode_signature,
    legacy_bundle,
    load_certificate,
    load_chain,
    parse_entries,
    verify_detached,
)

if TYPE_CHECKING:
    from sigverify.crypto.keys import PublicKey
    from sigverify.crypto.rekor_entry import RekorEntry
    from sigverify.crypto.trustroot import TrustStore
    from sigverify.models import SignatureCheck
    from sigverify.policy.model import KeylessIdentity


class DetachedUsageError(Exception):
    """A combination of flags that cannot be verified (exit 2)."""


def _read(path: str, flag: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise DetachedUsageError(f"{flag}: cannot read {path}: {e.strerror}") from None


def check_flags(args: argparse.Namespace, identity: KeylessIdentity | None) -> None:
    """Refuse what cannot be verified before anything is read."""
    if args.certificate and args.key:
        raise DetachedUsageError("give --certificate (keyless) or --key, not both")
    if args.signature and not (args.certificate or args.key):
        raise DetachedUsageError("a detached --signature needs --certificate (keyless, with "
                                 "--certificate-identity and --certificate-oidc-issuer) or --key")
    if args.certificate and not args.signature:
        raise DetachedUsageError("--certificate needs the detached --signature it goes with")
    if args.certificate and identity is None:
        raise DetachedUsageError("give --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp] "
                                 "for the --certificate")
    if args.offline and not args.rekor_entry and not args.bundle:
        raise DetachedUsageError("--offline: a detached signature needs its transparency-log entry, and looking it "
                                 "up needs the network. Give --rekor-entry FILE (the JSON of "
                                 "GET /api/v1/log/entries/<uuid>) or drop --offline")
    if args.certificate_chain and not args.certificate:
        raise DetachedUsageError("--certificate-chain goes with --certificate")


def run_detached(args: argparse.Namespace, *, identity: KeylessIdentity | None, key: PublicKey | None,
                 trust: TrustStore, blob: BlobInput) -> SignatureCheck:
    """Verify ``--signature`` + ``--certificate``/``--key`` [+ ``--rekor-entry``]. Usage errors raise
    ``DetachedUsageError``; everything about the material is a failed check."""
    storage = f"file {args.signature}"
    sig_raw = _read(args.signature, "--signature")
    cert_raw = _read(args.certificate, "--certificate") if args.certificate else None
    chain_raw = _read(args.certificate_chain, "--certificate-chain") if args.certificate_chain else None
    entry_raw = _read(args.rekor_entry, "--rekor-entry") if args.rekor_entry else None
    try:
        d = Detached(
            signature=decode_signature(sig_raw, args.signature),
            certificate=None if cert_raw is None else load_certificate(cert_raw, args.certificate),
            chain=() if chain_raw is None else load_chain(chain_raw, args.certificate_chain, trust),
            entries=None if entry_raw is None else _entries(entry_raw, args.rekor_entry),
            label=args.signature,
        )
    except Failure as f:
        return _fail(blob, storage, "command line", f.reason(), details={"trust_root": trust.label})
    return verify_detached(blob, d, trust=trust, identity=identity, key=key, offline=bool(args.offline),
                           rekor_url=args.rekor_url)


def _entries(raw: bytes, label: str) -> tuple[RekorEntry, ...]:
    from sigverify.crypto.rekor import TlogError
    from sigverify.models import Code

    try:
        return parse_entries(raw, label)
    except TlogError as e:
        raise Failure(Code.TLOG_INVALID, f"{label}: {e.message}", e.expected, e.found) from None


def run_legacy(args: argparse.Namespace, raw: bytes, *, identity: KeylessIdentity | None, key: PublicKey | None,
               trust: TrustStore, blob: BlobInput) -> SignatureCheck | None:
    """cosign's legacy blob bundle, or None when ``raw`` is not one."""
    from sigverify.formats.blob import verify_detached_key_signature

    try:
        d = legacy_bundle(raw, args.bundle)
    except Failure as f:
        return _fail(blob, f"file {args.bundle}", "command line", f.reason(), details={"trust_root": trust.label})
    if d is None:
        if args.rekor_entry:
            from sigverify.errors import ConfigError

            raise ConfigError("--rekor-entry goes with a detached --signature or cosign's legacy blob bundle; a "
                              "Sigstore bundle carries its own log entry")
        return None
    if key is not None and args.insecure_ignore_tlog:
        return verify_detached_key_signature(blob, signature=d.signature, key=key, signature_label=args.bundle)
    if d.entries is None and args.rekor_entry:
        try:
            d = Detached(signature=d.signature, certificate=d.certificate,
                         entries=_entries(_read(args.rekor_entry, "--rekor-entry"), args.rekor_entry),
                         label=d.label)
        except Failure as f:
            return _fail(blob, f"file {args.bundle}", "command line", f.reason())
    return verify_detached(blob, d, trust=trust, identity=identity if d.certificate is not None else None,
                           key=key, offline=bool(args.offline), rekor_url=args.rekor_url)
