"""JUnit XML of a run: one test case per image and policy, for Jenkins' junit step and GitLab reports."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # builds XML only, never parses

from sigverify.models import RunResult
from sigverify.report import DIGEST_CONTRACT
from sigverify.report._cases import Case, describe, is_failing, run_cases, verified_by
from sigverify.report.safe import sanitized

SUITE_NAME = "sigverify"

# Characters XML 1.0 cannot carry at all, even escaped (C0 controls but tab/LF/CR, surrogates, FFFE/FFFF), and
# the ones it can but no reader should get (tab, CR, DEL, C1 controls). LF is the report's own line break.
_INVALID_XML = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    """The JUnit channel's escaping: what XML cannot (or should not) carry becomes U+FFFD. Values arrive on one
    line from ``sanitized``, so every line break is the report's own."""
    return _INVALID_XML.sub("\ufffd", text)


def _seconds(ms: float) -> str:
    return f"{max(ms, 0.0) / 1000:.3f}"


def _case_out(case: Case, fail_on_warn: bool) -> str:
    img = case.image
    lines = [
        f"image: {img.reference}",
        f"resolved: {img.resolved}",
        f"digest: {img.digest or '(unresolved)'}",
    ]
    if case.policy is not None:
        lines.append(
            f"policy: {case.policy.policy} (mode {case.policy.mode}, threshold {case.policy.threshold})"
        )
        if case.policy.verified_by:
            lines.append(f"verified by: {', '.join(case.policy.verified_by)}")
    elif img.verdict.value == "pass" and verified_by(img):
        lines.append(f"verified by: {'; '.join(verified_by(img))}")
    if img.source_file is not None:
        loc = img.source_file if img.source_line is None else f"{img.source_file}:{img.source_line}"
        lines.append(f"listed at: {loc}")
    if case.policy is not None and case.policy.warnings:
        lines.append("verification warnings (logged, not enforced):")
        lines.extend(describe(r, "  ") for r in case.policy.warnings)
    if case.outcome == "warn":
        effect = "fails the job (--fail-on-warn)" if fail_on_warn else "does not fail the job"
        lines.append(f"WARNING: the policy is in warn mode; this failure {effect}:")
        lines.extend(describe(r, "  ") for r in case.reasons)
    elif case.outcome == "waived":
        lines.append("WAIVED: a waiver in the config covers this failure until its expiry; it does not fail the job:")
        lines.extend(describe(r, "  ") for r in case.reasons)
    elif case.outcome == "pass" and case.reasons:
        lines.append("notes:")
        lines.extend(describe(r, "  ") for r in case.reasons)
    checks = [s for s in img.signatures if case.policy is None or s.authority in _authorities(case)]
    if checks:
        lines.append("signatures checked:")
        for s in checks:
            state = "verified" if s.ok else f"not verified ({s.reason.code})" if s.reason else "not verified"
            signer = f", signer {s.signer}" if s.signer else ""
            lines.append(
                f"  {s.format} via {s.storage} [{s.layer_digest}] with {s.authority}: {state}{signer}"
            )
    return "\n".join(lines) + "\n"


def _authorities(case: Case) -> set[str]:
    """Authority names this case's policy mentions (from its verified list and its reasons)."""
    names = set(case.policy.verified_by) if case.policy is not None else set()
    names.update(r.authority for r in case.reasons if r.authority)
    if case.policy is not None:
        names.update(r.authority for r in case.policy.reasons if r.authority)
    # Without any name to filter on, show every check: hiding evidence helps nobody.
    return names or {s.authority for s in case.image.signatures}


def _problem_message(case: Case, fail_on_warn: bool) -> str:
    r = case.primary
    prefix = (
        "[warn mode, failing because of --fail-on-warn] " if case.outcome == "warn" and fail_on_warn else ""
    )
    msg = f"{prefix}{r.code}: {r.message}"
    if r.expected is not None or r.found is not None:
        msg += f" (expected {r.expected if r.expected is not None else '-'}; "
        msg += f"found {r.found if r.found is not None else '-'})"
    return msg


def render(result: RunResult) -> str:
    """Render ``result`` as a JUnit XML document (one ``<testsuite>``)."""
    result = sanitized(result)
    cases = run_cases(result)
    failures = sum(1 for c in cases if c.outcome != "error" and is_failing(c, result))
    errors = sum(1 for c in cases if c.outcome == "error")
    total_ms = sum(img.duration_ms for img in result.images)

    suite = ET.Element(
        "testsuite",
        {
            "name": SUITE_NAME if not result.shard else f"{SUITE_NAME} (shard {result.shard})",
            "tests": str(len(cases)),
            "failures": str(failures),
            "errors": str(errors),
            "skipped": str(sum(1 for c in cases if c.outcome == "waived")),
            "time": _seconds(total_ms),
        },
    )
    props = ET.SubElement(suite, "properties")
    suite_props: list[tuple[str, str]] = [("sigverify.version", result.tool_version or "unknown")]
    if result.config_path:
        suite_props.append(("sigverify.config", result.config_path))
    if result.trust_root:
        suite_props.append(("sigverify.trust_root", result.trust_root))
    if result.shard:
        suite_props.append(("sigverify.shard", result.shard))
    suite_props.append(("sigverify.fail_on_warn", str(result.fail_on_warn).lower()))
    suite_props.append(("sigverify.digest_contract", DIGEST_CONTRACT))
    # The Jenkins schema has no <properties> inside <testcase>: each image's digest is a suite property.
    for img in result.images:
        suite_props.append((f"digest:{img.reference}", img.digest or ""))
    for name, value in suite_props:
        ET.SubElement(props, "property", {"name": _clean(name), "value": _clean(value)})

    per_image: dict[int, int] = {}
    for c in cases:
        per_image[id(c.image)] = per_image.get(id(c.image), 0) + 1
    for c in cases:
        tc = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": _clean(c.classname),
                "name": _clean(c.image.reference),
                "time": _seconds(c.image.duration_ms / per_image[id(c.image)]),
            },
        )
        body = "\n".join(describe(r) for r in c.reasons) or describe(c.primary)
        if c.outcome == "error":
            el = ET.SubElement(
                tc, "error", {"type": c.primary.code, "message": _clean(_problem_message(c, False))}
            )
            el.text = _clean(body)
        elif c.outcome == "waived":
            ET.SubElement(tc, "skipped", {"message": _clean(f"waived: {_problem_message(c, False)}")})
        elif is_failing(c, result):
            el = ET.SubElement(
                tc,
                "failure",
                {"type": c.primary.code, "message": _clean(_problem_message(c, result.fail_on_warn))},
            )
            el.text = _clean(body)
        out = ET.SubElement(tc, "system-out")
        out.text = _clean(_case_out(c, result.fail_on_warn))
    if result.notes:
        out = ET.SubElement(suite, "system-out")
        out.text = _clean("".join(f"note: {note}\n" for note in result.notes))
    ET.indent(suite, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
