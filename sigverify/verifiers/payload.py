"""Strict JSON parsing for signed payloads (no duplicate keys, no NaN, strict UTF-8) and simple signing."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SIMPLE_SIGNING_TYPE = "cosign container image signature"
MAX_DEPTH = 64


class PayloadError(ValueError):
    """A payload that is not the strict JSON (or the simple-signing shape) we require."""

    def __init__(self, message: str, *, expected: str | None = None, found: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.found = found


def _reject_constant(name: str) -> Any:
    raise PayloadError(f"JSON constant {name} is not allowed", expected="finite numbers", found=name)


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise PayloadError(
                f"duplicate JSON key {key!r}: parsers disagree on which value wins, so it is refused",
                expected="each key at most once per object",
                found=f"{key!r} twice",
            )
        obj[key] = value
    return obj


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_strings(value: Any, depth: int = 0) -> None:
    """Reject lone UTF-16 surrogates (from \\u escapes) and absurd nesting, at any depth."""
    if depth > MAX_DEPTH:
        raise PayloadError(f"JSON nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        if _LONE_SURROGATE.search(value):
            raise PayloadError("JSON string holds an unpaired UTF-16 surrogate escape (not valid Unicode)")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_strings(k, depth + 1)
            _check_strings(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _check_strings(v, depth + 1)


def loads_strict(data: bytes | str, *, what: str = "payload") -> Any:
    """Parse JSON strictly: valid UTF-8 (no BOM), no duplicate keys at any depth, no NaN/Infinity,
    no unpaired surrogates, bounded depth. Raises ``PayloadError`` naming ``what``."""
    if isinstance(data, bytes):
        if data.startswith(b"\xef\xbb\xbf"):
            raise PayloadError(f"{what} starts with a UTF-8 byte-order mark", expected="plain UTF-8 JSON")
        try:
            text = data.decode("utf-8", errors="strict")
        except UnicodeDecodeError as e:
            raise PayloadError(f"{what} is not valid UTF-8 (byte {e.start})", expected="UTF-8 JSON") from None
    elif isinstance(data, str):
        text = data
    else:
        raise PayloadError(f"{what} is not text", expected="a JSON document", found=type(data).__name__)
    try:
        value = json.loads(text, object_pairs_hook=_pairs_hook, parse_constant=_reject_constant)
    except PayloadError as e:
        raise PayloadError(f"{what}: {e.message}", expected=e.expected, found=e.found) from None
    except RecursionError:
        raise PayloadError(f"{what}: JSON nested too deeply") from None
    except ValueError as e:  # json.JSONDecodeError
        raise PayloadError(f"{what} is not valid JSON: {e}", expected="a JSON document") from None
    try:
        _check_strings(value)
    except PayloadError as e:
        raise PayloadError(f"{what}: {e.message}") from None
    return value


def loads_object(data: bytes | str, *, what: str = "payload") -> dict[str, Any]:
    """``loads_strict`` that also requires a JSON object at the top level."""
    value = loads_strict(data, what=what)
    if not isinstance(value, dict):
        raise PayloadError(f"{what} is not a JSON object", expected="a JSON object", found=json_type(value))
    return value


def json_type(value: Any) -> str:
    """The JSON type name of a parsed value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def describe(value: Any) -> str:
    """A short JSON rendering of a value for messages (``"x"`` for strings, ``1657296609`` for numbers)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= 200 else text[:197] + "..."


# ------------------------------------------------------------------------------------------------------------
# Simple signing (cosign classic payload), FORMATS §1.4
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimpleSigning:
    """The fields of a cosign simple-signing payload that verification uses."""

    manifest_digest: str
    type: str
    docker_reference: str | None
    optional: Mapping[str, Any] = field(default_factory=dict)  # {} when the payload says null


def _exact_key(obj: Mapping[str, Any], name: str, where: str) -> Any:
    """Get ``name`` from ``obj``; refuse keys that equal ``name`` only case-insensitively.

    Go's encoding/json (cosign) matches struct fields case-insensitively, so ``{"Critical": ...}`` would be
    read by cosign but not by us: refusing such keys closes that parser differential.
    """
    for k in obj:
        if k != name and k.casefold() == name.casefold():
            raise PayloadError(
                f"{where}: key {k!r} differs from {name!r} only by case (ambiguous for Go-based verifiers)",
                expected=repr(name),
                found=repr(k),
            )
    return obj.get(name)


def _object(value: Any, where: str, *, required: bool = True) -> Mapping[str, Any] | None:
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        raise PayloadError(f"{where} must be a JSON object", expected="object", found=json_type(value))
    return value


def _string(value: Any, where: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{where} must be a JSON string", expected="string", found=json_type(value))
    return value


def parse_simple_signing(blob: bytes) -> SimpleSigning:
    """Parse the exact layer bytes as a simple-signing payload. Raises ``PayloadError``."""
    top = loads_object(blob, what="simple-signing payload")
    critical = _object(_exact_key(top, "critical", "payload"), "critical")
    assert critical is not None
    image = _object(_exact_key(critical, "image", "critical"), "critical.image")
    assert image is not None
    digest = _string(
        _exact_key(image, "docker-manifest-digest", "critical.image"), "critical.image.docker-manifest-digest"
    )
    assert digest is not None
    typ = _string(_exact_key(critical, "type", "critical"), "critical.type")
    assert typ is not None
    identity = _object(_exact_key(critical, "identity", "critical"), "critical.identity", required=False)
    ref = None
    if identity is not None:
        ref = _string(
            _exact_key(identity, "docker-reference", "critical.identity"),
            "critical.identity.docker-reference",
            required=False,
        )
    optional = _object(_exact_key(top, "optional", "payload"), "optional", required=False)
    return SimpleSigning(manifest_digest=digest, type=typ, docker_reference=ref, optional=dict(optional or {}))
