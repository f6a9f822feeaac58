"""The ONLY package that touches sigstore-python internals (pinned in tests/crypto/test_sigstore_adapter_pins.py).

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
from typing import TYPE_CHECKING, Any

from sigverify.crypto.bundle.logbody import check_intoto_body, check_key_dsse_body, check_key_hashedrekord_body
from sigverify.crypto.bundle.model import (
    VerifiedBundle,
    classify_message,
    first_line,
    in_range,
    tlog_summary,
)
from sigverify.crypto.sigstore_adapter.anykey import (
    is_p256,
    upstream_message_path,
    verify_cert_dsse,
    verify_cert_message,
)
from sigverify.errors import Failure
from sigverify.models import Code

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

    from sigverify.crypto.keys import PublicKey
    from sigverify.crypto.trustroot import TrustStore


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
        raise Failure(
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
                if in_range(gen_time, ca.validity_period_start, ca.validity_period_end):
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
                    if vf is None or in_range(when, vf.start, vf.end):
                        return chain
            raise CertValidationError(
                f"no certificate authority of the trusted root was valid at the signing time {when.isoformat()}"
            )

        def verify_dsse(self, bundle: Any, policy: Any) -> tuple[str, bytes]:
            entry = bundle.log_entry._inner
            if not is_p256(bundle.signing_certificate.public_key()):  # upstream assumes P-256 + SHA-256
                self._verify_common_signing_cert(bundle, policy)
                return verify_cert_dsse(bundle, None)
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
            check_intoto_body(
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


def _load_bundle(raw: bytes, signer: str | None) -> Any:
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle

    try:
        return Bundle.from_json(raw)
    except (SigstoreError, ValueError) as e:
        raise Failure(Code.INVALID_PAYLOAD, f"invalid Sigstore bundle: {first_line(e)}", signer=signer) from None


def _hashed(artifact: bytes | None, artifact_digest: bytes | None) -> Any:
    from sigstore.hashes import Hashed
    from sigstore_models.common.v1 import HashAlgorithm

    if artifact is not None:
        return Hashed(algorithm=HashAlgorithm.SHA2_256, digest=hashlib.sha256(artifact).digest())
    if artifact_digest is not None:
        return Hashed(algorithm=HashAlgorithm.SHA2_256, digest=artifact_digest)
    return None


def verify_cert_bundle(
    raw: bytes, doc: Mapping[str, Any], trust: TrustStore, *, artifact: bytes | None, artifact_digest: bytes | None,
    signer: str | None, artifact_digests: Mapping[str, bytes] | None = None,
) -> VerifiedBundle:
    """Certificate (keyless) bundles with a log entry, through sigstore-python. The identity is read by the
    caller (fulcio.identity_of), not here."""
    from sigstore.errors import Error as SigstoreError

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
                raise Failure(
                    Code.UNSUPPORTED_FORMAT,
                    "a message-signature bundle signs a file, not this image",
                    expected="a DSSE (in-toto) bundle, as cosign v3 attaches to images",
                    found="messageSignature",
                    signer=signer,
                )
            if upstream_message_path(bundle, doc):
                verifier.verify_artifact(hashed, bundle, no_identity_policy)
            else:  # P-384/P-521 keys, RSA keys, SHA-384/512 digests: sigstore-python assumes P-256 + SHA-256
                verifier._verify_common_signing_cert(bundle, no_identity_policy)
                verify_cert_message(bundle, doc, artifact=artifact, artifact_digest=artifact_digest,
                                     artifact_digests=artifact_digests, signer=signer)
            content = "message_signature"
    except Failure:
        raise
    except (SigstoreError, ValueError) as e:
        msg = first_line(e)
        raise Failure(classify_message(msg), f"Sigstore bundle verification failed: {msg}", signer=signer) from None
    _check_tlog_key_validity(bundle, trust, signer)
    return VerifiedBundle(
        media_type=str(doc.get("mediaType")),
        content=content,
        certificate=bundle.signing_certificate,
        identity=None,
        key_fingerprint=None,
        payload_type=payload_type,
        payload=payload,
        signing_times=tuple(t.time for t in times),
        tlog=tlog_summary(bundle.log_entry._inner),
    )


class _IdentityMatchedByCaller:
    """sigstore-python VerificationPolicy that accepts any identity: sigverify matches it afterwards (fulcio.py)
    so a mismatch can report what the certificate carried. Unlike UnsafeNoOp it logs no warning."""

    def verify(self, cert: Certificate) -> None:
        return None


def _check_tlog_key_validity(bundle: Any, trust: TrustStore, signer: str | None) -> None:
    """The entry's ``logId`` names a log of the trusted root (sigstore-python treats it as a hint and tries every
    key, so an unknown ID would skip the check below), and that key was valid at the integrated time (``validFor``,
    inclusive)."""
    inner = bundle.log_entry._inner
    log_id = inner.log_id.key_id.hex()
    keys = trust.rekor_key(log_id)
    if not keys:
        raise Failure(
            Code.TLOG_INVALID,
            "the log entry's logId names no transparency log of the trusted root",
            expected="the key ID of a tlogs entry of the trusted root",
            found=log_id or "(empty)",
            signer=signer,
        )
    if not inner.integrated_time or not inner.inclusion_promise:
        return
    when = _dt.datetime.fromtimestamp(int(inner.integrated_time), tz=_dt.UTC)
    if not any(k.valid_at(when) for k in keys):
        raise Failure(
            Code.TLOG_INVALID,
            "the transparency log key was not valid at the entry's integrated time",
            expected=" or ".join(k.validity for k in keys),
            found=when.isoformat(),
            signer=signer,
        )


def verify_key_bundle(
    raw: bytes,
    doc: Mapping[str, Any],
    trust: TrustStore,
    key: PublicKey,
    *,
    artifact: bytes | None,
    artifact_digest: bytes | None,
    artifact_digests: Mapping[str, bytes] | None = None,
) -> VerifiedBundle:
    """Steps: (1) parse (sigstore-models), (2) one log entry with proof + checkpoint, (3) verified times (SET,
    TSA), (4) inclusion proof, checkpoint and SET via sigstore-python, (5) signature with ``key``,
    (6) log body consistency (signature, key, digest / payload hash)."""
    from sigstore._internal.trust import KeyringPurpose
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle, TransparencyLogEntry
    from sigstore_models.bundle.v1 import Bundle as InnerBundle

    from sigverify.crypto.keys import verify_signature

    signer = f"key {key.fingerprint}"
    try:
        inner = InnerBundle.from_json(raw)
        Bundle.BundleType(inner.media_type)
    except (ValueError, SigstoreError) as e:
        raise Failure(Code.INVALID_PAYLOAD, f"invalid Sigstore bundle: {first_line(e)}", signer=signer) from None
    # The publicKey hint is advisory (npm's registry key ids are not SPKI hashes): the signature decides.
    entries = inner.verification_material.tlog_entries or []
    if len(entries) != 1:
        raise Failure(Code.TLOG_INVALID, "expected exactly one transparency log entry in the bundle",
                            expected="1", found=str(len(entries)), signer=signer)
    trusted_root = sigstore_trusted_root(trust)
    verifier = _make_verifier(trusted_root)
    try:
        entry = TransparencyLogEntry(entries[0])
    except SigstoreError as e:
        raise Failure(Code.TLOG_INVALID, f"invalid log entry: {first_line(e)}", signer=signer) from None

    dsse_env = inner.dsse_envelope
    if dsse_env is not None:
        from sigstore import dsse

        envelope = dsse.Envelope(dsse_env)
        signature = envelope.signature
    elif inner.message_signature is not None:
        signature = inner.message_signature.signature
    else:
        raise Failure(Code.INVALID_PAYLOAD, "the bundle has neither a DSSE envelope nor a message signature")

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
            raise Failure(
                Code.TLOG_INVALID, f"invalid signed timestamp: {first_line(e)}", signer=signer
            ) from None
    ie = entry._inner
    if ie.integrated_time and ie.inclusion_promise:
        times.append(_dt.datetime.fromtimestamp(int(ie.integrated_time), tz=_dt.UTC))
    if not times:
        raise Failure(Code.TLOG_INVALID, "not enough sources of verified time (no SET, no trusted timestamp)",
                            signer=signer)
    # (4) log proofs
    try:
        entry._verify(trusted_root.rekor_keyring(KeyringPurpose.VERIFY))
    except (SigstoreError, ValueError) as e:
        raise Failure(Code.TLOG_INVALID, f"invalid log entry: {first_line(e)}", signer=signer) from None

    class _B:  # the shape _check_tlog_key_validity reads
        log_entry = entry

    _check_tlog_key_validity(_B, trust, signer)

    # (5) signature, (6) body
    kind, version = ie.kind_version.kind, ie.kind_version.version
    body = bytes(ie.canonicalized_body)
    if dsse_env is not None:
        pae = envelope.pae()
        if verify_signature(key, signature, pae) is None:
            raise Failure(Code.INVALID_SIGNATURE, "the DSSE signature does not verify with the key",
                                expected=f"signed by {key.label}", signer=signer)
        payload = envelope._inner.payload
        check_key_dsse_body(kind, version, body, payload=payload, pae=pae, signature=signature, key=key)
        return VerifiedBundle(
            media_type=inner.media_type, content="dsse", certificate=None, identity=None,
            key_fingerprint=key.fingerprint, payload_type=envelope._inner.payload_type, payload=payload,
            signing_times=tuple(times), tlog=tlog_summary(ie),
        )
    from sigverify.crypto.bundle.message import verify_message_signature

    msg = doc.get("messageSignature")
    verified = verify_message_signature(
        key, signature, msg.get("messageDigest") if isinstance(msg, dict) else None, artifact=artifact,
        artifact_digest=artifact_digest, artifact_digests=artifact_digests, signer=signer)
    check_key_hashedrekord_body(kind, version, body, digest=verified.digest, signature=signature, key=key,
                                algorithm=verified.algorithm)
    return VerifiedBundle(
        media_type=inner.media_type, content="message_signature", certificate=None, identity=None,
        key_fingerprint=key.fingerprint, payload_type=None, payload=None, signing_times=tuple(times),
        tlog=tlog_summary(ie),
    )


def chain_and_sct(cert: Certificate, when: _dt.datetime, trust: TrustStore, signer: str | None,
                  sct_optional_without_ct_logs: bool) -> None:
    """The certificate chains to a Fulcio CA of the trusted root valid at ``when`` (and that CA's ``validFor``),
    and carries an SCT by a trusted CT log (optional when the root has no CT logs and the caller allows it)."""
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
        raise Failure(Code.CERTIFICATE_INVALID,
                            f"the certificate does not chain to a Fulcio CA of the trusted root: {first_line(e)}",
                            expected=f"a certificate issued by a CA in {trust.label}, valid at {when.isoformat()}",
                            signer=signer) from None
    try:
        if not (sct_optional_without_ct_logs and not root._inner.ctlogs):
            verify_sct(cert, chain, root.ct_keyring(KeyringPurpose.VERIFY))
    except (SigstoreError, ValueError) as e:
        raise Failure(Code.CERTIFICATE_INVALID, f"the certificate's SCT is invalid: {first_line(e)}",
                            signer=signer) from None


def tsa_times(trust: TrustStore, tokens: list[bytes], signature: bytes, signer: str | None) -> list[_dt.datetime]:
    """The times of the RFC 3161 timestamps over ``signature`` that verify with a TSA of the trusted root."""
    from rfc3161_client import decode_timestamp_response

    root = sigstore_trusted_root(trust)
    if not root.get_timestamp_authorities():
        raise Failure(Code.TLOG_INVALID,
                            "the bundle relies on signed timestamps, but the trusted root has no TSA",
                            expected=f"timestampAuthorities in {trust.label}", signer=signer)
    verifier = _make_verifier(root)
    times: list[_dt.datetime] = []
    for token in tokens:
        try:
            result = verifier._verify_signed_timestamp(decode_timestamp_response(token), signature)
        except ValueError as e:
            raise Failure(Code.TLOG_INVALID, f"invalid signed timestamp: {e}", signer=signer) from None
        if result is not None:
            times.append(result.time)
    return times
