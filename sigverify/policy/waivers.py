"""Waivers in the config: time-boxed exceptions, checked when loaded (expiry bound, known codes) against one clock."""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from sigverify.models import Code
from sigverify.policy.model import Config, Location, Matcher, Waiver
from sigverify.policy.yamlstrict import KeyPath

DEFAULT_MAX_WAIVER_DAYS = 90
# Codes no waiver can cover: a bug, a decision that is not a failure, and the waiver machinery itself.
NEVER_WAIVED = frozenset({
    Code.INTERNAL_ERROR, Code.DEFAULT_ALLOW, Code.WAIVED, Code.WAIVER_EXPIRED,
    Code.SHARD_MISSING, Code.SHARD_DUPLICATE, Code.SHARD_MISMATCH,
})
WAIVABLE = tuple(sorted(c.value for c in Code if c not in NEVER_WAIVED))
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _system_clock() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


_clock: Callable[[], datetime.datetime] = _system_clock


def now() -> datetime.datetime:
    """The current time in UTC, from the one clock every waiver decision reads."""
    return _clock().astimezone(datetime.UTC)


def today() -> datetime.date:
    """Today's date in UTC."""
    return now().date()


@contextmanager
def pinned_clock(at: datetime.datetime) -> Iterator[None]:
    """Run with the clock fixed at ``at`` (an aware datetime): how tests move "now" without sleeping."""
    global _clock
    before = _clock
    _clock = lambda: at  # noqa: E731
    try:
        yield
    finally:
        _clock = before


def is_expired(waiver: Waiver, at: datetime.datetime | None = None) -> bool:
    """A waiver covers failures through the whole UTC day it names in ``expires``, not after."""
    return (at or now()).astimezone(datetime.UTC).date() > waiver.expires


class _Builder(Protocol):
    def err(self, path: KeyPath, message: str, *, key: bool = False, expected: str | None = None,
            found: str | None = None) -> None: ...

    def loc(self, path: KeyPath) -> Location: ...

    def matchers(self, path: KeyPath, value: object) -> tuple[Matcher, ...] | None: ...


def max_waiver_days(value: object) -> int:
    """``max_waiver_days`` (the schema checks its type and bounds)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return DEFAULT_MAX_WAIVER_DAYS


def build_waivers(b: _Builder, value: object, max_days: int) -> tuple[Waiver, ...]:
    """Every ``waivers:`` entry, typed; a problem is reported at its line and the entry is left out."""
    if not isinstance(value, list):
        return ()
    out: list[Waiver] = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            waiver = _waiver(b, ("waivers", i), item, max_days)
            if waiver is not None:
                out.append(waiver)
    return tuple(out)


def _waiver(b: _Builder, path: KeyPath, item: dict[str, Any], max_days: int) -> Waiver | None:
    images = b.matchers((*path, "images"), item.get("images"))
    reason, codes = item.get("reason"), item.get("codes")
    expires = _expires(b, (*path, "expires"), item.get("expires"), max_days)
    ok_codes = _codes(b, (*path, "codes"), codes)
    if images is None or not isinstance(reason, str) or not reason.strip() or expires is None or ok_codes is None:
        return None
    return Waiver(images=images, reason=reason.strip(), expires=expires, codes=ok_codes, location=b.loc(path))


def _expires(b: _Builder, path: KeyPath, value: object, max_days: int) -> datetime.date | None:
    if not isinstance(value, str):
        return None  # the schema reports a missing or mistyped expiry
    try:
        if not _DATE.fullmatch(value):
            raise ValueError
        date = datetime.date.fromisoformat(value)
    except ValueError:
        b.err(path, f"waiver expiry {value!r} is not a date", expected='a quoted UTC date, e.g. "2026-12-31"',
              found=value)
        return None
    ahead = (date - today()).days
    if ahead > max_days:
        b.err(path, f"waiver expires {value}, {ahead} days after today ({today().isoformat()} UTC): a waiver is "
              f"time-boxed to at most {max_days} days", expected=f"an expiry on or before "
              f"{(today() + datetime.timedelta(days=max_days)).isoformat()} (or a larger top-level max_waiver_days)",
              found=value)
        return None
    return date


def _codes(b: _Builder, path: KeyPath, value: object) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not value:
        return None  # the schema reports it
    ok = True
    for i, code in enumerate(value):
        if not isinstance(code, str):
            ok = False
        elif code in NEVER_WAIVED:
            b.err((*path, i), f"{code} can never be waived", expected="one of " + ", ".join(WAIVABLE), found=code)
            ok = False
        elif code not in WAIVABLE:
            b.err((*path, i), f"unknown reason code {code!r}", expected="one of " + ", ".join(WAIVABLE), found=code)
            ok = False
    return tuple(dict.fromkeys(str(c) for c in value)) if ok else None


def lint_waivers(config: Config) -> list[tuple[str, Waiver, str, str]]:
    """(code, waiver, message, fix) for every waiver that is stale: expired, or matching none of the images the
    config lists (only said when the config lists them all itself: no ``images_from``)."""
    from sigverify.errors import SigverifyError
    from sigverify.reference import parse

    out: list[tuple[str, Waiver, str, str]] = []
    names: list[str] = []
    for entry in config.images:
        base = os.path.dirname(entry.location.file) if entry.location is not None else None
        try:
            names.append(parse(entry.ref, base_dir=base).name)
        except SigverifyError:
            continue  # verify reports the reference itself
    for w in config.waivers:
        if is_expired(w):
            out.append(("WAIVER_EXPIRED", w, f"waiver expired on {w.expires.isoformat()} (UTC): it covers nothing, "
                        "and the failures it covered fail again, naming it", "fix the failure and remove the waiver"))
        if config.images and not config.images_from and not any(w.matches(n) for n in names):
            out.append(("WAIVER_UNUSED", w, "waiver matches none of the images listed in the config",
                        "fix its images patterns, or remove it"))
    return out
