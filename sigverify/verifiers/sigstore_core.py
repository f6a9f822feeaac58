"""Sigstore bundle cryptography through sigstore-python: certificate or key bundles, DSSE or message signatures.

sigstore-python 4.5 does the protocol work (Fulcio chain, SCT, Rekor inclusion proof + checkpoint + SET, RFC 3161
timestamps, hashedrekord/dsse body consistency). This module adds what it lacks, each a numbered step in
``_SigverifyVerifier``: certificate-authority ``validFor`` windows, TSA ``validFor.end`` inclusive (protobuf-specs
TimeRange is closed), Rekor key ``validFor`` at the integrated time, ``intoto`` 0.0.2 entries (older cosign and npm
attestations), and bundles signed with a public key (``verificationMaterial.publicKey``) instead of a certificate.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sigverify.models import Code, Reason

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

    from sigverify.trust import TrustStore
    from sigverify.verifiers.fulcio import CertIdentity
    from sigverify.verifiers.keys import PublicKey

BUNDLE_MEDIA_PREFIX = "application/vnd.dev.sigstore.bundle"
INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
MAX_BUNDLE_BYTES = 8 * 1024 * 1024


class BundleFailure(Exception):
    """Verification failed: a reason code, a message, expected vs found. ``signer`` when it could be read."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        expected: str | None = None,
        found: str | None = None,
        signer: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.expected = expected
        self.found = found
        self.signer = signer

    def reason(self) -> Reason:
        return Reason(self.code, self.message, expected=self.expected, found=self.found)


@dataclass(frozen=True)
class VerifiedBundle:
    """A bundle whose signature, log entry and (for keyless) certificate verified. Identity is NOT yet matched."""

    media_type: str
    content: str  # "dsse" | "message_signature"
    certificate: Certificate | None
    identity: CertIdentity | None
    key_fingerprint: str | None
    payload_type: str | None
    payload: bytes | None
    signing_times: tuple[_dt.datetime, ...]
    tlog: Mapping[str, Any] = field(default_factory=dict)

    @property
    def signer(self) -> str:
        if self.identity is not None:
            return self.identity.label
        return f"key {self.key_fingerprint}"


# ---------------------------------------------------------------------------------------------------------------
# Trusted root: one sigstore-python TrustedRoot per TrustStore
# ---------------------------------------------------------------------------------------------------------------

_ROOTS: weakref.WeakKeyDictionary[TrustStore, Any] = weakref.WeakKeyDictionary()
_ROOTS_LOCK = threading.Lock()


def sigstore_trusted_root(trust: TrustStore) -> Any:
    """The sigstore-python ``TrustedRoot`` for ``trust`` (parsed once per TrustStore)."""
    with _ROOTS_LOCK:
        hit = _ROOTS.get(trust)
    if hit is not None:
        return hit
    import json

    from sigstore.models import TrustedRoot
    from sigstore_models.trustroot import v1 as trustroot_v1

    data = _normalise_root(trust.trusted_root_json())
    try:
        root = TrustedRoot(trustroot_v1.TrustedRoot.from_json(json.dumps(data)))
    except Exception as e:
        raise BundleFailure(
            Code.CERTIFICATE_INVALID,
            f"the trusted root {trust.label} cannot be used: {str(e).splitlines()[0]}",
        ) from None
    with _ROOTS_LOCK:
        _ROOTS[trust] = root
    return root


def _normalise_root(data: Mapping[str, Any]) -> dict[str, Any]:
    """Fill the informational CA ``subject`` fields sigstore-models insists on (sigstore-go's scaffolding root
    omits ``commonName``). Only names are filled; keys, chains and validity windows are untouched."""
    import copy

    out = copy.deepcopy(dict(data))
    for section in ("certificateAuthorities", "timestampAuthorities"):
        for ca in out.get(section) or []:
            if isinstance(ca, dict):
                subject = ca.setdefault("subject", {})
                if isinstance(subject, dict):
                    subject.setdefault("commonName", "")
                    subject.setdefault("organization", "")
    return out


# ---------------------------------------------------------------------------------------------------------------
# sigstore-python Verifier with the missing checks
# ---------------------------------------------------------------------------------------------------------------


def _in_range(t: _dt.datetime, start: _dt.datetime | None, end: _dt.datetime | None) -> bool:
    """Closed interval [start, end]; an absent bound is open."""
    return (start is None or start <= t) and (end is None or t <= end)


def _make_verifier(trusted_root: Any) -> Any:
    """A sigstore-python Verifier subclass instance (class built lazily: sigstore is imported only here)."""
    return _verifier_class()(trusted_root=trusted_root)


_CLASS: list[type[Any]] = []


def _verifier_class() -> type[Any]:
    if _CLASS:
        return _CLASS[0]
    from datetime import UTC, datetime

    from rfc3161_client import VerificationError as Rfc3161VerificationError
    from rfc3161_client import VerifierBuilder
    from sigstore import dsse
    from sigstore._internal.timestamp import TimestampSource, TimestampVerificationResult
    from sigstore.errors import CertValidationError, VerificationError
    from sigstore.verify import Verifier

    class _SigverifyVerifier(Verifier):
        """sigstore-python's Verifier plus: CA validity windows, inclusive TSA end, intoto 0.0.2 entries."""

        def _verify_signed_timestamp(self, timestamp_response: Any, message: bytes) -> Any:
            # Same as upstream, but the CA validity end is inclusive (TimeRange is a closed interval).
            for ca in self._trusted_root.get_timestamp_authorities():
                certificates = ca.certificates(allow_expired=True)
                if len(certificates) < 2:
                    continue
                builder = VerifierBuilder().tsa_certificate(certificates[0]).add_root_certificate(certificates[-1])
                for certificate in certificates[1:-1]:
                    builder = builder.add_intermediate_certificate(certificate)
                try:
                    builder.build().verify_message(timestamp_response, message)
                except Rfc3161VerificationError:
                    continue
                gen_time = timestamp_response.tst_info.gen_time
                if _in_range(gen_time, ca.validity_period_start, ca.validity_period_end):
                    return TimestampVerificationResult(source=TimestampSource.TIMESTAMP_AUTHORITY, time=gen_time)
            return None

        def _establish_time(self, bundle: Any) -> list[Any]:
            # Upstream refuses the integrated time of intoto/0.0.2 entries; the SET binds it just the same.
            inner = bundle.log_entry._inner
            if inner.kind_version.kind != "intoto":
                return list(super()._establish_time(bundle))
            times: list[Any] = []
            if bundle.verification_material.timestamp_verification_data:
                if not self._trusted_root.get_timestamp_authorities():
                    raise VerificationError("the bundle has signed timestamps but the trusted root has no TSA")
                times.extend(self._verify_timestamp_authority(bundle))
            if inner.integrated_time and inner.inclusion_promise:
                times.append(
                    TimestampVerificationResult(
                        source=TimestampSource.TRANSPARENCY_SERVICE,
                        time=datetime.fromtimestamp(inner.integrated_time, tz=UTC),
                    )
                )
            return times

        def _verify_chain_at_time(self, certificate: Any, timestamp_result: Any) -> list[Any]:
            chain: list[Any] = super()._verify_chain_at_time(certificate, timestamp_result)
            # The certificate authority that issued it must be valid at that time (trusted root validFor).
            when = timestamp_result.time
            chain_der = [c.public_bytes(_der()) for c in chain]
            for ca in self._trusted_root._inner.certificate_authorities:
                ca_der = [base64.b64decode(c.raw_bytes) if isinstance(c.raw_bytes, str) else c.raw_bytes
                          for c in ca.cert_chain.certificates]
                if chain_der and chain_der[-1] in ca_der and all(d in ca_der for d in chain_der):
                    vf = ca.valid_for
                    if vf is None or _in_range(when, vf.start, vf.end):
                        return chain
            raise CertValidationError(
                f"no certificate authority of the trusted root was valid at the signing time {when.isoformat()}"
            )

        def verify_dsse(self, bundle: Any, policy: Any) -> tuple[str, bytes]:
            entry = bundle.log_entry._inner
            if entry.kind_version.kind != "intoto":
                result: tuple[str, bytes] = super().verify_dsse(bundle, policy)
                return result
            if entry.kind_version.version != "0.0.2":
                raise VerificationError(f"unsupported intoto log entry version {entry.kind_version.version}")
            self._verify_common_signing_cert(bundle, policy)
            envelope = bundle._dsse_envelope
            if envelope is None:
                raise VerificationError("cannot perform DSSE verification on a bundle without a DSSE envelope")
            dsse._verify(bundle.signing_certificate.public_key(), envelope)
            _check_intoto_body(
                entry.canonicalized_body,
                payload=envelope._inner.payload,
                signature=envelope.signature,
                signer_der=bundle.signing_certificate.public_bytes(_der()),
                error=VerificationError,
            )
            return (envelope._inner.payload_type, envelope._inner.payload)

    _CLASS.append(_SigverifyVerifier)
    return _SigverifyVerifier


def _der() -> Any:
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def _pem_to_der(pem_b64: str) -> bytes:
    """A base64 PEM certificate or public key (as Rekor bodies carry them) -> DER (cert or SPKI)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    pem = base64.b64decode(pem_b64, validate=True)
    if b"CERTIFICATE" in pem:
        return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    key = serialization.load_pem_public_key(pem)
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _check_intoto_body(
    body: bytes, *, payload: bytes, signature: bytes, signer_der: bytes, error: type[Exception]
) -> None:
    """Rekor ``intoto`` 0.0.2 body vs the envelope: payload hash, the (double base64) signature, the signer."""
    from sigverify.verifiers.payload import PayloadError, loads_object

    try:
        doc = loads_object(body, what="intoto log entry")
        content = doc["spec"]["content"]
        if content["payloadHash"]["algorithm"] != "sha256":
            raise error("intoto log entry: payload hash is not sha256")
        if content["payloadHash"]["value"] != hashlib.sha256(payload).hexdigest():
            raise error("log entry payload hash does not match bundle")
        sigs = content["envelope"]["signatures"]
        if not isinstance(sigs, list) or len(sigs) != 1:
            raise error("intoto log entry must carry exactly one signature")
        logged_sig = base64.b64decode(base64.b64decode(sigs[0]["sig"], validate=True), validate=True)
        if logged_sig != signature:
            raise error("log entry signature does not match bundle")
        if _pem_to_der(sigs[0]["publicKey"]) != signer_der:
            raise error("log entry certificate does not match bundle")
        logged_payload = content["envelope"].get("payload")
        if logged_payload is not None:
            inner = base64.b64decode(base64.b64decode(logged_payload, validate=True), validate=True)
            if inner != payload:
                raise error("log entry payload does not match bundle")
    except (KeyError, TypeError, ValueError, PayloadError) as e:
        if isinstance(e, error):
            raise
        raise error(f"malformed intoto log entry: {e}") from None


# ---------------------------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------------------------


def _classify(message: str) -> str:
    m = message.lower()
    if "sct" in m or ("certificate" in m and "chain" in m) or "expired at time of signing" in m or "cert" in m:
        return Code.CERTIFICATE_INVALID
    if "digest mismatch" in m:
        return Code.DIGEST_MISMATCH
    if any(w in m for w in ("log entry", "inclusion", "checkpoint", "set:", "transparency", "tlog", "rekor")):
        return Code.TLOG_INVALID
    if "verified time" in m or "timestamp" in m:
        return Code.TLOG_INVALID
    return Code.INVALID_SIGNATURE


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _unverified_signer(doc: Mapping[str, Any]) -> str | None:
    """Best-effort identity of a bundle's certificate for the report when verification failed."""
    from cryptography import x509

    from sigverify.verifiers.fulcio import IdentityError, identity_of

    vm = doc.get("verificationMaterial")
    if not isinstance(vm, dict):
        return None
    raw = None
    if isinstance(vm.get("certificate"), dict):
        raw = vm["certificate"].get("rawBytes")
    elif isinstance(vm.get("x509CertificateChain"), dict):
        certs = vm["x509CertificateChain"].get("certificates") or []
        if certs and isinstance(certs[0], dict):
            raw = certs[0].get("rawBytes")
    if isinstance(vm.get("publicKey"), dict):
        return f"key hint {vm['publicKey'].get('hint')} (unverified)"
    if not isinstance(raw, str):
        return None
    try:
        ident = identity_of(x509.load_der_x509_certificate(base64.b64decode(raw, validate=True)))
    except (ValueError, IdentityError):
        return None
    return f"{ident.label} (unverified)"


def parse_bundle_json(raw: bytes) -> dict[str, Any]:
    from sigverify.verifiers.payload import PayloadError, loads_object

    if len(raw) > MAX_BUNDLE_BYTES:
        raise BundleFailure(Code.SIZE_LIMIT, "the bundle is too large", expected=f"<= {MAX_BUNDLE_BYTES} bytes",
                            found=f"{len(raw)} bytes")
    try:
        doc = loads_object(raw, what="Sigstore bundle")
    except PayloadError as e:
        raise BundleFailure(Code.INVALID_PAYLOAD, f"the Sigstore bundle is not valid JSON: {e.message}",
                            expected=e.expected, found=e.found) from None
    media_type = doc.get("mediaType")
    if not isinstance(media_type, str) or not media_type.startswith(BUNDLE_MEDIA_PREFIX):
        raise BundleFailure(Code.UNSUPPORTED_FORMAT, "not a Sigstore bundle",
                            expected=f"mediaType {BUNDLE_MEDIA_PREFIX}…", found=repr(media_type))
    return doc


def verify_bundle(
    raw: bytes,
    trust: TrustStore,
    *,
    artifact: bytes | None = None,
    artifact_digest: bytes | None = None,
    key: PublicKey | None = None,
    allow_no_tlog: bool = False,
) -> VerifiedBundle:
    """Verify a bundle's signature, log entry, times and (keyless) certificate chain + SCT against ``trust``.

    For a message-signature bundle give ``artifact`` (bytes) or ``artifact_digest`` (SHA-256). DSSE bundles are
    verified over their envelope; the caller binds the statement to the artifact. ``key``: the bundle must be
    signed with exactly this public key (key-based authority); without it the bundle must carry a certificate.
    ``allow_no_tlog`` (authorities with ``tlog: ignore``): a key-signed bundle is checked on its signature alone,
    its log entry (if any) not consulted (``cosign sign --key --tlog-upload=false``); a keyless bundle *without*
    a log entry is accepted on a trusted RFC 3161 timestamp instead (a Sigstore instance without a log).
    Raises ``BundleFailure``; the identity is returned, not matched.
    """
    doc = parse_bundle_json(raw)
    vm = doc.get("verificationMaterial")
    if not isinstance(vm, dict):
        raise BundleFailure(Code.INVALID_PAYLOAD, "the bundle has no verificationMaterial object",
                            expected="verificationMaterial: {...}", found=type(vm).__name__)
    has_key_material = isinstance(vm, dict) and "publicKey" in vm
    if key is None and has_key_material:
        raise BundleFailure(
            Code.KEY_ERROR,
            "the bundle is signed with a public key, but no key was given to verify it",
            expected="a keyless identity check needs a certificate in the bundle",
            found="a bundle with verificationMaterial.publicKey",
            signer=_unverified_signer(doc),
        )
    if key is not None and not has_key_material:
        raise BundleFailure(
            Code.KEY_ERROR,
            "the bundle carries a certificate, but a public key was given",
            expected=f"a bundle signed with key {key.fingerprint}",
            found="a certificate (keyless) bundle",
            signer=_unverified_signer(doc),
        )
    if key is not None:
        entries = vm.get("tlogEntries") if isinstance(vm, dict) else None
        if allow_no_tlog:
            # `tlog: ignore` (cosign --insecure-ignore-tlog): the log entry, present or not, is not consulted.
            return _verify_key_bundle_without_log(doc, key, artifact=artifact, artifact_digest=artifact_digest)
        if not entries:
            if not allow_no_tlog:
                raise BundleFailure(
                    Code.TLOG_INVALID,
                    "the bundle has no transparency-log entry, and the authority requires one. Tip: for "
                    "signatures made with `--tlog-upload=false`, set `tlog: ignore` on the key authority "
                    "(verify-blob: --insecure-ignore-tlog).",
                    expected="verificationMaterial.tlogEntries with one entry", found="none",
                    signer=f"key {key.fingerprint}")
            return _verify_key_bundle_without_log(doc, key, artifact=artifact, artifact_digest=artifact_digest)
        return _verify_key_bundle(raw, doc, trust, key, artifact=artifact, artifact_digest=artifact_digest)
    entries = vm.get("tlogEntries") if isinstance(vm, dict) else None
    if not entries:
        if not allow_no_tlog:
            raise BundleFailure(
                Code.TLOG_INVALID,
                "the keyless bundle has no transparency-log entry. Tip: for a Sigstore instance without a log "
                "(e.g. GitHub's, for private-repository attestations) set `tlog: ignore` on the keyless authority: "
                "a trusted RFC 3161 timestamp is then required instead.",
                expected="verificationMaterial.tlogEntries with one entry", found="none",
                signer=_unverified_signer(doc))
        return _verify_timestamped_only(doc, trust, artifact=artifact, artifact_digest=artifact_digest)
    return _verify_cert_bundle(raw, doc, trust, artifact=artifact, artifact_digest=artifact_digest)


def _load_bundle(raw: bytes, signer: str | None) -> Any:
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle

    try:
        return Bundle.from_json(raw)
    except (SigstoreError, ValueError) as e:
        raise BundleFailure(Code.INVALID_PAYLOAD, f"invalid Sigstore bundle: {_first_line(e)}", signer=signer) from None


def _hashed(artifact: bytes | None, artifact_digest: bytes | None) -> Any:
    from sigstore.hashes import Hashed
    from sigstore_models.common.v1 import HashAlgorithm

    if artifact is not None:
        return Hashed(algorithm=HashAlgorithm.SHA2_256, digest=hashlib.sha256(artifact).digest())
    if artifact_digest is not None:
        return Hashed(algorithm=HashAlgorithm.SHA2_256, digest=artifact_digest)
    return None


def _verify_cert_bundle(
    raw: bytes, doc: Mapping[str, Any], trust: TrustStore, *, artifact: bytes | None, artifact_digest: bytes | None
) -> VerifiedBundle:
    from sigstore.errors import Error as SigstoreError

    from sigverify.verifiers.fulcio import IdentityError, identity_of

    signer = _unverified_signer(doc)
    if _is_promise_only_v01(doc):
        return _verify_promise_only_v01(doc, trust, artifact=artifact, artifact_digest=artifact_digest,
                                        signer=signer)
    bundle = _load_bundle(raw, signer)
    verifier = _make_verifier(sigstore_trusted_root(trust))
    # Identity is matched by sigverify (fulcio.py), so the report can show what a non-matching cert carried.
    no_identity_policy = _IdentityMatchedByCaller()
    payload_type = payload = None
    try:
        times = verifier._establish_time(bundle)
        if bundle._inner.dsse_envelope is not None:
            payload_type, payload = verifier.verify_dsse(bundle, no_identity_policy)
            content = "dsse"
        else:
            hashed = _hashed(artifact, artifact_digest)
            if hashed is None:
                raise BundleFailure(
                    Code.UNSUPPORTED_FORMAT,
                    "a message-signature bundle signs a file, not this image",
                    expected="a DSSE (in-toto) bundle, as cosign v3 attaches to images",
                    found="messageSignature",
                    signer=signer,
                )
            verifier.verify_artifact(hashed, bundle, no_identity_policy)
            content = "message_signature"
    except BundleFailure:
        raise
    except (SigstoreError, ValueError) as e:
        msg = _first_line(e)
        raise BundleFailure(_classify(msg), f"Sigstore bundle verification failed: {msg}", signer=signer) from None
    _check_tlog_key_validity(bundle, trust, signer)
    cert = bundle.signing_certificate
    try:
        identity = identity_of(cert)
    except IdentityError as e:
        raise BundleFailure(Code.CERTIFICATE_INVALID, f"unreadable certificate identity: {e}") from None
    return VerifiedBundle(
        media_type=str(doc.get("mediaType")),
        content=content,
        certificate=cert,
        identity=identity,
        key_fingerprint=None,
        payload_type=payload_type,
        payload=payload,
        signing_times=tuple(t.time for t in times),
        tlog=_tlog_summary(bundle.log_entry._inner),
    )


class _IdentityMatchedByCaller:
    """sigstore-python VerificationPolicy that accepts any identity: sigverify matches it afterwards (fulcio.py)
    so a mismatch can report what the certificate carried. Unlike UnsafeNoOp it logs no warning."""

    def verify(self, cert: Certificate) -> None:
        return None


def _tlog_summary(inner: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "log_index": int(inner.log_index),
        "log_id": inner.log_id.key_id.hex(),
        "kind": f"{inner.kind_version.kind}/{inner.kind_version.version}",
    }
    if inner.integrated_time:
        out["integrated_time"] = _dt.datetime.fromtimestamp(int(inner.integrated_time), tz=_dt.UTC).isoformat()
    return out


def _check_tlog_key_validity(bundle: Any, trust: TrustStore, signer: str | None) -> None:
    """The Rekor key must have been valid at the integrated time (trusted root ``validFor``, inclusive)."""
    inner = bundle.log_entry._inner
    if not inner.integrated_time or not inner.inclusion_promise:
        return
    when = _dt.datetime.fromtimestamp(int(inner.integrated_time), tz=_dt.UTC)
    log_id = inner.log_id.key_id.hex()
    keys = trust.rekor_key(log_id)
    if keys and not any(k.valid_at(when) for k in keys):
        raise BundleFailure(
            Code.TLOG_INVALID,
            "the transparency log key was not valid at the entry's integrated time",
            expected=" or ".join(k.validity for k in keys),
            found=when.isoformat(),
            signer=signer,
        )


# ---------------------------------------------------------------------------------------------------------------
# Key-signed bundles (sigstore-python verifies only certificate bundles)
# ---------------------------------------------------------------------------------------------------------------


def _verify_key_bundle(
    raw: bytes,
    doc: Mapping[str, Any],
    trust: TrustStore,
    key: PublicKey,
    *,
    artifact: bytes | None,
    artifact_digest: bytes | None,
) -> VerifiedBundle:
    """Steps: (1) parse (sigstore-models), (2) one log entry with proof + checkpoint, (3) verified times (SET,
    TSA), (4) inclusion proof, checkpoint and SET via sigstore-python, (5) signature with ``key``,
    (6) log body consistency (signature, key, digest / payload hash)."""
    from sigstore._internal.trust import KeyringPurpose
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle, TransparencyLogEntry
    from sigstore_models.bundle.v1 import Bundle as InnerBundle

    from sigverify.verifiers.keys import verify_signature

    signer = f"key {key.fingerprint}"
    try:
        inner = InnerBundle.from_json(raw)
        Bundle.BundleType(inner.media_type)
    except (ValueError, SigstoreError) as e:
        raise BundleFailure(Code.INVALID_PAYLOAD, f"invalid Sigstore bundle: {_first_line(e)}", signer=signer) from None
    hint = inner.verification_material.public_key.hint if inner.verification_material.public_key else None
    if hint:
        hint_b = hint if isinstance(hint, bytes) else hint.encode()
        expected_hint = base64.b64encode(hashlib.sha256(key.der).digest())
        if hint_b not in (expected_hint, hashlib.sha256(key.der).digest()) and hint_b != key.fingerprint.encode():
            # The hint is unauthenticated; a mismatch is still a clear early answer.
            raise BundleFailure(Code.INVALID_SIGNATURE, "the bundle was signed with another key",
                                expected=f"key hint {expected_hint.decode()}", found=f"key hint {hint_b!r}",
                                signer=f"key hint {hint_b.decode(errors='replace')}")
    entries = inner.verification_material.tlog_entries or []
    if len(entries) != 1:
        raise BundleFailure(Code.TLOG_INVALID, "expected exactly one transparency log entry in the bundle",
                            expected="1", found=str(len(entries)), signer=signer)
    trusted_root = sigstore_trusted_root(trust)
    verifier = _make_verifier(trusted_root)
    try:
        entry = TransparencyLogEntry(entries[0])
    except SigstoreError as e:
        raise BundleFailure(Code.TLOG_INVALID, f"invalid log entry: {_first_line(e)}", signer=signer) from None

    dsse_env = inner.dsse_envelope
    if dsse_env is not None:
        from sigstore import dsse

        envelope = dsse.Envelope(dsse_env)
        signature = envelope.signature
    elif inner.message_signature is not None:
        signature = inner.message_signature.signature
    else:
        raise BundleFailure(Code.INVALID_PAYLOAD, "the bundle has neither a DSSE envelope nor a message signature")

    # (3) times
    times: list[_dt.datetime] = []
    tvd = inner.verification_material.timestamp_verification_data
    if tvd is not None and tvd.rfc3161_timestamps:
        from sigstore.models import TimestampVerificationData

        try:
            data = TimestampVerificationData(tvd)
            for tsr in data.rfc3161_timestamps[:32]:
                res = verifier._verify_signed_timestamp(tsr, signature)
                if res is not None:
                    times.append(res.time)
        except SigstoreError as e:
            raise BundleFailure(
                Code.TLOG_INVALID, f"invalid signed timestamp: {_first_line(e)}", signer=signer
            ) from None
    ie = entry._inner
    if ie.integrated_time and ie.inclusion_promise:
        times.append(_dt.datetime.fromtimestamp(int(ie.integrated_time), tz=_dt.UTC))
    if not times:
        raise BundleFailure(Code.TLOG_INVALID, "not enough sources of verified time (no SET, no trusted timestamp)",
                            signer=signer)
    # (4) log proofs
    try:
        entry._verify(trusted_root.rekor_keyring(KeyringPurpose.VERIFY))
    except (SigstoreError, ValueError) as e:
        raise BundleFailure(Code.TLOG_INVALID, f"invalid log entry: {_first_line(e)}", signer=signer) from None

    class _B:  # the shape _check_tlog_key_validity reads
        log_entry = entry

    _check_tlog_key_validity(_B, trust, signer)

    # (5) signature, (6) body
    kind, version = ie.kind_version.kind, ie.kind_version.version
    body = bytes(ie.canonicalized_body)
    if dsse_env is not None:
        pae = envelope.pae()
        if verify_signature(key, signature, pae) is None:
            raise BundleFailure(Code.INVALID_SIGNATURE, "the DSSE signature does not verify with the key",
                                expected=f"signed by {key.label}", signer=signer)
        payload = envelope._inner.payload
        _check_key_dsse_body(kind, version, body, payload=payload, pae=pae, signature=signature, key=key)
        return VerifiedBundle(
            media_type=inner.media_type, content="dsse", certificate=None, identity=None,
            key_fingerprint=key.fingerprint, payload_type=envelope._inner.payload_type, payload=payload,
            signing_times=tuple(times), tlog=_tlog_summary(ie),
        )
    digest = hashlib.sha256(artifact).digest() if artifact is not None else artifact_digest
    if digest is None:
        raise BundleFailure(Code.UNSUPPORTED_FORMAT, "a message-signature bundle signs a file, not this image",
                            expected="a DSSE (in-toto) bundle", found="messageSignature", signer=signer)
    md = inner.message_signature.message_digest if inner.message_signature else None
    if md is not None and md.digest != digest:
        raise BundleFailure(Code.DIGEST_MISMATCH, "the bundle's message digest is not the artifact's",
                            expected=digest.hex(), found=bytes(md.digest).hex(), signer=signer)
    if artifact is not None:
        ok = verify_signature(key, signature, artifact) is not None
    else:
        ok = _verify_prehashed(key, signature, digest)
    if not ok:
        raise BundleFailure(Code.INVALID_SIGNATURE, "the signature does not verify with the key over the artifact",
                            expected=f"signed by {key.label}", signer=signer)
    _check_key_hashedrekord_body(kind, version, body, digest=digest, signature=signature, key=key)
    return VerifiedBundle(
        media_type=inner.media_type, content="message_signature", certificate=None, identity=None,
        key_fingerprint=key.fingerprint, payload_type=None, payload=None, signing_times=tuple(times),
        tlog=_tlog_summary(ie),
    )


_KNOWN_MEDIA_TYPES = (
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle.v0.3+json",
)


def _verify_key_bundle_without_log(
    doc: Mapping[str, Any], key: PublicKey, *, artifact: bytes | None, artifact_digest: bytes | None
) -> VerifiedBundle:
    """A key-signed bundle with no log entry (sigstore-models refuses it, so it is read here, strictly):
    the signature alone, with the authority's key."""
    from sigverify.verifiers.attestation import pae as dsse_pae
    from sigverify.verifiers.keys import verify_signature

    signer = f"key {key.fingerprint}"

    def b64(value: Any, what: str) -> bytes:
        return _b64_field(value, what, signer)

    media_type = doc.get("mediaType")
    if media_type not in _KNOWN_MEDIA_TYPES:
        raise BundleFailure(Code.UNSUPPORTED_FORMAT, "unsupported Sigstore bundle version",
                            expected=" or ".join(_KNOWN_MEDIA_TYPES), found=repr(media_type), signer=signer)
    hint = (doc.get("verificationMaterial") or {}).get("publicKey", {}).get("hint")
    expected_hint = base64.b64encode(hashlib.sha256(key.der).digest()).decode()
    if hint and hint != expected_hint:
        raise BundleFailure(Code.INVALID_SIGNATURE, "the bundle was signed with another key",
                            expected=f"key hint {expected_hint}", found=f"key hint {hint}", signer=f"key hint {hint}")
    env = doc.get("dsseEnvelope")
    msg = doc.get("messageSignature")
    if isinstance(env, dict) and msg is None:
        payload_type = env.get("payloadType")
        if not isinstance(payload_type, str):
            raise BundleFailure(Code.INVALID_PAYLOAD, "the DSSE envelope has no payloadType", signer=signer)
        payload = b64(env.get("payload"), "dsseEnvelope.payload")
        sigs = env.get("signatures")
        if not isinstance(sigs, list) or len(sigs) != 1 or not isinstance(sigs[0], dict):
            raise BundleFailure(Code.INVALID_PAYLOAD, "a bundle's DSSE envelope must carry exactly one signature",
                                signer=signer)
        sig = b64(sigs[0].get("sig"), "dsseEnvelope.signatures[0].sig")
        pae = dsse_pae(payload_type, payload)
        if verify_signature(key, sig, pae) is None:
            raise BundleFailure(Code.INVALID_SIGNATURE, "the DSSE signature does not verify with the key",
                                expected=f"signed by {key.label}", signer=signer)
        return VerifiedBundle(media_type=str(media_type), content="dsse", certificate=None, identity=None,
                              key_fingerprint=key.fingerprint, payload_type=payload_type, payload=payload,
                              signing_times=(), tlog={"tlog": "ignored (tlog: ignore)"})
    if isinstance(msg, dict) and env is None:
        sig = b64(msg.get("signature"), "messageSignature.signature")
        digest = hashlib.sha256(artifact).digest() if artifact is not None else artifact_digest
        if digest is None:
            raise BundleFailure(Code.UNSUPPORTED_FORMAT, "a message-signature bundle signs a file, not this image",
                                expected="a DSSE (in-toto) bundle", found="messageSignature", signer=signer)
        md = msg.get("messageDigest")
        if md is not None:
            if not isinstance(md, dict) or md.get("algorithm") != "SHA2_256":
                raise BundleFailure(Code.INVALID_PAYLOAD, "unsupported messageDigest", expected="SHA2_256",
                                    signer=signer)
            if b64(md.get("digest"), "messageDigest.digest") != digest:
                raise BundleFailure(Code.DIGEST_MISMATCH, "the bundle's message digest is not the artifact's",
                                    expected=digest.hex(), signer=signer)
        ok = (verify_signature(key, sig, artifact) is not None if artifact is not None
              else _verify_prehashed(key, sig, digest))
        if not ok:
            raise BundleFailure(Code.INVALID_SIGNATURE, "the signature does not verify with the key over the "
                                "artifact", expected=f"signed by {key.label}", signer=signer)
        return VerifiedBundle(media_type=str(media_type), content="message_signature", certificate=None,
                              identity=None, key_fingerprint=key.fingerprint, payload_type=None, payload=None,
                              signing_times=(), tlog={"tlog": "ignored (tlog: ignore)"})
    raise BundleFailure(Code.INVALID_PAYLOAD, "the bundle needs exactly one of dsseEnvelope, messageSignature",
                        signer=signer)


def _verify_prehashed(key: PublicKey, signature: bytes, digest: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    k = key.key
    try:
        if isinstance(k, ec.EllipticCurvePublicKey):
            k.verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
            return True
        if isinstance(k, rsa.RSAPublicKey):
            k.verify(signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
            return True
    except (InvalidSignature, ValueError):
        return False
    return False


def _b64_field(value: Any, what: str, signer: str | None) -> bytes:
    """Strict base64 of a bundle field; raises BundleFailure(INVALID_PAYLOAD) naming ``what`` and the signer."""
    from sigverify.verifiers.keys import b64decode_strict

    if not isinstance(value, str):
        raise BundleFailure(Code.INVALID_PAYLOAD, f"{what} is not a base64 string", signer=signer)
    try:
        return b64decode_strict(value)
    except ValueError:
        raise BundleFailure(Code.INVALID_PAYLOAD, f"{what} is not valid base64", signer=signer) from None


def _body_fail(msg: str) -> BundleFailure:
    return BundleFailure(Code.TLOG_INVALID, f"transparency log entry is inconsistent with the bundle: {msg}")


def _check_key_hashedrekord_body(
    kind: str, version: str, body: bytes, *, digest: bytes, signature: bytes, key: PublicKey
) -> None:
    check_hashedrekord_body(kind, version, body, digest=digest, signature=signature, signer_der=key.der)


def check_hashedrekord_body(
    kind: str, version: str, body: bytes, *, digest: bytes, signature: bytes, signer_der: bytes
) -> None:
    """A hashedrekord 0.0.1 / 0.0.2 entry must name this artifact digest, this signature and this signer
    (``signer_der``: certificate DER, or SPKI DER for a key). Raises BundleFailure(TLOG_INVALID)."""
    from sigverify.verifiers.payload import PayloadError, loads_object

    if kind != "hashedrekord":
        raise _body_fail(f"expected a hashedrekord entry, found {kind}/{version}")
    try:
        doc = loads_object(body, what="hashedrekord log entry")
        spec = doc["spec"]
        if version == "0.0.1":
            if spec["data"]["hash"] != {"algorithm": "sha256", "value": digest.hex()}:
                raise _body_fail("artifact hash differs")
            if base64.b64decode(spec["signature"]["content"], validate=True) != signature:
                raise _body_fail("signature differs")
            if _pem_to_der(spec["signature"]["publicKey"]["content"]) != signer_der:
                raise _body_fail("signer differs")
        elif version == "0.0.2":
            _check_hashedrekord_v002(spec, digest=digest, digest_differs="artifact hash differs",
                                     signature=signature, signer_der=signer_der)
        else:
            raise _body_fail(f"unsupported hashedrekord version {version}")
    except (KeyError, TypeError, ValueError, PayloadError) as e:
        if isinstance(e, BundleFailure):
            raise
        raise _body_fail(f"malformed entry: {e}") from None


def _check_hashedrekord_v002(spec: Any, *, digest: bytes, digest_differs: str, signature: bytes,
                             signer_der: bytes) -> None:
    """A Rekor v2 hashedrekord 0.0.2 ``spec`` must log this digest, signature and signer. Raises BundleFailure
    (``digest_differs`` names a digest mismatch); a malformed spec raises KeyError/TypeError/ValueError."""
    hr = spec["hashedRekordV002"]
    if base64.b64decode(hr["data"]["digest"], validate=True) != digest:
        raise _body_fail(digest_differs)
    if base64.b64decode(hr["signature"]["content"], validate=True) != signature:
        raise _body_fail("signature differs")
    verifier = hr["signature"]["verifier"]
    logged = verifier.get("publicKey", verifier.get("x509Certificate", {}))["rawBytes"]
    if base64.b64decode(logged, validate=True) != signer_der:
        raise _body_fail("signer differs")


def _check_key_dsse_body(
    kind: str, version: str, body: bytes, *, payload: bytes, pae: bytes, signature: bytes, key: PublicKey
) -> None:
    check_dsse_log_body(kind, version, body, payload=payload, pae=pae, signature=signature, signer_der=key.der)


def check_dsse_log_body(
    kind: str, version: str, body: bytes, *, payload: bytes, pae: bytes, signature: bytes, signer_der: bytes
) -> None:
    """A logged DSSE entry (dsse 0.0.1, intoto 0.0.2, Rekor v2 hashedrekord 0.0.2) must name this payload, this
    signature and this signer (``signer_der``: certificate DER, or SPKI DER for a key). Raises BundleFailure."""
    from sigverify.verifiers.payload import PayloadError, loads_object

    try:
        doc = loads_object(body, what="log entry")
        spec = doc["spec"]
        if kind == "dsse" and version == "0.0.1":
            if spec["payloadHash"] != {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}:
                raise _body_fail("payload hash differs")
            sigs = spec["signatures"]
            if len(sigs) != 1 or base64.b64decode(sigs[0]["signature"], validate=True) != signature:
                raise _body_fail("signature differs")
            if _pem_to_der(sigs[0]["verifier"]) != signer_der:
                raise _body_fail("public key differs")
        elif kind == "intoto" and version == "0.0.2":
            _check_intoto_body(body, payload=payload, signature=signature, signer_der=signer_der, error=ValueError)
        elif kind == "hashedrekord" and version == "0.0.2":
            _check_hashedrekord_v002(spec, digest=hashlib.sha256(pae).digest(), digest_differs="PAE digest differs",
                                     signature=signature, signer_der=signer_der)
        else:
            raise _body_fail(f"unsupported DSSE log entry type {kind}/{version}")
    except (KeyError, TypeError, ValueError, PayloadError) as e:
        if isinstance(e, BundleFailure):
            raise
        raise _body_fail(str(e)) from None


# ---------------------------------------------------------------------------------------------------------------
# Fulcio certificates outside bundles (cosign classic `.sig` / `.att` layers)
# ---------------------------------------------------------------------------------------------------------------


def load_certificate_pem(pem: str | bytes, what: str) -> Certificate:
    """Exactly one PEM certificate. Raises BundleFailure(CERTIFICATE_INVALID)."""
    from cryptography import x509

    data = pem.encode() if isinstance(pem, str) else pem
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise BundleFailure(Code.CERTIFICATE_INVALID, f"{what} is not a PEM certificate: {e}") from None
    if len(certs) != 1:
        raise BundleFailure(Code.CERTIFICATE_INVALID, f"{what} must hold exactly one certificate",
                            expected="1", found=str(len(certs)))
    return certs[0]


def verify_fulcio_certificate(cert: Certificate, when: _dt.datetime, trust: TrustStore,
                              signer: str | None = None, *, sct_optional_without_ct_logs: bool = False) -> None:
    """The steps sigstore-python runs for a bundle's certificate, for a certificate verified at time ``when``
    (the Rekor integrated time from a verified SET): (1) chain to a Fulcio CA of the trusted root, valid at
    ``when`` (and that CA's ``validFor``), (2) embedded SCT by a trusted CT log, (3) digitalSignature +
    codeSigning, (4) ``when`` within the certificate's validity. Raises BundleFailure."""
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID
    from sigstore._internal.sct import verify_sct
    from sigstore._internal.timestamp import TimestampSource, TimestampVerificationResult
    from sigstore._internal.trust import KeyringPurpose
    from sigstore.errors import Error as SigstoreError

    root = sigstore_trusted_root(trust)
    verifier = _make_verifier(root)
    try:
        chain = verifier._verify_chain_at_time(
            cert, TimestampVerificationResult(source=TimestampSource.TRANSPARENCY_SERVICE, time=when)
        )
    except (SigstoreError, ValueError) as e:
        raise BundleFailure(Code.CERTIFICATE_INVALID,
                            f"the certificate does not chain to a Fulcio CA of the trusted root: {_first_line(e)}",
                            expected=f"a certificate issued by a CA in {trust.label}, valid at {when.isoformat()}",
                            signer=signer) from None
    try:
        if not (sct_optional_without_ct_logs and not root._inner.ctlogs):
            verify_sct(cert, chain, root.ct_keyring(KeyringPurpose.VERIFY))
    except (SigstoreError, ValueError) as e:
        raise BundleFailure(Code.CERTIFICATE_INVALID, f"the certificate's SCT is invalid: {_first_line(e)}",
                            signer=signer) from None
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound as e:
        raise BundleFailure(Code.CERTIFICATE_INVALID, f"the certificate lacks {e}", signer=signer) from None
    if not ku.digital_signature or ExtendedKeyUsageOID.CODE_SIGNING not in eku:
        raise BundleFailure(Code.CERTIFICATE_INVALID, "the certificate is not a code-signing certificate",
                            expected="KeyUsage digitalSignature + ExtendedKeyUsage codeSigning", signer=signer)
    if not (cert.not_valid_before_utc <= when <= cert.not_valid_after_utc):
        raise BundleFailure(
            Code.CERTIFICATE_INVALID,
            "the signing time lies outside the certificate's validity",
            expected=f"[{cert.not_valid_before_utc.isoformat()}, {cert.not_valid_after_utc.isoformat()}]",
            found=when.isoformat(),
            signer=signer,
        )


# ---------------------------------------------------------------------------------------------------------------
# v0.1 bundles with an inclusion promise and no inclusion proof (allowed by the bundle spec; sigstore-python
# refuses them). Same steps as a classic keyless signature: SET, then the certificate at the integrated time.
# ---------------------------------------------------------------------------------------------------------------

_V01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"


def _is_promise_only_v01(doc: Mapping[str, Any]) -> bool:
    vm = doc.get("verificationMaterial")
    if doc.get("mediaType") != _V01 or not isinstance(vm, dict):
        return False
    entries = vm.get("tlogEntries")
    if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
        return False
    return "inclusionPromise" in entries[0] and "inclusionProof" not in entries[0]


def _verify_promise_only_v01(
    doc: Mapping[str, Any], trust: TrustStore, *, artifact: bytes | None, artifact_digest: bytes | None,
    signer: str | None,
) -> VerifiedBundle:
    """Steps: (1) leaf certificate from x509CertificateChain, (2) SET by a trusted Rekor key valid at the
    integrated time (rekor.py), (3) the certificate at that time: chain, CA window, SCT, code signing, validity,
    (4) the signature (DSSE PAE or the artifact) with the certificate key, (5) the log body names exactly this
    signature, certificate and payload/artifact."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from sigverify.verifiers import rekor
    from sigverify.verifiers.attestation import pae as dsse_pae
    from sigverify.verifiers.fulcio import IdentityError, identity_of
    from sigverify.verifiers.keys import load_der_public_key, verify_signature

    def fail(code: str, message: str, **kw: Any) -> BundleFailure:
        return BundleFailure(code, message, signer=signer, **kw)

    def b64(value: Any, what: str) -> bytes:
        return _b64_field(value, what, signer)

    vm = doc["verificationMaterial"]
    chain = vm.get("x509CertificateChain")
    certs = chain.get("certificates") if isinstance(chain, dict) else None
    if not isinstance(certs, list) or not certs or not isinstance(certs[0], dict):
        raise fail(Code.CERTIFICATE_INVALID, "the bundle has no signing certificate",
                   expected="verificationMaterial.x509CertificateChain.certificates[0]")
    try:
        cert = x509.load_der_x509_certificate(b64(certs[0].get("rawBytes"), "certificate rawBytes"))
    except ValueError as e:
        raise fail(Code.CERTIFICATE_INVALID, f"the signing certificate does not parse: {e}") from None
    if (vm.get("timestampVerificationData") or {}).get("rfc3161Timestamps"):
        raise fail(Code.UNSUPPORTED_FORMAT, "RFC 3161 timestamps in a v0.1 bundle without inclusion proof")
    entry = vm["tlogEntries"][0]
    try:
        kind_version = entry["kindVersion"]
        kind, version = str(kind_version["kind"]), str(kind_version["version"])
        body_b64 = entry["canonicalizedBody"]
        rb = rekor.RekorBundle(
            signed_entry_timestamp=b64(entry["inclusionPromise"]["signedEntryTimestamp"], "signedEntryTimestamp"),
            body=body_b64,
            integrated_time=int(entry["integratedTime"]),
            log_index=int(entry["logIndex"]),
            log_id=b64(entry["logId"]["keyId"], "logId.keyId").hex(),
        )
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, BundleFailure):
            raise
        raise fail(Code.TLOG_INVALID, f"malformed transparency log entry: {e}") from None
    if rb.log_index < 0 or rb.integrated_time <= 0:
        raise fail(Code.TLOG_INVALID, "negative log index or integrated time in the log entry")
    try:
        rekor.verify_set(rb, trust.rekor_keys())
    except rekor.TlogError as e:
        raise fail(Code.TLOG_INVALID, f"transparency log: {e.message}", expected=e.expected, found=e.found) from None
    verify_fulcio_certificate(cert, rb.integrated_at, trust, signer=signer)
    try:
        identity = identity_of(cert)
    except IdentityError as e:
        raise fail(Code.CERTIFICATE_INVALID, f"unreadable certificate identity: {e}") from None
    cert_der = cert.public_bytes(serialization.Encoding.DER)
    key = load_der_public_key(
        cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        "certificate")
    body = b64(body_b64, "canonicalizedBody")
    env, msg = doc.get("dsseEnvelope"), doc.get("messageSignature")
    tlog = {"log_index": rb.log_index, "log_id": rb.log_id, "kind": f"{kind}/{version}",
            "integrated_time": rb.integrated_at.isoformat(), "inclusion": "promise only (v0.1)"}
    if isinstance(env, dict) and msg is None:
        payload_type = env.get("payloadType")
        sigs = env.get("signatures")
        if not isinstance(payload_type, str) or not isinstance(sigs, list) or len(sigs) != 1:
            raise fail(Code.INVALID_PAYLOAD, "a bundle's DSSE envelope needs a payloadType and exactly one signature")
        payload = b64(env.get("payload"), "dsseEnvelope.payload")
        sig = b64(sigs[0].get("sig") if isinstance(sigs[0], dict) else None, "DSSE signature")
        pae = dsse_pae(payload_type, payload)
        if verify_signature(key, sig, pae) is None:
            raise fail(Code.INVALID_SIGNATURE, "the DSSE signature does not verify with the certificate's key")
        check_dsse_log_body(kind, version, body, payload=payload, pae=pae, signature=sig, signer_der=cert_der)
        return VerifiedBundle(media_type=_V01, content="dsse", certificate=cert, identity=identity,
                              key_fingerprint=None, payload_type=payload_type, payload=payload,
                              signing_times=(rb.integrated_at,), tlog=tlog)
    if isinstance(msg, dict) and env is None:
        sig = b64(msg.get("signature"), "messageSignature.signature")
        digest = hashlib.sha256(artifact).digest() if artifact is not None else artifact_digest
        if digest is None:
            raise fail(Code.UNSUPPORTED_FORMAT, "a message-signature bundle signs a file, not this image")
        md = msg.get("messageDigest")
        if isinstance(md, dict) and b64(md.get("digest"), "messageDigest.digest") != digest:
            raise fail(Code.DIGEST_MISMATCH, "the bundle's message digest is not the artifact's",
                       expected=digest.hex())
        ok = (verify_signature(key, sig, artifact) is not None if artifact is not None
              else _verify_prehashed(key, sig, digest))
        if not ok:
            raise fail(Code.INVALID_SIGNATURE, "the signature does not verify over the artifact")
        check_hashedrekord_body(kind, version, body, digest=digest, signature=sig, signer_der=cert_der)
        return VerifiedBundle(media_type=_V01, content="message_signature", certificate=cert, identity=identity,
                              key_fingerprint=None, payload_type=None, payload=None,
                              signing_times=(rb.integrated_at,), tlog=tlog)
    raise fail(Code.INVALID_PAYLOAD, "the bundle needs exactly one of dsseEnvelope, messageSignature")


# ---------------------------------------------------------------------------------------------------------------
# Keyless bundles without a log entry, timestamped by a trusted TSA (opt-in: `tlog: ignore`). This is how
# Sigstore instances without a transparency log sign (GitHub's, for private-repository artifact attestations).
# ---------------------------------------------------------------------------------------------------------------

MAX_TIMESTAMPS = 32


def _verify_timestamped_only(
    doc: Mapping[str, Any], trust: TrustStore, *, artifact: bytes | None, artifact_digest: bytes | None
) -> VerifiedBundle:
    """Steps: (1) the leaf certificate, (2) the signature bytes, (3) every RFC 3161 timestamp over them verified
    with a TSA of the trusted root (at least one), (4) at each time: chain, CA window, SCT (when the trusted root
    has CT logs), code signing, validity, (5) the signature (DSSE PAE or the artifact) with the certificate key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from rfc3161_client import decode_timestamp_response

    from sigverify.verifiers.attestation import pae as dsse_pae
    from sigverify.verifiers.fulcio import IdentityError, identity_of
    from sigverify.verifiers.keys import load_der_public_key, verify_signature

    signer = _unverified_signer(doc)

    def fail(code: str, message: str, **kw: Any) -> BundleFailure:
        return BundleFailure(code, message, signer=signer, **kw)

    def b64(value: Any, what: str) -> bytes:
        return _b64_field(value, what, signer)

    if doc.get("mediaType") not in _KNOWN_MEDIA_TYPES:
        raise fail(Code.UNSUPPORTED_FORMAT, "unsupported Sigstore bundle version",
                   expected=" or ".join(_KNOWN_MEDIA_TYPES), found=repr(doc.get("mediaType")))
    vm = doc["verificationMaterial"]
    raw_cert = None
    if isinstance(vm.get("certificate"), dict):
        raw_cert = vm["certificate"].get("rawBytes")
    elif isinstance(vm.get("x509CertificateChain"), dict):
        certs = vm["x509CertificateChain"].get("certificates") or []
        raw_cert = certs[0].get("rawBytes") if certs and isinstance(certs[0], dict) else None
    if raw_cert is None:
        raise fail(Code.CERTIFICATE_INVALID, "the bundle has no signing certificate")
    try:
        cert = x509.load_der_x509_certificate(b64(raw_cert, "certificate rawBytes"))
    except ValueError as e:
        raise fail(Code.CERTIFICATE_INVALID, f"the signing certificate does not parse: {e}") from None
    env, msg = doc.get("dsseEnvelope"), doc.get("messageSignature")
    if isinstance(env, dict) and msg is None:
        payload_type = env.get("payloadType")
        sigs = env.get("signatures")
        if not isinstance(payload_type, str) or not isinstance(sigs, list) or len(sigs) != 1:
            raise fail(Code.INVALID_PAYLOAD, "a bundle's DSSE envelope needs a payloadType and exactly one signature")
        payload: bytes | None = b64(env.get("payload"), "dsseEnvelope.payload")
        signature = b64(sigs[0].get("sig") if isinstance(sigs[0], dict) else None, "DSSE signature")
    elif isinstance(msg, dict) and env is None:
        payload_type, payload = None, None
        signature = b64(msg.get("signature"), "messageSignature.signature")
    else:
        raise fail(Code.INVALID_PAYLOAD, "the bundle needs exactly one of dsseEnvelope, messageSignature")

    tsd = vm.get("timestampVerificationData")
    raw_ts = tsd.get("rfc3161Timestamps") if isinstance(tsd, dict) else None
    if not isinstance(raw_ts, list) or not raw_ts:
        raise fail(Code.TLOG_INVALID, "neither a transparency-log entry nor a signed timestamp: no trusted time",
                   expected="verificationMaterial.timestampVerificationData.rfc3161Timestamps")
    if len(raw_ts) > MAX_TIMESTAMPS:
        raise fail(Code.TLOG_INVALID, "too many signed timestamps", expected=f"<= {MAX_TIMESTAMPS}",
                   found=str(len(raw_ts)))
    tokens = [b64(t.get("signedTimestamp") if isinstance(t, dict) else None, "signedTimestamp") for t in raw_ts]
    if len(set(tokens)) != len(tokens):
        raise fail(Code.TLOG_INVALID, "duplicate signed timestamps")
    root = sigstore_trusted_root(trust)
    if not root.get_timestamp_authorities():
        raise fail(Code.TLOG_INVALID, "the bundle relies on signed timestamps, but the trusted root has no TSA",
                   expected=f"timestampAuthorities in {trust.label}")
    verifier = _make_verifier(root)
    times: list[_dt.datetime] = []
    for token in tokens:
        try:
            result = verifier._verify_signed_timestamp(decode_timestamp_response(token), signature)
        except ValueError as e:
            raise fail(Code.TLOG_INVALID, f"invalid signed timestamp: {e}") from None
        if result is not None:
            times.append(result.time)
    if not times:
        raise fail(Code.TLOG_INVALID, "no signed timestamp verifies with a TSA of the trusted root",
                   expected=f"a timestamp by a TSA in {trust.label}, valid at its time")
    for when in times:
        verify_fulcio_certificate(cert, when, trust, signer=signer, sct_optional_without_ct_logs=True)
    try:
        identity = identity_of(cert)
    except IdentityError as e:
        raise fail(Code.CERTIFICATE_INVALID, f"unreadable certificate identity: {e}") from None
    key = load_der_public_key(
        cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        "certificate")
    tlog = {"tlog": "none (signed timestamps only; tlog: ignore)"}
    if payload is not None:
        assert payload_type is not None
        pae = dsse_pae(payload_type, payload)
        if verify_signature(key, signature, pae) is None:
            raise fail(Code.INVALID_SIGNATURE, "the DSSE signature does not verify with the certificate's key")
        return VerifiedBundle(media_type=str(doc["mediaType"]), content="dsse", certificate=cert, identity=identity,
                              key_fingerprint=None, payload_type=payload_type, payload=payload,
                              signing_times=tuple(times), tlog=tlog)
    digest = hashlib.sha256(artifact).digest() if artifact is not None else artifact_digest
    if digest is None:
        raise fail(Code.UNSUPPORTED_FORMAT, "a message-signature bundle signs a file, not this image")
    md = msg.get("messageDigest") if isinstance(msg, dict) else None
    if isinstance(md, dict) and b64(md.get("digest"), "messageDigest.digest") != digest:
        raise fail(Code.DIGEST_MISMATCH, "the bundle's message digest is not the artifact's", expected=digest.hex())
    ok = (verify_signature(key, signature, artifact) is not None if artifact is not None
          else _verify_prehashed(key, signature, digest))
    if not ok:
        raise fail(Code.INVALID_SIGNATURE, "the signature does not verify over the artifact")
    return VerifiedBundle(media_type=str(doc["mediaType"]), content="message_signature", certificate=cert,
                          identity=identity, key_fingerprint=None, payload_type=None, payload=None,
                          signing_times=tuple(times), tlog=tlog)
