"""Redaction and control-character escaping applied to every value before any renderer sees it."""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

REDACTED = "REDACTED"

# scheme://[userinfo@]host/path[?query][#fragment]. A URL ends at whitespace, quotes, angle brackets, backticks
# or control characters (none of which a URL holds unencoded). Userinfo is greedy up to the last `@` before the
# path, so a password with a raw `@` is still covered.
_URL = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)"
    r"(?P<userinfo>[^/?#\s\"<>`\x00-\x1f\x7f-\x9f]*@)?"
    r"(?P<rest>[^?#\s\"<>`\x00-\x1f\x7f-\x9f]*)"
    r"(?P<query>\?[^#\s\"<>`\x00-\x1f\x7f-\x9f]*)?"
    r"(?P<fragment>#[^\s\"<>`\x00-\x1f\x7f-\x9f]*)?"
)
# A path-only request target with a query (``url: /v2/x/blobs/sha256:...?X-Amz-Signature=...`` in an error).
_PATH_QUERY = re.compile(r"(?P<path>(?<![\w/:.\-])/[^\s?#\"<>`\x00-\x1f\x7f-\x9f]*)\?[^#\s\"<>`\x00-\x1f\x7f-\x9f]*")


def _url_sub(m: re.Match[str]) -> str:
    out = m.group("scheme")
    if m.group("userinfo") is not None:
        out += f"{REDACTED}@"
    out += m.group("rest")
    if m.group("query") is not None:
        out += f"?{REDACTED}"
    if m.group("fragment") is not None:
        out += f"#{REDACTED}"
    return out


def redact_urls(text: str) -> str:
    """Every URL in ``text`` with its userinfo, query string and fragment replaced by ``REDACTED``.

    Not a list of parameter names: signed CDN URLs (``verify=``, ``X-Amz-Signature=``, ``sig=``...) and
    credentials in ``user:pass@host`` never reach an output, whatever they are called.
    """
    if "?" not in text and "@" not in text and "#" not in text:
        return text
    text = _URL.sub(_url_sub, text)
    return _PATH_QUERY.sub(lambda m: f"{m.group('path')}?{REDACTED}", text)


# C0 controls, DEL and C1 controls: never copied into a human-facing channel as they are.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    """``text`` on one line with every control character shown as an escape (``\\n``, ``\\x1b``, ``\\x9b``).

    A value rendered this way can never end a line, so it can never begin one: registry text cannot become
    ``::error``/``::add-mask::`` workflow commands, fake log sections or terminal escapes.
    """
    return CONTROL.sub(lambda m: _NAMED.get(m.group(), f"\\x{ord(m.group()):02x}"), text)


def plain(text: str) -> str:
    """Redacted and on one line: the value form shared by the text, JUnit, SARIF and annotation channels."""
    text = redact_urls(text)
    return one_line(text) if CONTROL.search(text) else text


_FIELDS: dict[type, tuple[str, ...]] = {}


_ATOMS = frozenset({type(None), bool, int, float, bytes})


def _walk(obj: Any, fn: Callable[[str], str]) -> Any:
    """``obj`` with ``fn`` applied to every string; parts where nothing changes are returned as they are."""
    kind = type(obj)  # the plain JSON-like types first, by exact type (the report holds thousands of them)
    if kind is str:
        new = fn(obj)
        return obj if new == obj else new
    if kind is dict:
        return {(fn(k) if type(k) is str else _walk(k, fn)): _walk(v, fn) for k, v in obj.items()}
    if kind is list:
        items = [_walk(x, fn) for x in obj]
        return obj if all(a is b for a, b in zip(items, obj, strict=True)) else items
    if kind in _ATOMS:
        return obj
    if isinstance(obj, str):
        if isinstance(obj, enum.Enum):
            return obj
        new = fn(obj)
        return obj if new == obj else new
    if obj is None or isinstance(obj, bool | int | float | bytes | enum.Enum):
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        names = _FIELDS.get(type(obj))
        if names is None:
            names = _FIELDS[type(obj)] = tuple(f.name for f in dataclasses.fields(obj) if f.init)
        changes = {}
        for name in names:
            old = getattr(obj, name)
            new = _walk(old, fn)
            if new is not old:
                changes[name] = new
        return dataclasses.replace(obj, **changes) if changes else obj
    if isinstance(obj, tuple | list):
        items = [_walk(x, fn) for x in obj]
        if all(a is b for a, b in zip(items, obj, strict=True)):
            return obj
        return tuple(items) if isinstance(obj, tuple) else items
    if isinstance(obj, Mapping):
        return {_walk(k, fn): _walk(v, fn) for k, v in obj.items()}
    return obj


def map_strings(obj: T, fn: Callable[[str], str]) -> T:
    """``obj`` (a RunResult, a dict from to_dict, ...) with ``fn`` applied to every string in it."""
    return _walk(obj, fn)  # type: ignore[no-any-return]


def redacted(obj: T) -> T:
    """Every string in ``obj`` with its URLs redacted (control characters kept: for JSON and markdown)."""
    return map_strings(obj, redact_urls)


def sanitized(obj: T) -> T:
    """Every string in ``obj`` redacted and on one line (see ``plain``)."""
    return map_strings(obj, plain)
