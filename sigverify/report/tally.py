"""What a run did, counted exactly: verified, allowed unverified (``default: allow``), warned, failed, errors."""

from __future__ import annotations

from dataclasses import dataclass

from sigverify.models import Code, ImageResult, RunResult, Verdict


def allowed_unverified(img: ImageResult) -> bool:
    """A pass that verified nothing: no policy matched and ``default: allow`` let the image through."""
    return img.verdict is Verdict.PASS and any(r.code == Code.DEFAULT_ALLOW for r in img.reasons)


@dataclass(frozen=True)
class Tally:
    """Images of one run by what happened to them; every image is in exactly one count."""

    total: int
    verified: int
    allowed: int  # passed unverified by `default: allow`
    warned: int
    failed: int
    errors: int
    waived: int

    def phrase(self) -> str:
        """``3 verified, 1 allowed unverified (default: allow), 1 warned`` — the non-zero counts, in that order."""
        parts = [(self.verified, "verified"), (self.allowed, "allowed unverified (default: allow)"),
                 (self.warned, "warned"), (self.failed, "failed"), (self.errors, "errors"), (self.waived, "waived")]
        return ", ".join(f"{n} {word}" for n, word in parts if n) or "0 images"


def tally(result: RunResult) -> Tally:
    """Count the run's images (platform rows are part of their image, not counted apart)."""
    by: dict[str, int] = {}
    allowed = 0
    for img in result.images:
        if allowed_unverified(img):
            allowed += 1
        else:
            by[img.verdict.value] = by.get(img.verdict.value, 0) + 1
    return Tally(total=len(result.images), verified=by.get("pass", 0), allowed=allowed, warned=by.get("warn", 0),
                 failed=by.get("fail", 0), errors=by.get("error", 0), waived=by.get("waived", 0))


def headline(result: RunResult) -> str:
    """One line that is true of the whole run: nothing to verify, failed, all verified, or passed with what was
    not verified named (warned, allowed unverified, waived)."""
    t = tally(result)
    if t.total == 0:
        return "no images to verify"
    if result.exit_code != 0:
        return "verification failed"
    if t.verified == t.total:
        return "all images verified"
    return f"passed, but not every image was verified: {t.phrase()}"
