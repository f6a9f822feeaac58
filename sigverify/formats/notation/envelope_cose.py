"""Parse a Notary Project COSE_Sign1 envelope (tagged) with cbor2, strictly, without trusting anything."""

from __future__ import annotations

import datetime as _dt
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sigverify.errors import Failure
from sigverify.formats.notation.envelope import (
    H_AUTHENTIC_SIGNING_TIME,
    H_EXPIRY,
    H_SIGNING_AGENT,
    H_SIGNING_SCHEME,
    H_SIGNING_TIME,
    H_TIMESTAMP,
    Envelope,
    check_headers,
)
from sigverify.models import Code

COSE_SIGN1_TAG = 18
_ALGS = {-37: "PS256", -38: "PS384", -39: "PS512", -7: "ES256", -35: "ES384", -36: "ES512"}
_LABEL_ALG, _LABEL_CRIT, _LABEL_CTY, _LABEL_X5CHAIN = 1, 2, 3, 33
_KNOWN_PROTECTED = {
    _LABEL_ALG,
    _LABEL_CRIT,
    _LABEL_CTY,
    H_SIGNING_SCHEME,
    H_SIGNING_TIME,
    H_AUTHENTIC_SIGNING_TIME,
    H_EXPIRY,
}


@dataclass(frozen=True)
class _Epoch:
    """A CBOR tag 1 (epoch time) value, kept raw so we can insist on an integer."""

    value: object


def _refuse(tag: int) -> Callable[[Any, bool], Any]:
    def decode(value: Any, immutable: bool) -> Any:
        raise ValueError(f"CBOR tag {tag} is not allowed in a Notary Project envelope")

    return decode


# Semantic tags cbor2 would otherwise turn into Python objects (dates, regexps, MIME, shared references...).
_REFUSED_TAGS = (
    0,
    2,
    3,
    4,
    5,
    21,
    22,
    23,
    24,
    25,
    28,
    29,
    30,
    32,
    33,
    34,
    35,
    36,
    37,
    52,
    54,
    100,
    256,
    258,
    260,
    261,
    262,
    263,
    270,
    1004,
    55799,
)


def _loads(data: bytes, what: str) -> Any:
    import cbor2

    decoders: dict[int, Any] = {t: _refuse(t) for t in _REFUSED_TAGS}
    decoders[1] = lambda value, immutable: _Epoch(value)

    def unknown_tag(tag: Any, immutable: bool) -> Any:
        if tag.tag == COSE_SIGN1_TAG:
            return tag
        raise ValueError(f"CBOR tag {tag.tag} is not allowed here")

    stream = io.BytesIO(data)
    try:
        decoder = cbor2.CBORDecoder(
            stream,
            tag_hook=unknown_tag,
            semantic_decoders=decoders,
            max_depth=16,
            allow_indefinite=False,
            allow_duplicate_keys=False,
        )
        value = decoder.decode()
    except (cbor2.CBORDecodeError, ValueError, TypeError, EOFError) as e:
        raise Failure(Code.INVALID_SIGNATURE, f"{what} is not valid CBOR: {e}") from None
    if stream.tell() != len(data):
        raise Failure(Code.INVALID_SIGNATURE, f"{what} has trailing bytes after the CBOR item")
    return value


def _time(value: object, header: str) -> _dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, _Epoch) or not isinstance(value.value, int) or isinstance(value.value, bool):
        raise Failure(Code.INVALID_SIGNATURE, f"COSE header {header} must be an epoch time (CBOR tag 1, integer)")
    try:
        return _dt.datetime.fromtimestamp(value.value, _dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise Failure(Code.INVALID_SIGNATURE, f"COSE header {header} is out of range") from None


def parse_cose(content: bytes) -> Envelope:
    """Parse and validate a COSE_Sign1_Tagged envelope (the signature is checked later)."""
    import cbor2

    top = _loads(content, "the COSE envelope")
    if not isinstance(top, cbor2.CBORTag) or top.tag != COSE_SIGN1_TAG:
        raise Failure(Code.INVALID_SIGNATURE, "the COSE envelope is not a tagged COSE_Sign1 (CBOR tag 18)")
    msg = top.value
    if not isinstance(msg, list | tuple) or len(msg) != 4:
        raise Failure(Code.INVALID_SIGNATURE, "COSE_Sign1 must be an array of 4 items")
    protected_raw, unprotected, payload, signature = msg
    if not isinstance(protected_raw, bytes) or not protected_raw:
        raise Failure(Code.INVALID_SIGNATURE, "COSE protected header must be a non-empty byte string")
    if not isinstance(unprotected, Mapping):
        raise Failure(Code.INVALID_SIGNATURE, "COSE unprotected header must be a map")
    if not isinstance(payload, bytes) or not payload:
        raise Failure(Code.INVALID_SIGNATURE, "COSE payload must be an embedded, non-empty byte string")
    if not isinstance(signature, bytes) or not signature:
        raise Failure(Code.INVALID_SIGNATURE, "COSE signature must be a non-empty byte string")
    protected = _loads(protected_raw, "the COSE protected header")
    if not isinstance(protected, Mapping):
        raise Failure(Code.INVALID_SIGNATURE, "COSE protected header is not a map")
    both = set(protected) & set(unprotected)
    if both:
        raise Failure(Code.INVALID_SIGNATURE, f"COSE header labels in both buckets: {sorted(map(str, both))}")

    alg_label = protected.get(_LABEL_ALG)
    alg = _ALGS.get(alg_label, repr(alg_label)) if isinstance(alg_label, int) else repr(alg_label)
    crit = protected.get(_LABEL_CRIT, [])
    if not isinstance(crit, list | tuple):
        raise Failure(Code.INVALID_SIGNATURE, "COSE 'crit' (label 2) is not an array")
    scheme = protected.get(H_SIGNING_SCHEME)
    expiry = _time(protected.get(H_EXPIRY), H_EXPIRY)
    when = check_headers(
        alg=alg,
        cty=protected.get(_LABEL_CTY),
        scheme=scheme,
        signing_time=_time(protected.get(H_SIGNING_TIME), H_SIGNING_TIME),
        authentic_time=_time(protected.get(H_AUTHENTIC_SIGNING_TIME), H_AUTHENTIC_SIGNING_TIME),
        expiry=expiry,
        crit=list(crit),
        present={k for k in protected if isinstance(k, str)},
    )

    chain = unprotected.get(_LABEL_X5CHAIN)
    if not isinstance(chain, list | tuple) or not chain or not all(isinstance(c, bytes) for c in chain):
        raise Failure(Code.INVALID_SIGNATURE, "COSE x5chain (label 33) must be a non-empty array of certificates")
    token = unprotected.get(H_TIMESTAMP)
    if token is not None and not isinstance(token, bytes):
        raise Failure(Code.INVALID_SIGNATURE, f"COSE {H_TIMESTAMP} must be a byte string")
    agent = unprotected.get(H_SIGNING_AGENT)
    sig_structure = cbor2.dumps(["Signature1", protected_raw, b"", payload])
    return Envelope(
        kind="cose",
        alg=alg,
        signing_scheme=str(scheme),
        signing_time=when,
        expiry=expiry,
        payload=payload,
        signature=signature,
        signing_input=sig_structure,
        chain_der=tuple(chain),
        timestamp_token=token or None,
        signing_agent=agent if isinstance(agent, str) else None,
        critical=tuple(str(c) for c in crit),
        extra={str(k): v for k, v in protected.items() if k not in _KNOWN_PROTECTED},
    )
