"""Rekor offline proofs for cosign classic signatures: the bundle annotation, its SET, and the logged body.

docs/formats.md §2: the SET is an ECDSA signature by the Rekor key (selected by logID, valid at integratedTime)
over the RFC 8785 canonical JSON of ``{body, integratedTime, logID, logIndex}``; the body (hashedrekord or
rekord 0.0.1) must name this very signature, this very key and this very payload hash.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sigverify.crypto.strictjson import PayloadError, json_type, loads_object
from sigverify.errors import Failure
from sigverify.models import Code

if TYPE_CHECKING:
    from sigverify.crypto.trustroot import TlogKey

MAX_FUTURE_SKEW = _dt.timedelta(minutes=5)
_MAX_SAFE_INT = 2**53 - 1  # RFC 8785 numbers are IEEE doubles
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


class TlogError(Failure):
    """A transparency-log proof that is missing, malformed, unverifiable or bound to something else
    (a ``Failure`` with code TLOG_INVALID; callers say "transparency log: <message>")."""

    def __init__(
        self, message: str, *, expected: str | None = None, found: str | None = None, tip: str | None = None
    ) -> None:
        super().__init__(Code.TLOG_INVALID, message, expected, found, tip=tip)


@dataclass(frozen=True)
class RekorBundle:
    """The cosign ``dev.sigstore.cosign/bundle`` annotation (``cosign:pkg/cosign/bundle/rekor.go``)."""

    signed_entry_timestamp: bytes
    body: str  # base64 of the canonical entry JSON, exactly as stored
    integrated_time: int
    log_index: int
    log_id: str  # lowercase hex

    def set_payload(self) -> bytes:
        """The bytes the SET signs: RFC 8785 canonical JSON (keys sorted, no whitespace)."""
        p = {
            "body": self.body,
            "integratedTime": self.integrated_time,
            "logID": self.log_id,
            "logIndex": self.log_index,
        }
        return json.dumps(p, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()

    @property
    def integrated_at(self) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(self.integrated_time, _dt.UTC)


@dataclass(frozen=True)
class LogEntry:
    """The fields of a logged hashedrekord/rekord 0.0.1 body that bind it to a signature."""

    kind: str
    api_version: str
    hash_algorithm: str
    hash_value: str
    signature: bytes
    verifier_pem: bytes  # PEM public key or PEM certificate


@dataclass(frozen=True)
class TlogResult:
    log_index: int
    integrated_time: int
    log_id: str
    kind: str
    log_url: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "logIndex": self.log_index,
            "integratedTime": self.integrated_time,
            "integratedAt": _dt.datetime.fromtimestamp(self.integrated_time, _dt.UTC).isoformat(),
            "logID": self.log_id,
            "kind": self.kind,
            "log": self.log_url,
        }


def _b64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise TlogError(f"{what} must be a base64 string", expected="string", found=json_type(text))
    if len(text) % 4 != 0 or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text):
        raise TlogError(f"{what} is not valid standard base64", found=repr(text[:40]))
    return base64.b64decode(text, validate=True)


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_SAFE_INT:
        raise TlogError(f"{what} must be a non-negative integer", expected="integer", found=repr(value))
    return int(value)


def parse_cosign_bundle(text: str) -> RekorBundle:
    """Parse the bundle annotation strictly (duplicate keys refused). Raises ``TlogError``."""
    try:
        top = loads_object(text, what="Rekor bundle annotation")
    except PayloadError as e:
        raise TlogError(e.message, expected=e.expected, found=e.found) from None
    payload = top.get("Payload")
    if not isinstance(payload, dict):
        raise TlogError("Rekor bundle has no Payload object", expected="Payload: {...}", found=json_type(payload))
    log_id = payload.get("logID")
    if not isinstance(log_id, str) or not _HEX64.fullmatch(log_id):
        raise TlogError("Rekor bundle logID is not 64 lowercase hex characters", found=repr(log_id))
    body = payload.get("body")
    _b64(body, "Rekor bundle Payload.body")
    assert isinstance(body, str)
    return RekorBundle(
        signed_entry_timestamp=_b64(top.get("SignedEntryTimestamp"), "Rekor bundle SignedEntryTimestamp"),
        body=body,
        integrated_time=_int(payload.get("integratedTime"), "Rekor bundle integratedTime"),
        log_index=_int(payload.get("logIndex"), "Rekor bundle logIndex"),
        log_id=log_id,
    )


def verify_set(bundle: RekorBundle, keys: Sequence[TlogKey], *, now: _dt.datetime | None = None) -> TlogKey:
    """Verify the SignedEntryTimestamp with the trusted Rekor key whose logID matches and that was valid at
    integratedTime. Returns that key; raises ``TlogError``."""
    from sigverify.crypto.keys import verify_log_signature
    from sigverify.crypto.trustroot import tlog_key_summary

    matching = [k for k in keys if k.log_id == bundle.log_id]
    if not matching:
        raise TlogError(
            "the Rekor bundle was issued by a log that is not in the trusted root",
            expected=f"logID of a trusted log: {tlog_key_summary(list(keys))}",
            found=bundle.log_id,
            tip="Use the trusted root of the Rekor instance that logged the signature (policy `trust_root`).",
        )
    message = bundle.set_payload()
    verified = [k for k in matching if verify_log_signature(k.public_key, bundle.signed_entry_timestamp, message)]
    if not verified:
        raise TlogError(
            "the Rekor SignedEntryTimestamp does not verify with the trusted log key",
            expected=f"a SET signed by log {bundle.log_id[:16]}…",
            found="a SET made by another key, or over other entry data (body, integratedTime, logIndex)",
        )
    when = bundle.integrated_at
    in_window = [k for k in verified if k.valid_at(when)]
    if not in_window:
        k = verified[0]
        raise TlogError(
            "the Rekor entry's integratedTime is outside the validity of the log key that signed it",
            expected=f"integratedTime within {k.validity}",
            found=when.isoformat(),
        )
    if now is not None and when > now + MAX_FUTURE_SKEW:
        raise TlogError(
            "the Rekor entry's integratedTime is in the future",
            expected=f"<= {now.isoformat()}",
            found=when.isoformat(),
            tip="Check the clock of this machine.",
        )
    return in_window[0]


def _get(obj: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(p)
    return obj


def parse_body(body_b64: str) -> LogEntry:
    """Decode a hashedrekord 0.0.1 or rekord 0.0.1 entry body. Raises ``TlogError`` for other kinds."""
    raw = _b64(body_b64, "Rekor entry body")
    try:
        body = loads_object(raw, what="Rekor entry body")
    except PayloadError as e:
        raise TlogError(e.message, expected=e.expected, found=e.found) from None
    kind, version = body.get("kind"), body.get("apiVersion")
    if (kind, version) not in (("hashedrekord", "0.0.1"), ("rekord", "0.0.1")):
        raise TlogError(
            "unsupported Rekor entry kind for a cosign signature",
            expected="hashedrekord 0.0.1 or rekord 0.0.1",
            found=f"{kind} {version}",
        )
    spec = body.get("spec")
    algorithm = _get(spec, "data", "hash", "algorithm")
    value = _get(spec, "data", "hash", "value")
    if not isinstance(algorithm, str) or not isinstance(value, str):
        raise TlogError(f"the {kind} entry has no data.hash", expected="spec.data.hash {algorithm, value}")
    if kind == "rekord" and _get(spec, "signature", "format") != "x509":
        raise TlogError(
            "the rekord entry is not an x509 signature",
            expected="x509",
            found=repr(_get(spec, "signature", "format")),
        )
    signature = _b64(_get(spec, "signature", "content"), f"{kind} spec.signature.content")
    verifier = _b64(_get(spec, "signature", "publicKey", "content"), f"{kind} spec.signature.publicKey.content")
    return LogEntry(
        kind=str(kind),
        api_version=str(version),
        hash_algorithm=algorithm,
        hash_value=value.lower(),
        signature=signature,
        verifier_pem=verifier,
    )


def _verifier_spki(pem: bytes) -> tuple[bytes, str]:
    """The SPKI DER named by a body's PEM public key or PEM certificate, and which of the two it was."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    text = pem.strip()
    try:
        if text.startswith(b"-----BEGIN CERTIFICATE-----"):
            cert = x509.load_pem_x509_certificate(text)
            der = cert.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            kind = "certificate"
        else:
            der = serialization.load_pem_public_key(text).public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            kind = "public key"
    except Exception as e:
        raise TlogError(f"the Rekor entry's verifier is not a PEM key or certificate: {e}") from None
    return der, kind


def check_binding(entry: LogEntry, *, signature: bytes, key_der: bytes, payload: bytes) -> None:
    """The logged entry must be about this signature, made by this key, over this payload."""
    from sigverify.crypto.keys import fingerprint_der

    if entry.signature != signature:
        raise TlogError(
            "the Rekor entry is for another signature",
            expected=f"this layer's signature {base64.b64encode(signature)[:24].decode()}…",
            found=f"logged signature {base64.b64encode(entry.signature)[:24].decode()}…",
            tip="The bundle annotation was copied from another signature; re-sign with tlog upload.",
        )
    der, kind = _verifier_spki(entry.verifier_pem)
    if der != key_der:
        raise TlogError(
            f"the Rekor entry was logged with another {kind}",
            expected=f"key {fingerprint_der(key_der)}",
            found=f"key {fingerprint_der(der)}",
        )
    h = _HASHES.get(entry.hash_algorithm.lower())
    if h is None:
        raise TlogError("unsupported hash algorithm in the Rekor entry", expected="sha256", found=entry.hash_algorithm)
    digest = h(payload).hexdigest()
    if entry.hash_value != digest:
        raise TlogError(
            "the Rekor entry is for another payload",
            expected=f"{entry.hash_algorithm}:{digest}",
            found=f"{entry.hash_algorithm}:{entry.hash_value}",
        )


def verify_cosign_bundle(
    text: str,
    *,
    signature: bytes,
    key_der: bytes,
    payload: bytes,
    keys: Sequence[TlogKey],
    now: _dt.datetime | None = None,
) -> TlogResult:
    """Every tlog check for one cosign classic signature. Raises ``TlogError``."""
    bundle = parse_cosign_bundle(text)
    log_key = verify_set(bundle, keys, now=now)
    entry = parse_body(bundle.body)
    check_binding(entry, signature=signature, key_der=key_der, payload=payload)
    return TlogResult(
        log_index=bundle.log_index,
        integrated_time=bundle.integrated_time,
        log_id=bundle.log_id,
        kind=f"{entry.kind} {entry.api_version}",
        log_url=log_key.base_url,
    )
