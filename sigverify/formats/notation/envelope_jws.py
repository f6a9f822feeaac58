"""Parse a Notary Project JWS envelope (flattened JSON serialization only) without trusting anything."""

from __future__ import annotations

import base64
import binascii
import re
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
    parse_rfc3339,
    strict_json,
)
from sigverify.models import Code

_B64URL = re.compile(r"[A-Za-z0-9_-]*\Z")
_TOP_KEYS = {"payload", "protected", "header", "signature"}
_KNOWN_PROTECTED = {"alg", "cty", "crit", H_SIGNING_SCHEME, H_SIGNING_TIME, H_AUTHENTIC_SIGNING_TIME, H_EXPIRY}


def _b64url(value: object, what: str) -> bytes:
    if not isinstance(value, str) or not _B64URL.match(value) or len(value) % 4 == 1:
        raise Failure(Code.INVALID_SIGNATURE, f"JWS {what} is not unpadded base64url")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _b64std(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise Failure(Code.INVALID_SIGNATURE, f"JWS {what} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Failure(Code.INVALID_SIGNATURE, f"JWS {what} is not valid base64") from None


def _unprotected(header: object) -> dict[str, Any]:
    """The unprotected header; names match case-insensitively as Go's encoding/json does for notation."""
    if not isinstance(header, dict):
        raise Failure(Code.INVALID_SIGNATURE, "JWS 'header' (unprotected header) is missing or not an object")
    folded: dict[str, Any] = {}
    for key, value in header.items():
        low = key.lower()
        if low in folded:
            raise Failure(Code.INVALID_SIGNATURE, f"JWS unprotected header repeats {key!r} (case-insensitively)")
        folded[low] = value
    return folded


def parse_jws(content: bytes) -> Envelope:
    """Parse and validate the structure and headers of a JWS envelope (the signature is checked later)."""
    doc = strict_json(content, "the JWS envelope")
    if not isinstance(doc, dict):
        raise Failure(Code.INVALID_SIGNATURE, "the JWS envelope is not a JSON object")
    if "signatures" in doc:
        raise Failure(
            Code.UNSUPPORTED_FORMAT,
            "JWS general JSON serialization ('signatures') is not allowed; Notary Project uses the flattened form",
        )
    extra = set(doc) - _TOP_KEYS
    missing = _TOP_KEYS - set(doc)
    if extra or missing:
        raise Failure(
            Code.INVALID_SIGNATURE,
            "the JWS envelope is not in flattened JSON serialization",
            expected="keys payload, protected, header, signature",
            found=f"missing {sorted(missing)}, unexpected {sorted(extra)}",
        )
    protected_b64, payload_b64 = doc["protected"], doc["payload"]
    protected_raw = _b64url(protected_b64, "protected header")
    payload = _b64url(payload_b64, "payload")
    signature = _b64url(doc["signature"], "signature")
    if not signature:
        raise Failure(Code.INVALID_SIGNATURE, "JWS signature is empty")
    if not payload:
        raise Failure(Code.INVALID_SIGNATURE, "JWS payload is empty")
    protected = strict_json(protected_raw, "the JWS protected header")
    if not isinstance(protected, dict):
        raise Failure(Code.INVALID_SIGNATURE, "the JWS protected header is not a JSON object")

    crit = protected.get("crit", [])
    if not isinstance(crit, list):
        raise Failure(Code.INVALID_SIGNATURE, "JWS 'crit' is not a list")
    signing_time = protected.get(H_SIGNING_TIME)
    authentic = protected.get(H_AUTHENTIC_SIGNING_TIME)
    expiry_raw = protected.get(H_EXPIRY)
    st = None if signing_time is None else parse_rfc3339(signing_time, H_SIGNING_TIME)
    at = None if authentic is None else parse_rfc3339(authentic, H_AUTHENTIC_SIGNING_TIME)
    expiry = None if expiry_raw is None else parse_rfc3339(expiry_raw, H_EXPIRY)
    alg = protected.get("alg")
    when = check_headers(
        alg=alg if isinstance(alg, str) else repr(alg),
        cty=protected.get("cty"),
        scheme=protected.get(H_SIGNING_SCHEME),
        signing_time=st,
        authentic_time=at,
        expiry=expiry,
        crit=crit,
        present=set(protected) - {"crit"},
    )

    header = _unprotected(doc["header"])
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not x5c:
        raise Failure(Code.INVALID_SIGNATURE, "JWS unprotected header has no certificate chain (x5c)")
    chain = tuple(_b64std(c, f"x5c[{i}]") for i, c in enumerate(x5c))
    token_raw = header.get(H_TIMESTAMP.lower())
    token = None if token_raw is None else _b64std(token_raw, H_TIMESTAMP)
    agent = header.get(H_SIGNING_AGENT.lower())
    return Envelope(
        kind="jws",
        alg=str(alg),
        signing_scheme=str(protected[H_SIGNING_SCHEME]),
        signing_time=when,
        expiry=expiry,
        payload=payload,
        signature=signature,
        signing_input=f"{protected_b64}.{payload_b64}".encode("ascii"),
        chain_der=chain,
        timestamp_token=token or None,
        signing_agent=agent if isinstance(agent, str) else None,
        critical=tuple(str(c) for c in crit),
        extra={k: v for k, v in protected.items() if k not in _KNOWN_PROTECTED},
    )
