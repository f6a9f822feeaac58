"""What a bundle verification returns or raises, and the strict reading of bundle JSON fields."""

from __future__ import annotations

import base64
import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sigverify.errors import Failure
from sigverify.models import Code

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

    from sigverify.crypto.fulcio import CertIdentity


BUNDLE_MEDIA_PREFIX = "application/vnd.dev.sigstore.bundle"


MAX_BUNDLE_BYTES = 8 * 1024 * 1024


KNOWN_MEDIA_TYPES = (
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle.v0.3+json",
)


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


def in_range(t: _dt.datetime, start: _dt.datetime | None, end: _dt.datetime | None) -> bool:
    """Closed interval [start, end]; an absent bound is open."""
    return (start is None or start <= t) and (end is None or t <= end)


def classify_message(message: str) -> str:
    m = message.lower()
    if ("sct" in m or ("certificate" in m and "chain" in m) or "expired at time of signing" in m or "cert" in m
            or "usage" in m):  # "Extended usage does not contain `code signing`", "Key usage ..."
        return Code.CERTIFICATE_INVALID
    if "digest mismatch" in m:
        return Code.DIGEST_MISMATCH
    if any(w in m for w in ("log entry", "inclusion", "checkpoint", "set:", "transparency", "tlog", "rekor")):
        return Code.TLOG_INVALID
    if "verified time" in m or "timestamp" in m:
        return Code.TLOG_INVALID
    return Code.INVALID_SIGNATURE


def first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def unverified_signer(doc: Mapping[str, Any]) -> str | None:
    """Best-effort identity of a bundle's certificate for the report when verification failed."""
    from cryptography import x509

    from sigverify.crypto.fulcio import IdentityError, identity_of

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
    from sigverify.crypto.strictjson import PayloadError, loads_object

    if len(raw) > MAX_BUNDLE_BYTES:
        raise Failure(Code.SIZE_LIMIT, "the bundle is too large", expected=f"<= {MAX_BUNDLE_BYTES} bytes",
                            found=f"{len(raw)} bytes")
    try:
        doc = loads_object(raw, what="Sigstore bundle")
    except PayloadError as e:
        raise Failure(Code.INVALID_PAYLOAD, f"the Sigstore bundle is not valid JSON: {e.message}",
                            expected=e.expected, found=e.found) from None
    media_type = doc.get("mediaType")
    if not isinstance(media_type, str) or not media_type.startswith(BUNDLE_MEDIA_PREFIX):
        raise Failure(Code.UNSUPPORTED_FORMAT, "not a Sigstore bundle",
                            expected=f"mediaType {BUNDLE_MEDIA_PREFIX}…", found=repr(media_type))
    return doc


def b64_field(value: Any, what: str, signer: str | None) -> bytes:
    """Strict base64 of a bundle field; raises Failure(INVALID_PAYLOAD) naming ``what`` and the signer."""
    from sigverify.crypto.keys import b64decode_strict

    if not isinstance(value, str):
        raise Failure(Code.INVALID_PAYLOAD, f"{what} is not a base64 string", signer=signer)
    try:
        return b64decode_strict(value)
    except ValueError:
        raise Failure(Code.INVALID_PAYLOAD, f"{what} is not valid base64", signer=signer) from None


def tlog_summary(inner: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "log_index": int(inner.log_index),
        "log_id": inner.log_id.key_id.hex(),
        "kind": f"{inner.kind_version.kind}/{inner.kind_version.version}",
    }
    if inner.integrated_time:
        out["integrated_time"] = _dt.datetime.fromtimestamp(int(inner.integrated_time), tz=_dt.UTC).isoformat()
    return out
