"""Signed files with a detached signature (``FILE.sig``) and a certificate (``FILE.cert``) or key, as cosign
``sign-blob --output-signature --output-certificate`` writes them, and cosign's legacy blob bundle JSON
(``base64Signature``, ``cert``, ``rekorBundle``).

The transparency-log proof comes from an entry the user supplies (the Rekor v1 API JSON of the entry), from the
legacy bundle's ``rekorBundle``, or, when the network is allowed, from the Rekor v1 API searched by the file's
SHA-256. The entry must name exactly this signature, this certificate (or key) and this file's digest; then the
material is verified as the Sigstore bundle it amounts to (inclusion proof, checkpoint, signed entry timestamp,
certificate chain and SCT at the logged time) by the one bundle verifier.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sigverify.crypto.rekor import TlogError
from sigverify.errors import Failure, RegistryError
from sigverify.formats.blob import BlobInput, _fail, verify_blob
from sigverify.models import Code, Format, Reason, SignatureCheck

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

    from sigverify.crypto.keys import PublicKey
    from sigverify.crypto.rekor_entry import RekorEntry
    from sigverify.crypto.trustroot import TrustStore
    from sigverify.policy.model import KeylessIdentity

V01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"
V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
MAX_LOG_URLS = 4
OFFLINE_TIP = ("give the log entry (--rekor-entry FILE, the JSON of GET /api/v1/log/entries/<uuid>), or a bundle "
               "(`cosign sign-blob --bundle`), or allow the network for a lookup in the transparency log")


@dataclass(frozen=True)
class Detached:
    """The material next to a file: the signature and who made it (certificate, or key)."""

    signature: bytes
    certificate: Certificate | None = None
    chain: tuple[Certificate, ...] = ()
    entries: tuple[RekorEntry, ...] | None = None  # None: not given (look it up when allowed)
    label: str = "signature"


def decode_signature(raw: bytes, what: str) -> bytes:
    """A detached signature: base64 text (cosign's default) or raw DER."""
    from sigverify.crypto.keys import b64decode_strict

    text = raw.strip()
    try:
        return b64decode_strict(text.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        if text[:1] == b"\x30":  # an ASN.1 SEQUENCE: a raw DER ECDSA signature
            return raw
        raise Failure(Code.INVALID_SIGNATURE, f"{what} is neither base64 nor a DER signature",
                      expected="base64 text", found=repr(raw[:24])) from None


def _pem_text(raw: bytes, what: str) -> bytes:
    """PEM as written, or base64 of PEM (cosign --output-certificate, dl.k8s.io ``.cert``)."""
    text = raw.strip()
    if text.startswith(b"-----BEGIN"):
        return text
    try:
        inner = base64.b64decode(b"".join(text.split()), validate=True)
    except ValueError:
        inner = b""
    if inner.strip().startswith(b"-----BEGIN"):
        return inner.strip()
    raise Failure(Code.CERTIFICATE_INVALID, f"{what} is neither a PEM certificate nor base64 of one",
                  expected="-----BEGIN CERTIFICATE----- (or its base64)", found=repr(text[:24]))


def load_certificate(raw: bytes, what: str) -> Certificate:
    from sigverify.crypto.certificates import load_certificate_pem

    return load_certificate_pem(_pem_text(raw, what), what)


def load_chain(raw: bytes, what: str, trust: TrustStore) -> tuple[Certificate, ...]:
    """A PEM chain given with the certificate: every certificate in it must be one of the trusted root's
    Fulcio CA certificates (the chain decides nothing; the trusted root does)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        certs = x509.load_pem_x509_certificates(_pem_text(raw, what))
    except ValueError as e:
        raise Failure(Code.CERTIFICATE_INVALID, f"{what} is not a PEM certificate chain: {e}") from None
    trusted: set[bytes] = set()
    for ca in trust.trusted_root_json().get("certificateAuthorities") or []:
        for c in ((ca or {}).get("certChain") or {}).get("certificates") or []:
            try:
                trusted.add(base64.b64decode(c.get("rawBytes", ""), validate=True))
            except ValueError:
                continue
    for c in certs:
        if c.public_bytes(serialization.Encoding.DER) not in trusted:
            raise Failure(Code.CERTIFICATE_INVALID, f"{what} holds a certificate that is not a CA of the trusted root",
                          expected=f"certificates of {trust.label}", found=c.subject.rfc4514_string()[:120])
    return tuple(certs)


def parse_entries(raw: bytes, what: str) -> tuple[RekorEntry, ...]:
    from sigverify.crypto.rekor_entry import parse_api_entry

    return tuple(parse_api_entry(raw, what=what))


def legacy_bundle(raw: bytes, what: str) -> Detached | None:
    """cosign's legacy blob bundle (``cosign sign-blob --bundle`` without --new-bundle-format), or None when the
    JSON is not one (a Sigstore bundle has a ``mediaType``)."""
    from sigverify.crypto.rekor_entry import from_cosign_bundle
    from sigverify.crypto.strictjson import PayloadError, loads_strict

    try:
        doc = loads_strict(raw, what=what)
    except PayloadError:
        return None
    if not isinstance(doc, dict) or "base64Signature" not in doc or "mediaType" in doc:
        return None
    sig = doc.get("base64Signature")
    if not isinstance(sig, str):
        raise Failure(Code.INVALID_SIGNATURE, f"{what}: base64Signature is not a string")
    signature = decode_signature(sig.encode(), f"{what} base64Signature")
    cert_field = doc.get("cert")
    cert = load_certificate(cert_field.encode(), f"{what} cert") if isinstance(cert_field, str) and cert_field else None
    rb = doc.get("rekorBundle")
    entries = None
    if rb is not None:
        try:
            entries = (from_cosign_bundle(json.dumps(rb)),)
        except TlogError as e:
            raise Failure(Code.TLOG_INVALID, f"{what}: rekorBundle: {e.message}", e.expected, e.found) from None
    return Detached(signature=signature, certificate=cert, entries=entries, label=what)


def _log_urls(trust: TrustStore, override: str | None) -> list[str]:
    if override:
        return [override]
    urls: list[str] = []
    for k in trust.rekor_keys():  # in the trusted root's order (Rekor v2 logs have no search: they answer none)
        if k.base_url and k.base_url not in urls:
            urls.append(k.base_url)
    return urls[:MAX_LOG_URLS]


def lookup(blob: BlobInput, trust: TrustStore, *, rekor_url: str | None) -> tuple[list[RekorEntry], list[str]]:
    """Search the log(s) for entries about this file's SHA-256 (Rekor v1 API). Returns (entries, urls asked).
    Raises RegistryError (network) or TlogError (a malformed entry)."""
    import time

    from sigverify.registry.limits import Bound, bounded
    from sigverify.registry.rekor_client import LOOKUP_TIMEOUT

    entries: list[RekorEntry] = []
    urls = _log_urls(trust, rekor_url)
    bound = Bound(time.monotonic() + LOOKUP_TIMEOUT, f"the transparency-log lookup's {LOOKUP_TIMEOUT:g} s bound")
    with bounded(bound):  # every request of the lookup ends by then, retries and all logs included
        failed = _search(blob, urls, entries)
    if not entries and failed is not None:
        raise failed
    return entries, urls


def _search(blob: BlobInput, urls: list[str], entries: list[RekorEntry]) -> RegistryError | None:
    """Ask each log in turn until one has entries for the file (appended to ``entries``); returns the first
    network failure, if any."""
    from sigverify.crypto.rekor_entry import parse_api_entry
    from sigverify.registry.rekor_client import RekorClient

    failed: RegistryError | None = None
    for url in urls:
        client = RekorClient(url)
        try:
            for uuid in client.search_sha256(blob.sha256.hex()):
                raw = client.entry(uuid)
                if raw is not None:
                    entries.extend(parse_api_entry(raw, what=f"Rekor entry {uuid[:16]}…"))
        except RegistryError as e:
            failed = failed or e  # another log of the trusted root may still have the entry
        finally:
            client.close()
        if entries:
            break
    return failed


def bundle_for(blob: BlobInput, d: Detached, entry: RekorEntry, key: PublicKey | None = None) -> bytes:
    """The Sigstore bundle the detached material and its log entry amount to."""
    from cryptography.hazmat.primitives import serialization

    vm: dict[str, Any] = {"tlogEntries": [entry.bundle_entry()]}
    media = V03 if entry.proof is not None else V01
    if d.certificate is not None:
        der = base64.b64encode(d.certificate.public_bytes(serialization.Encoding.DER)).decode()
        if media == V03:
            vm["certificate"] = {"rawBytes": der}
        else:
            vm["x509CertificateChain"] = {"certificates": [{"rawBytes": der}]}
    elif key is not None:
        vm["publicKey"] = {"hint": base64.b64encode(hashlib.sha256(key.der).digest()).decode()}
    return json.dumps({
        "mediaType": media,
        "verificationMaterial": vm,
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": base64.b64encode(blob.sha256).decode()},
            "signature": base64.b64encode(d.signature).decode()},
    }).encode()


def _signer_der(d: Detached, key: PublicKey | None) -> tuple[bytes, str]:
    from cryptography.hazmat.primitives import serialization

    if d.certificate is not None:
        return d.certificate.public_bytes(serialization.Encoding.DER), "certificate"
    assert key is not None
    return key.der, "key"


def bound_entry(blob: BlobInput, d: Detached, *, signer_der: bytes, signer_kind: str, trust: TrustStore,
                offline: bool, rekor_url: str | None, details: dict[str, Any]) -> RekorEntry:
    """The log entry (given, or looked up when ``offline`` is false) that names exactly this signature, signer
    (certificate DER or key SPKI DER) and digest; not yet verified against the log keys. Raises ``Failure``:
    TLOG_INVALID (none, none that binds, malformed), or the network's code (REGISTRY_ERROR, TIMEOUT, ...)."""
    from sigverify.crypto.rekor_entry import check_entry_binding

    entries = d.entries
    if entries is None:
        if offline:
            raise Failure(Code.TLOG_INVALID, "a detached signature needs its transparency-log entry, and looking it "
                          "up needs the network (offline). Tip: " + OFFLINE_TIP, expected="a log entry",
                          found="none given, lookup not allowed (--offline)")
        try:
            found, urls = lookup(blob, trust, rekor_url=rekor_url)
        except RegistryError as e:
            raise Failure(e.code, f"transparency-log lookup failed: {e.message}" + (f" Tip: {e.tip}" if e.tip else ""),
                          e.expected, e.found) from None
        except TlogError as e:
            raise Failure(Code.TLOG_INVALID, f"transparency log: {e.message}", e.expected, e.found) from None
        details["tlog_lookup"] = urls
        if not found:
            raise Failure(Code.TLOG_INVALID, "the transparency log has no entry for this file. Tip: a signature made "
                          "with --tlog-upload=false verifies only with its key and --insecure-ignore-tlog "
                          "(`tlog: ignore`).", expected=f"an entry for sha256:{blob.sha256.hex()}",
                          found=f"none in {', '.join(urls) or '(no log)'}")
        entries = tuple(found)
    first_error: TlogError | None = None
    for entry in entries:
        try:
            check_entry_binding(entry, signature=d.signature, digest=blob.sha256, signer_der=signer_der,
                                signer_kind=signer_kind)
        except TlogError as e:
            first_error = first_error or e
            continue
        return entry
    err = first_error or TlogError("no log entry")
    more = f" ({len(entries)} entries looked at)" if len(entries) > 1 else ""
    raise Failure(Code.TLOG_INVALID, f"transparency log: {err.message}{more}", err.expected, err.found)


def verify_detached(
    blob: BlobInput,
    d: Detached,
    *,
    trust: TrustStore,
    identity: KeylessIdentity | None = None,
    key: PublicKey | None = None,
    authority: str = "command line",
    offline: bool = True,
    rekor_url: str | None = None,
) -> SignatureCheck:
    """Verify a detached signature with its certificate (keyless, ``identity``) or ``key`` and a log entry that
    binds them to this file. Never raises for a bad signature; network failures are failed checks too."""
    storage = f"file {d.label}"
    details: dict[str, Any] = {"trust_root": trust.label}
    if (d.certificate is None) == (key is None):
        return _fail(blob, storage, authority, Reason(
            Code.CERTIFICATE_INVALID if d.certificate is None else Code.KEY_ERROR,
            "a detached signature needs its certificate (keyless) or a key, not both" if key is not None
            else "a keyless detached signature needs its certificate",
            expected="--certificate FILE.cert with an identity, or --key", found="neither" if key is None else
            "both"), details=details)
    if d.certificate is not None and identity is None:
        return _fail(blob, storage, authority, Reason(
            Code.IDENTITY_MISMATCH, "no identity to verify the certificate against",
            expected="--certificate-identity and --certificate-oidc-issuer", found="neither"), details=details)
    signer_der, signer_kind = _signer_der(d, key)
    try:
        bound = bound_entry(blob, d, signer_der=signer_der, signer_kind=signer_kind, trust=trust, offline=offline,
                            rekor_url=rekor_url, details=details)
    except Failure as f:
        return _fail(blob, storage, authority, f.reason(), details=details)
    if key is not None and bound.proof is None:
        return _verify_key_promise(blob, d, bound, key=key, trust=trust, authority=authority)
    check = verify_blob(blob, trust=trust, bundle=bundle_for(blob, d, bound, key), bundle_label=d.label,
                        identity=identity, key=key, authority=authority)
    if check.ok:
        check = dataclasses.replace(check, details={**check.details, "content": "detached",
                                                    "tlog_entry": bound.summary()})
    return check


def _verify_key_promise(blob: BlobInput, d: Detached, entry: RekorEntry, *, key: PublicKey, trust: TrustStore,
                        authority: str) -> SignatureCheck:
    """A key signature whose log entry has only a signed entry timestamp (a legacy bundle): SET, signature."""
    from sigverify.crypto import rekor
    from sigverify.crypto.keys import verify_prehashed, verify_signature
    from sigverify.formats.base import key_signer_id

    storage = f"file {d.label}"
    signer = f"key {key.fingerprint}"
    assert entry.signed_entry_timestamp is not None
    rb = rekor.RekorBundle(signed_entry_timestamp=entry.signed_entry_timestamp, body=entry.body_b64,
                           integrated_time=entry.integrated_time, log_index=entry.log_index, log_id=entry.log_id)
    try:
        log_key = rekor.verify_set(rb, trust.rekor_keys())
    except TlogError as e:
        return _fail(blob, storage, authority, Reason(Code.TLOG_INVALID, f"transparency log: {e.message}",
                                                      e.expected, e.found), signer=signer)
    ok = (verify_signature(key, d.signature, blob.data) is not None if blob.data is not None
          else verify_prehashed(key, d.signature, blob.sha256))
    if not ok:
        return _fail(blob, storage, authority, Reason(
            Code.INVALID_SIGNATURE, "the signature does not verify with the key over the file",
            expected=f"signed by {key.label}", found="a signature by another key, or over other bytes"),
            signer=signer)
    return SignatureCheck(format=Format.SIGSTORE_BUNDLE, storage=storage, layer_digest="sha256:" + blob.sha256.hex(),
                          authority=authority, ok=True, signer=signer, details={
                              "kind": "signature", "content": "detached", "trust_root": trust.label,
                              "signing_times": [rb.integrated_at.isoformat()],
                              "tlog": {"log_index": rb.log_index, "log_id": rb.log_id, "log": log_key.base_url,
                                       "integrated_time": rb.integrated_at.isoformat(),
                                       "inclusion": "promise only"}}, signer_id=key_signer_id(key.der))
