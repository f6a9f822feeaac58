"""Strict JSON parsing for signed payloads: no duplicate keys, no NaN, strict UTF-8, bounded depth."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

MAX_DEPTH = 64
MAX_BYTES = 4 * 1024 * 1024  # the registry's per-document cap; signed JSON documents are a few KiB

# A string, or an unterminated one to the end: the optional closing quote means a match never backtracks, so
# the scan is linear (a required quote makes ``"\"\"\"...`` quadratic: every quote starts a failed scan to the end).
_STRING = re.compile(rb'"(?:[^"\\]+|\\.)*"?', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 / -1 as signed bytes


class PayloadError(ValueError):
    """A payload that is not the strict JSON (or the shape of a signed document) we require."""

    def __init__(self, message: str, *, expected: str | None = None, found: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.found = found


def _reject_constant(name: str) -> Any:
    raise PayloadError(f"JSON constant {name} is not allowed", expected="finite numbers", found=name)


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise PayloadError(f"JSON number {text[:40]} is out of range", expected="a finite number", found=text[:40])
    return value


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
# A surrogate reaches a parsed value only from a \uD800-\uDFFF escape or, in text given as str, as itself.
_MAY_HOLD_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")


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


def depth_of(data: bytes, limit: int) -> int:
    """The nesting depth of JSON ``data`` (brackets inside strings ignored; 0 when it cannot exceed ``limit``),
    measured in linear time before parsing, so no parser ever recurses on hostile nesting."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return 0  # cannot be deeper than the number of openers: no scan needed
    steps = _STRING.sub(b'""', data).translate(None, _NOT_BRACKET).translate(_STEP)
    return max(0, max(itertools.accumulate(memoryview(steps).cast("b")), default=0))


def loads_strict(data: bytes | str, *, what: str = "payload", max_bytes: int = MAX_BYTES) -> Any:
    """Parse JSON strictly: valid UTF-8 (no BOM), no duplicate keys at any depth, no NaN/Infinity,
    no unpaired surrogates, at most ``max_bytes`` and MAX_DEPTH levels (checked before parsing), integers of at
    most 4300 digits. Raises ``PayloadError`` naming ``what``; never RecursionError."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if isinstance(raw, bytes):
        if len(raw) > max_bytes:
            raise PayloadError(f"{what} is larger than {max_bytes} bytes", expected=f"at most {max_bytes} bytes",
                               found=f"{len(raw)} bytes")
        if depth_of(raw, MAX_DEPTH) > MAX_DEPTH:
            raise PayloadError(f"{what}: JSON nested deeper than {MAX_DEPTH} levels",
                               expected=f"at most {MAX_DEPTH} levels", found=f"more than {MAX_DEPTH}")
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
        value = json.loads(text, object_pairs_hook=_pairs_hook, parse_constant=_reject_constant, parse_float=_finite)
    except PayloadError as e:
        raise PayloadError(f"{what}: {e.message}", expected=e.expected, found=e.found) from None
    except RecursionError:
        raise PayloadError(f"{what}: JSON nested too deeply") from None
    except ValueError as e:  # json.JSONDecodeError
        raise PayloadError(f"{what} is not valid JSON: {e}", expected="a JSON document") from None
    if _MAY_HOLD_SURROGATE.search(text):  # else no string can hold one: the walk would find nothing
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
