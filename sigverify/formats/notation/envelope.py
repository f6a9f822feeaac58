"""The parsed content of a Notary Project envelope (JWS or COSE), its header rules and its signature check."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sigverify.errors import Failure
from sigverify.models import Code

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

MEDIA_TYPE_JWS = "application/jose+json"
MEDIA_TYPE_COSE = "application/cose"
PAYLOAD_CONTENT_TYPE = "application/vnd.cncf.notary.payload.v1+json"

SCHEME_X509 = "notary.x509"
SCHEME_SIGNING_AUTHORITY = "notary.x509.signingAuthority"
SCHEMES = (SCHEME_X509, SCHEME_SIGNING_AUTHORITY)

H_SIGNING_SCHEME = "io.cncf.notary.signingScheme"
H_SIGNING_TIME = "io.cncf.notary.signingTime"
H_AUTHENTIC_SIGNING_TIME = "io.cncf.notary.authenticSigningTime"
H_EXPIRY = "io.cncf.notary.expiry"
H_TIMESTAMP = "io.cncf.notary.timestampSignature"
H_SIGNING_AGENT = "io.cncf.notary.signingAgent"
PLUGIN_HEADERS = ("io.cncf.notary.verificationPlugin", "io.cncf.notary.verificationPluginMinVersion")

ALGORITHMS = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
_HASH_BITS = {"256": 256, "384": 384, "512": 512}


@dataclass(frozen=True)
class Envelope:
    """What the verifier needs from an envelope. Bytes are the stored bytes (never re-serialised)."""

    kind: str  # jws | cose
    alg: str
    signing_scheme: str
    signing_time: _dt.datetime
    expiry: _dt.datetime | None
    payload: bytes
    signature: bytes
    signing_input: bytes
    chain_der: tuple[bytes, ...]
    timestamp_token: bytes | None = None
    signing_agent: str | None = None
    critical: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


def check_headers(
    *,
    alg: str,
    cty: object,
    scheme: object,
    signing_time: _dt.datetime | None,
    authentic_time: _dt.datetime | None,
    expiry: _dt.datetime | None,
    crit: list[Any],
    present: set[str],
) -> _dt.datetime:
    """The specification's protected-header rules, shared by JWS and COSE; returns the signing time."""
    if alg not in ALGORITHMS:
        raise Failure(
            Code.UNSUPPORTED_FORMAT,
            "signature algorithm is not allowed by the Notary Project specification",
            expected=", ".join(ALGORITHMS),
            found=str(alg),
        )
    if cty != PAYLOAD_CONTENT_TYPE:
        raise Failure(
            Code.UNSUPPORTED_FORMAT, "unknown payload content type", expected=PAYLOAD_CONTENT_TYPE, found=repr(cty)
        )
    if scheme not in SCHEMES:
        raise Failure(
            Code.UNSUPPORTED_FORMAT, "unknown signing scheme", expected=" or ".join(SCHEMES), found=repr(scheme)
        )
    if scheme == SCHEME_X509:
        if authentic_time is not None:
            raise Failure(Code.INVALID_SIGNATURE, f"{H_AUTHENTIC_SIGNING_TIME} must not be present for {scheme}")
        if signing_time is None:
            raise Failure(Code.INVALID_SIGNATURE, f"{H_SIGNING_TIME} is missing")
        when = signing_time
    else:
        if signing_time is not None:
            raise Failure(Code.INVALID_SIGNATURE, f"{H_SIGNING_TIME} must not be present for {scheme}")
        if authentic_time is None:
            raise Failure(Code.INVALID_SIGNATURE, f"{H_AUTHENTIC_SIGNING_TIME} is missing for {scheme}")
        when = authentic_time
    if expiry is not None and expiry <= when:
        raise Failure(
            Code.INVALID_SIGNATURE,
            "expiry must be after the signing time",
            expected=f"> {when.isoformat()}",
            found=expiry.isoformat(),
        )
    if not crit:
        raise Failure(Code.INVALID_SIGNATURE, "the 'crit' protected header is missing or empty")
    must = {H_SIGNING_SCHEME}
    if expiry is not None:
        must.add(H_EXPIRY)
    if scheme == SCHEME_SIGNING_AUTHORITY:
        must.add(H_AUTHENTIC_SIGNING_TIME)
    understood = {H_SIGNING_SCHEME, H_EXPIRY, H_AUTHENTIC_SIGNING_TIME}
    for name in crit:
        if not isinstance(name, str) or name not in present:
            raise Failure(Code.INVALID_SIGNATURE, f"header {name!r} is marked critical but is not present")
        if name in PLUGIN_HEADERS:
            raise Failure(
                Code.UNSUPPORTED_FORMAT,
                f"the signature requires a notation verification plugin (critical header {name!r}); "
                "sigverify does not run plugins. Tip: verify it with notation and the plugin, or sign without one.",
            )
        if name not in understood:
            raise Failure(
                Code.UNSUPPORTED_FORMAT,
                f"critical header {name!r} is not understood, so the signature cannot be accepted",
                expected=", ".join(sorted(understood)),
                found=name,
            )
    missing = sorted(must - {c for c in crit if isinstance(c, str)})
    if missing:
        raise Failure(Code.INVALID_SIGNATURE, f"required headers are not marked critical: {', '.join(missing)}")
    return when


def verify_signature(env: Envelope, leaf: Certificate) -> None:
    """Check ``env.signature`` over ``env.signing_input`` with the leaf key; ``alg`` must match the key."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

    from sigverify.formats.notation.chain import expected_alg, subject

    want = expected_alg(leaf)
    if env.alg != want:
        raise Failure(
            Code.INVALID_SIGNATURE,
            f"the signature algorithm does not match the signing certificate's key ({subject(leaf)!r})",
            expected=want,
            found=env.alg,
        )
    bits = _HASH_BITS[env.alg[2:]]
    digest: hashes.HashAlgorithm = {256: hashes.SHA256(), 384: hashes.SHA384(), 512: hashes.SHA512()}[bits]
    key = leaf.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
            key.verify(env.signature, env.signing_input, pss, digest)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            size = (key.curve.key_size + 7) // 8
            if len(env.signature) != 2 * size:
                raise Failure(
                    Code.INVALID_SIGNATURE,
                    "ECDSA signature has the wrong length (expected raw r||s)",
                    expected=f"{2 * size} bytes",
                    found=f"{len(env.signature)} bytes",
                )
            r = int.from_bytes(env.signature[:size], "big")
            s = int.from_bytes(env.signature[size:], "big")
            key.verify(utils.encode_dss_signature(r, s), env.signing_input, ec.ECDSA(digest))
        else:  # pragma: no cover - expected_alg refuses other key types
            raise Failure(Code.INVALID_SIGNATURE, "unsupported key type")
    except InvalidSignature:
        raise Failure(
            Code.INVALID_SIGNATURE,
            f"the signature does not verify with the signing certificate's key ({subject(leaf)!r}): "
            "the envelope was altered or signed by another key",
        ) from None


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})\Z")


def parse_rfc3339(value: object, header: str) -> _dt.datetime:
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise Failure(Code.INVALID_SIGNATURE, f"{header} is not an RFC 3339 time", found=repr(value))
    head, sep, frac = value[:19], value[19:20], value[20:]
    if sep == ".":  # Go writes up to 9 fractional digits; Python keeps microseconds
        digits = re.match(r"\d+", frac)
        assert digits is not None
        value = f"{head}.{digits.group()[:6].ljust(6, '0')}{frac[digits.end() :]}"
    try:
        return _dt.datetime.fromisoformat(value)
    except ValueError:
        raise Failure(Code.INVALID_SIGNATURE, f"{header} is not a valid time", found=value) from None


def strict_json(data: bytes, what: str, code: str = Code.INVALID_SIGNATURE) -> Any:
    """Decode JSON with the one bounded strict reader (duplicate keys, NaN, invalid UTF-8, nesting deeper than
    64 levels and documents over 4 MiB refused: an ambiguous or hostile document is never accepted)."""
    from sigverify.crypto.strictjson import PayloadError, loads_strict

    try:
        return loads_strict(data, what=what)
    except PayloadError as e:
        raise Failure(code, f"{what} is not valid JSON: {e.message}") from None


@dataclass(frozen=True)
class TargetArtifact:
    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str]


_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+\Z")


def parse_payload(payload: bytes) -> TargetArtifact:
    """The signed payload ``{"targetArtifact": descriptor}``, strictly typed."""
    doc = strict_json(payload, "the signed payload", Code.INVALID_PAYLOAD)
    target = doc.get("targetArtifact") if isinstance(doc, dict) else None
    if not isinstance(target, dict):
        raise Failure(Code.INVALID_PAYLOAD, "the signed payload has no 'targetArtifact' object")
    media_type, digest, size = target.get("mediaType"), target.get("digest"), target.get("size")
    annotations = target.get("annotations", {})
    if not isinstance(media_type, str) or not media_type:
        raise Failure(Code.INVALID_PAYLOAD, "targetArtifact.mediaType is missing or not a string")
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise Failure(Code.INVALID_PAYLOAD, "targetArtifact.digest is missing or malformed", found=repr(digest))
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise Failure(Code.INVALID_PAYLOAD, "targetArtifact.size is missing or not a non-negative integer")
    if not isinstance(annotations, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
    ):
        raise Failure(Code.INVALID_PAYLOAD, "targetArtifact.annotations must map strings to strings")
    return TargetArtifact(media_type, digest, size, annotations)
