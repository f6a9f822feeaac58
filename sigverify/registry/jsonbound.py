"""The one bounded JSON reader for untrusted documents: size and nesting depth capped, duplicate keys refused."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_JSON_BYTES = 4 * 1024 * 1024
MAX_JSON_DEPTH = 64  # manifests, indexes and referrers replies nest 4 levels; annotations are flat maps

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


class JSONBoundError(ValueError):
    """A document that is not strict JSON within the bounds; the message says which rule it broke."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JSONBoundError(f"duplicate key {key[:80]!r}")
        out[key] = value
    return out


def _constant(name: str) -> Any:
    raise JSONBoundError(f"{name} is not JSON")


def depth_of(data: bytes, limit: int) -> int:
    """The nesting depth of ``data`` (brackets inside strings ignored), counting only up to ``limit + 1``."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return 0  # cannot be deeper than the number of openers: no scan needed
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', data)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        else:
            depth -= 1
    return deepest


def loads(data: bytes | str, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse untrusted JSON. Raises JSONBoundError (a ValueError) for: more than ``max_bytes``, nesting deeper
    than ``max_depth``, duplicate object keys, NaN/Infinity, invalid UTF-8 or invalid JSON. Never RecursionError."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise JSONBoundError(f"larger than {max_bytes} bytes ({len(raw)} bytes)")
    if depth_of(raw, max_depth) > max_depth:
        raise JSONBoundError(f"nested more than {max_depth} levels deep")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JSONBoundError(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except JSONBoundError:
        raise
    except RecursionError:  # the depth scan should have caught it; never let it escape
        raise JSONBoundError(f"nested more than {max_depth} levels deep") from None
    except ValueError as exc:
        raise JSONBoundError(str(exc)) from None
