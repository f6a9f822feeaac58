"""Waivers applied to a verdict: a failure every reason of which an unexpired waiver covers is ``waived`` (never
``pass``); one an expired waiver would have covered fails and names that waiver."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import replace

from sigverify.models import Code, ImageResult, Reason, Verdict
from sigverify.policy.model import Waiver
from sigverify.policy.waivers import NEVER_WAIVED, is_expired, now

_WAIVABLE_VERDICTS = (Verdict.FAIL, Verdict.WARN, Verdict.ERROR)


def _failures(result: ImageResult) -> list[Reason]:
    seen: dict[tuple[str, str], Reason] = {}
    for r in (*result.reasons, *(r for p in result.policies if not p.passed for r in p.reasons)):
        seen.setdefault((r.code, r.message), r)
    return list(seen.values())


def apply_waivers(result: ImageResult, image_name: str, waivers: Sequence[Waiver],
                  at: datetime.datetime | None = None) -> ImageResult:
    """``result`` with the config's waivers applied (unchanged when none matches the image or it did not fail)."""
    if result.verdict not in _WAIVABLE_VERDICTS:
        return result
    matching = [w for w in waivers if w.matches(image_name)]
    if not matching:
        return result
    when = at or now()
    active = [w for w in matching if not is_expired(w, when)]
    failures = _failures(result)
    if not failures or any(r.code in NEVER_WAIVED for r in failures):
        return result  # nothing to name, or a bug: never waived
    uncovered = [r for r in failures if not any(r.code in w.codes for w in active)]
    if not uncovered:
        used = [w for w in active if any(r.code in w.codes for r in failures)]
        notes = tuple(Reason(Code.WAIVED, f"waived by the {w.label}", expected=f"fixed by {w.expires.isoformat()}",
                             found=", ".join(sorted({r.code for r in failures if r.code in w.codes})))
                      for w in used)
        return replace(result, verdict=Verdict.WAIVED, reasons=(*notes, *result.reasons))
    lapsed = [w for w in matching if is_expired(w, when) and any(r.code in w.codes for r in uncovered)]
    if not lapsed:
        return result
    notes = tuple(Reason(Code.WAIVER_EXPIRED, f"the {w.label} has expired: the failure is no longer waived",
                         expected=f"a date on or after {when.date().isoformat()} (UTC), or the failure fixed",
                         found=w.expires.isoformat()) for w in lapsed)
    verdict = Verdict.ERROR if result.verdict is Verdict.ERROR else Verdict.FAIL
    return replace(result, verdict=verdict, reasons=(*notes, *result.reasons))


def unused(waivers: Sequence[Waiver], image_names: Iterable[str]) -> list[Waiver]:
    """The waivers that match none of ``image_names``."""
    names = list(image_names)
    return [w for w in waivers if not any(w.matches(n) for n in names)]
