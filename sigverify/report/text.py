"""The readable terminal report: one block per image, every failure with expected vs found."""

from __future__ import annotations

from sigverify.models import ImageResult, Reason, RunResult, SignatureCheck, Verdict
from sigverify.report import DIGEST_CONTRACT
from sigverify.report._cases import image_reasons, rows
from sigverify.report.safe import CONTROL, sanitized
from sigverify.report.tally import tally


def escape(text: str) -> str:
    """The text channel's escaping of a whole report: every control character but the report's own line
    breaks as \\xNN (values arrive already on one line from ``sanitized``, so no line starts with them)."""
    return CONTROL.sub(lambda m: m.group() if m.group() == "\n" else f"\\x{ord(m.group()):02x}", text)


_MARK = {Verdict.PASS: "PASS ", Verdict.FAIL: "FAIL ", Verdict.WARN: "WARN ", Verdict.ERROR: "ERROR",
         Verdict.WAIVED: "WAIVED"}


def _reason_lines(reason: Reason, indent: str) -> list[str]:
    who = " / ".join(x for x in (reason.policy, reason.authority) if x)
    head = f"{indent}{reason.code}: {reason.message}" + (f"  [{who}]" if who else "")
    lines = [head]
    if reason.expected is not None:
        lines.append(f"{indent}    expected: {reason.expected}")
    if reason.found is not None:
        lines.append(f"{indent}    found:    {reason.found}")
    return lines


def _signature_line(check: SignatureCheck) -> str:
    state = "verified" if check.ok else "rejected"
    if check.ok and check.details.get("warnings"):
        state = "verified with warnings"
    if check.ok and check.facts.kind == "attestation":
        state += " attestation (not a signature)"
    signer = f" signer {check.signer}" if check.signer else ""
    why = f": {check.reason.code}" if check.reason is not None and not check.ok else ""
    return f"      - {check.format} in {check.storage} [{check.authority}] {state}{signer}{why}"


def _image_block(img: ImageResult, verbose: bool) -> list[str]:
    lines = [f"{_MARK[img.verdict]} {img.reference}"]
    if img.digest:
        lines.append(f"      digest   {img.digest}")
    for pr in img.policies:
        status = "passed" if pr.passed else ("failed (warn mode)" if pr.mode == "warn" else "failed")
        by = f", verified by {', '.join(pr.verified_by)}" if pr.verified_by else ""
        lines.append(f"      policy   {pr.policy}: {status}{by} (threshold {pr.threshold})")
    for reason in img.reasons:  # a pass may carry notes too, e.g. default: allow
        lines.extend(_reason_lines(reason, "      "))
    if img.signatures and (verbose or img.verdict is not Verdict.PASS):
        lines.append("      signatures:")
        lines.extend(_signature_line(c) for c in img.signatures)
    return lines


def render(result: RunResult, *, verbose: bool = False) -> str:
    """The report: every registry-supplied value redacted and on one line, the digest contract at the end."""
    result = sanitized(result)
    out: list[str] = []
    head = f"sigverify {result.tool_version}"
    if result.config_path:
        head += f" · config {result.config_path}"
    if result.trust_root:
        head += f" · trust root {result.trust_root}"
    if result.shard:
        head += f" · shard {result.shard}"
    out.append(head)
    out.append("")
    for warning in result.lint:  # the config's lint warnings, once, before any image
        where = f" {warning.where}:" if warning.where else ""
        out += [f"warning: {warning.location}:{where} {warning.code}: {warning.message}", f"    fix: {warning.fix}"]
    if result.lint:
        out.append("")
    for img in rows(result.images):
        out.extend(_image_block(img, verbose))
        out.append("")
    s = result.summary
    t = tally(result)  # a pass by `default: allow` verified nothing: counted apart, never as verified
    out.append(
        f"{s['total']} image(s): {t.verified} verified, "
        + (f"{t.allowed} allowed unverified (default: allow), " if t.allowed else "")
        + f"{s['fail']} failed, {s['warn']} warned, {s['error']} errors"
        + (f", {s['waived']} waived" if s.get("waived") else "")
    )
    for note in result.notes:
        out.append(f"note: {note}")
    if any(img.digest for img in result.images):
        out.append(f"note: {DIGEST_CONTRACT}")
    if result.exit_code == 0:
        out.append("result: PASS" + (" (with warnings)" if s["warn"] else "")
                   + (f" ({t.allowed} allowed unverified by default: allow)" if t.allowed else "")
                   + (" (with waived failures)" if s.get("waived") else ""))
    else:
        out.append(
            "result: FAIL"
            + (
                " (warnings count as failures: --fail-on-warn)"
                if result.fail_on_warn and s["warn"] and not (s["fail"] or s["error"])
                else ""
            )
        )
    return escape("\n".join(out)) + "\n"


def render_quiet(result: RunResult) -> str:
    """``-q``: one line per image that did not pass (verdict, reference, first reason code); nothing else."""
    lines = []
    for row in rows(result.images):
        if row.verdict is Verdict.PASS:
            continue
        img = sanitized(row)  # only what is printed is redacted (a run of passes prints nothing)
        reasons = image_reasons(img)
        code = reasons[0].code if reasons else img.verdict.value.upper()
        lines.append(f"{_MARK[img.verdict]} {img.reference} {code}")
    return escape("".join(line + "\n" for line in lines))
