"""``files:`` entries of the config: a local file or an ``https://`` URL (downloaded with caps and a deadline,
hashed, never executed), with a Sigstore bundle, cosign's legacy blob bundle, or a detached signature and
certificate next to it; checked against each key / keyless authority of the entry's policy."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sigverify.errors import Failure, RegistryError, SigverifyError
from sigverify.formats.blob import BlobInput, _fail, read_blob_input, verify_blob, verify_detached_key_signature
from sigverify.formats.blob_detached import Detached, decode_signature, legacy_bundle, load_certificate, verify_detached
from sigverify.models import Code, Reason, SignatureCheck

if TYPE_CHECKING:
    from sigverify.crypto.keys import PublicKey
    from sigverify.crypto.trustroot import TrustStore
    from sigverify.policy.model import Authority, BlobEntry


def is_url(ref: str) -> bool:
    return ref.lower().startswith(("https://", "http://"))


def load_file(entry: BlobEntry) -> BlobInput:
    """The signed file: read from disk (or a ``sha256:`` digest), or downloaded from an https URL (size-capped).
    Raises OSError (local) or RegistryError (download)."""
    if is_url(entry.path):
        from sigverify.formats.blob import MAX_FILE_READ
        from sigverify.registry.rekor_client import FILE_TIMEOUT, MAX_FILE_BYTES, download_sha256

        digest, data = download_sha256(entry.path, cap=MAX_FILE_BYTES, keep=64 * MAX_FILE_READ, what="signed file",
                                       timeout=FILE_TIMEOUT)
        return BlobInput(label=entry.path, sha256=digest, data=data)  # hashed as it streamed, kept when small
    return read_blob_input(entry.path)


class _Material:
    """The entry's bundle / signature / certificate, each read or downloaded once."""

    def __init__(self) -> None:
        self._cache: dict[str, bytes | SigverifyError | OSError] = {}

    def get(self, ref: str, what: str) -> bytes:
        if ref not in self._cache:
            try:
                if is_url(ref):
                    from sigverify.registry.rekor_client import MAX_SIDECAR_BYTES, download

                    self._cache[ref] = download(ref, cap=MAX_SIDECAR_BYTES, what=what)
                else:
                    self._cache[ref] = Path(ref).read_bytes()
            except (RegistryError, OSError) as e:
                self._cache[ref] = e
        got = self._cache[ref]
        if isinstance(got, BaseException):
            raise got
        return got


def _unreadable(blob: BlobInput, ref: str, auth: Authority, e: BaseException) -> SignatureCheck:
    if isinstance(e, RegistryError):
        return _fail(blob, f"file {ref}", auth.name, Reason(e.code, e.message, e.expected, e.found))
    msg = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
    return _fail(blob, f"file {ref}", auth.name, Reason(Code.NO_SIGNATURE, f"cannot read {ref}: {msg}"))


def verify_file(entry: BlobEntry, authorities: Sequence[Authority], trust: TrustStore, *, blob: BlobInput,
                offline: bool = True) -> list[SignatureCheck]:
    """One SignatureCheck per key / keyless authority (the caller applies the threshold). Never raises for a bad
    signature or unreadable material; ``offline`` forbids looking up the log entry of a detached signature."""
    from sigverify.crypto import keys

    material = _Material()
    out: list[SignatureCheck] = []
    for auth in authorities:
        label = entry.bundle or entry.signature or "(none)"
        key: PublicKey | None = None
        if auth.key is not None:
            try:
                key = keys.resolve(auth.key)
            except SigverifyError as e:
                out.append(_fail(blob, f"file {label}", auth.name, Reason(Code.KEY_ERROR, e.message)))
                continue
        elif auth.keyless is None:
            continue  # notation authorities do not apply to Sigstore-signed files
        try:
            out.append(_one(entry, auth, key, trust, blob, material, offline))
        except (RegistryError, OSError) as e:
            out.append(_unreadable(blob, label, auth, e))
        except Failure as f:
            out.append(_fail(blob, f"file {label}", auth.name, f.reason(), signer=f.signer))
    return out


def _one(entry: BlobEntry, auth: Authority, key: PublicKey | None, trust: TrustStore, blob: BlobInput,
         material: _Material, offline: bool) -> SignatureCheck:
    no_tlog_ok = auth.tlog == "ignore"
    if entry.bundle is not None:
        raw = material.get(entry.bundle, "bundle")
        legacy = legacy_bundle(raw, entry.bundle)
        if legacy is None:
            return verify_blob(blob, trust=trust, bundle=raw, bundle_label=entry.bundle, identity=auth.keyless,
                               key=key, authority=auth.name, allow_no_tlog=no_tlog_ok)
        if key is not None and no_tlog_ok:
            return verify_detached_key_signature(blob, signature=legacy.signature, key=key,
                                                 signature_label=entry.bundle, authority=auth.name)
        return verify_detached(blob, legacy, trust=trust, identity=auth.keyless, key=key, authority=auth.name,
                               offline=offline)
    assert entry.signature is not None
    raw_sig = material.get(entry.signature, "signature")
    if key is not None and no_tlog_ok:
        return verify_detached_key_signature(blob, signature=raw_sig, key=key, signature_label=entry.signature,
                                             authority=auth.name)
    signature = decode_signature(raw_sig, entry.signature)
    if key is not None:
        return verify_detached(blob, Detached(signature=signature, label=entry.signature), trust=trust, key=key,
                               authority=auth.name, offline=offline)
    if entry.certificate is None:
        return _fail(blob, f"file {entry.signature}", auth.name, Reason(
            Code.CERTIFICATE_INVALID, "a keyless authority needs the signing certificate of a detached signature",
            expected="`certificate: <file>.cert` on the files entry", found="signature only"))
    cert = load_certificate(material.get(entry.certificate, "certificate"), entry.certificate)
    return verify_detached(blob, Detached(signature=signature, certificate=cert, label=entry.signature), trust=trust,
                           identity=auth.keyless, authority=auth.name, offline=offline)
