"""One outcome per (image, policy) pair, shared by the CI renderers (JUnit, SARIF, markdown)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from sigverify.models import Code, ImageResult, PolicyResult, Reason, RunResult, Verdict

Outcome = Literal["pass", "warn", "fail", "error", "waived"]

NO_POLICY_CLASS = "(no policy)"


@dataclass(frozen=True)
class Case:
    """How one policy judged one image (``policy`` is None when the image matched no policy)."""

    image: ImageResult
    policy: PolicyResult | None
    outcome: Outcome
    reasons: tuple[Reason, ...]

    @property
    def classname(self) -> str:
        return self.policy.policy if self.policy is not None else NO_POLICY_CLASS

    @property
    def primary(self) -> Reason:
        """The first reason, or a synthesised one so a failure is never shown without a code."""
        if self.reasons:
            return self.reasons[0]
        code = Code.INTERNAL_ERROR if self.outcome == "error" else Code.NO_MATCHING_SIGNATURE
        return Reason(code, f"verdict {self.outcome} with no recorded reason")


def unique(reasons: tuple[Reason, ...] | list[Reason]) -> tuple[Reason, ...]:
    """``reasons`` without repeats (the gate may list a policy's reason on the image too), order kept."""
    return tuple(dict.fromkeys(reasons))


def image_reasons(img: ImageResult) -> tuple[Reason, ...]:
    """Every reason the image failed for: its own and its failed policies', each once."""
    return unique(list(img.reasons) + [r for p in img.policies if not p.passed for r in p.reasons])


def _policy_outcome(img: ImageResult, pol: PolicyResult) -> Case:
    if img.verdict is Verdict.ERROR:
        return Case(img, pol, "error", unique(img.reasons + (() if pol.passed else pol.reasons)))
    if pol.passed:
        return Case(img, pol, "pass", ())
    return Case(img, pol, "warn" if pol.mode == "warn" else "fail", pol.reasons)


_VERDICT_OUTCOME: dict[Verdict, Outcome] = {
    Verdict.PASS: "pass",
    Verdict.FAIL: "fail",
    Verdict.WARN: "warn",
    Verdict.ERROR: "error",
    Verdict.WAIVED: "waived",
}


def rows(images: tuple[ImageResult, ...] | list[ImageResult]) -> list[ImageResult]:
    """Every image followed by its platform rows (named ``reference [os/arch]``): what row-wise reports list."""
    out: list[ImageResult] = []
    for img in images:
        out.append(img)
        out.extend(replace(p, reference=f"{img.reference} [{p.platform}]") for p in img.platforms)
    return out


def _waived_last(reasons: tuple[Reason, ...]) -> tuple[Reason, ...]:
    """The failure first (what a waived case is about, e.g. its SARIF rule), then the waiver that covers it."""
    return (*(r for r in reasons if r.code != Code.WAIVED), *(r for r in reasons if r.code == Code.WAIVED))


def image_cases(img: ImageResult) -> list[Case]:
    """The cases of one image; never hides a failure the image verdict reports."""
    if not img.policies:
        outcome = _VERDICT_OUTCOME[img.verdict]
        return [Case(img, None, outcome, _waived_last(img.reasons))]
    cases = [_policy_outcome(img, p) for p in img.policies]
    if img.verdict is Verdict.WAIVED:  # failures an unexpired waiver covers: shown as waived, never as pass
        cases = [c if c.outcome == "pass" else
                 replace(c, outcome="waived", reasons=_waived_last(unique(c.reasons + img.reasons))) for c in cases]
        if all(c.outcome == "pass" for c in cases):
            cases = [replace(c, outcome="waived", reasons=_waived_last(unique(c.reasons + img.reasons)))
                     for c in cases]
        return cases
    if img.verdict is Verdict.FAIL and not any(c.outcome == "fail" for c in cases):
        # The image failed for a reason outside any one policy: every case carries it.
        cases = [replace(c, outcome="fail", reasons=unique(c.reasons + img.reasons)) for c in cases]
    elif img.verdict is Verdict.WARN and all(c.outcome == "pass" for c in cases):
        cases = [replace(c, outcome="warn", reasons=unique(c.reasons + img.reasons)) for c in cases]
    return cases


def run_cases(result: RunResult) -> list[Case]:
    return [c for img in rows(result.images) for c in image_cases(img)]


def is_failing(case: Case, result: RunResult) -> bool:
    """True when the case makes the run fail (warnings only under ``fail_on_warn``)."""
    return case.outcome in ("fail", "error") or (case.outcome == "warn" and result.fail_on_warn)


def describe(reason: Reason, indent: str = "") -> str:
    """Plain multi-line text: code, message, expected vs found, policy and authority."""
    lines = [f"{indent}{reason.code}: {reason.message}"]
    for label, value in (
        ("expected", reason.expected),
        ("found", reason.found),
        ("policy", reason.policy),
        ("authority", reason.authority),
    ):
        if value is not None:
            lines.append(f"{indent}  {label}: {value}")
    return "\n".join(lines)


def verified_by(img: ImageResult) -> list[str]:
    """``policy: authority, ...`` for every policy that passed with at least one authority."""
    out = []
    for p in img.policies:
        if p.passed and p.verified_by:
            out.append(f"{p.policy}: {', '.join(p.verified_by)}")
    return out
