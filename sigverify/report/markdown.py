"""Markdown summary of a run (GitHub step summary, merge requests): a table, then details per failure."""

from __future__ import annotations

import html
import re

from sigverify.models import ImageResult, RunResult, Verdict
from sigverify.report import DIGEST_CONTRACT
from sigverify.report._cases import Case, image_cases, is_failing
from sigverify.report._cases import rows as with_platform_rows
from sigverify.report.safe import redacted
from sigverify.report.tally import headline, tally

_ICON = {Verdict.PASS: "✅", Verdict.FAIL: "❌", Verdict.WARN: "⚠️", Verdict.ERROR: "🛑", Verdict.WAIVED: "🕒"}
_ORDER = {Verdict.ERROR: 0, Verdict.FAIL: 1, Verdict.WARN: 2, Verdict.WAIVED: 3, Verdict.PASS: 4}

# HTML specials and the characters that open inline markdown (code, emphasis, strikethrough, links, images,
# math, table columns) as numeric entities, so values render literally in table cells, inline HTML and list
# items. Values never start a line, so block syntax (#, -, +, 1.) needs nothing. GFM autolinks (`https://`,
# `www.`) are broken up the same way.
_ENTITIES = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'\\`*{}[]()|~$"})
# `_` can only open or close emphasis next to a non-alphanumeric character: NO_POLICY and my_app stay readable.
_LOOSE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_AUTOLINKS = (("://", "&#58;//"), ("www.", "www&#46;"), ("WWW.", "WWW&#46;"))


# C0 controls but LF (which becomes <br>), DEL and C1 controls: shown as U+FFFD.
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def text(value: str) -> str:
    """The markdown channel's escaping: every special character as an entity, controls as U+FFFD, on one
    source line (line breaks become <br>), so a value can neither start a line nor open markdown or HTML."""
    value = _CONTROL.sub("\ufffd", value.replace("\r\n", "\n")).translate(_ENTITIES)
    value = _LOOSE_UNDERSCORE.sub("&#95;", value)
    for pattern, replacement in _AUTOLINKS:
        value = value.replace(pattern, replacement)
    return value.replace("\n", "<br>")


def code(value: str) -> str:
    return f"<code>{text(value)}</code>"


def _pre(value: str) -> str:
    """A raw HTML block on one source line (line breaks as &#10;): no markdown inside, so HTML escaping is
    enough, and no line of the summary starts with the value."""
    escaped = html.escape(_CONTROL.sub(chr(0xFFFD), value.replace("\r\n", "\n")), quote=False)
    return f"<pre>{escaped.replace(chr(10), '&#10;')}</pre>"


def _verdict_cell(img: ImageResult, fail_on_warn: bool) -> str:
    word = img.verdict.value
    if img.verdict is Verdict.WARN and fail_on_warn:
        word += " (fails: --fail-on-warn)"
    return f"{_ICON[img.verdict]} {word}"


def _why_cell(img: ImageResult, cases: list[Case]) -> str:
    if img.verdict is Verdict.PASS:
        parts = [f"{text(p.policy)}: {text(', '.join(p.verified_by))}" for p in img.policies if p.verified_by]
        notes = [f"{code(r.code)} {text(r.message)}" for r in img.reasons]
        notes += [f"⚠️ {code(r.code)} {text(r.message)}" for p in img.policies for r in p.warnings]
        return "; ".join(parts + notes) or "—"
    reasons = []
    for c in cases:
        if c.outcome == "pass":
            continue
        r = c.primary
        where = f"{text(c.classname)}: " if c.policy is not None else ""
        reasons.append(f"{where}{code(r.code)} {text(r.message)}")
    return "<br>".join(reasons) or "—"


def _details(img: ImageResult, cases: list[Case], result: RunResult) -> str:
    lines = [
        f"<details><summary>{_ICON[img.verdict]} {text(img.reference)}</summary>",
        "",
        f"- **Resolved:** {code(img.resolved)}",
        f"- **Digest:** {code(img.digest) if img.digest else 'not resolved'}",
    ]
    if img.source_file is not None:
        loc = img.source_file if img.source_line is None else f"{img.source_file}:{img.source_line}"
        lines.append(f"- **Listed at:** {code(loc)}")
    lines.append("")
    for c in cases:
        if c.outcome == "pass":
            continue
        title = f"Policy {code(c.classname)}" if c.policy is not None else "No policy matched"
        effect = "fails the job" if is_failing(c, result) else "waived" if c.outcome == "waived" else "warning only"
        lines.append(f"**{title}** — {c.outcome} ({effect})")
        lines.append("")
        for r in c.reasons or (c.primary,):
            lines.append(f"- {code(r.code)} {text(r.message)}")
            if r.authority:
                lines.append(f"  authority: {code(r.authority)}")
            lines.append("")
            if r.expected is not None:
                lines += ["<b>Expected</b>", "", _pre(r.expected), ""]
            if r.found is not None:
                lines += ["<b>Found</b>", "", _pre(r.found), ""]
    if img.signatures:
        lines += ["| Signature | Stored as | Authority | Result |", "|---|---|---|---|"]
        for s in img.signatures:
            state = "✅ verified" if s.ok else f"❌ {code(s.reason.code)}" if s.reason else "❌"
            if s.ok and s.facts.kind == "attestation":
                state += " attestation (not a signature)"
            signer = f" (signer {text(s.signer)})" if s.signer else ""
            lines.append(
                f"| {text(s.format)} {code(s.layer_digest)} | {text(s.storage)} "
                f"| {text(s.authority)}{signer} | {state} |"
            )
        lines.append("")
    lines += ["</details>", ""]
    return "\n".join(lines)


def render(result: RunResult, *, max_bytes: int | None = None) -> str:
    """Render ``result`` as GitHub-flavoured markdown: headline, table, collapsible failure details.

    With ``max_bytes`` (GitHub caps a step summary at 1 MiB) passing rows are dropped first, then whole
    rows and detail blocks from the end, with a note saying so; failures come first, so they are kept longest.
    """
    result = redacted(result)
    s = result.summary
    failing = result.exit_code != 0
    t = tally(result)
    icon = "⚠️" if t.total == 0 else "❌" if failing else "✅" if t.verified == t.total else "⚠️"
    head = f"{icon} sigverify: {headline(result)}"
    counts = ", ".join(f"{s[k]} {k}" for k in ("pass", "fail", "warn", "error", "waived") if s.get(k)) or "0 images"
    lines = [f"### {head}", "", f"{s['total']} image(s): {t.phrase() if s['total'] else counts}."]
    meta = []
    if result.config_path:
        meta.append(f"config {code(result.config_path)}")
    if result.shard:
        meta.append(f"shard {code(result.shard)}")
    if result.tool_version:
        meta.append(f"sigverify {text(result.tool_version)}")
    if meta:
        lines[-1] += " " + ", ".join(meta) + "."
    if any(img.digest for img in result.images):
        lines[-1] += f" {text(DIGEST_CONTRACT)}"
    lines.append("")
    for note in result.notes:
        lines += [f"> {text(note)}", ""]
    if result.lint:  # the config's lint warnings, once, before the table
        lines += [f"**⚠️ Policy warnings ({len(result.lint)})**", ""]
        lines += [f"- {code(w.location)} {code(w.code)} {text(w.message)}<br>fix: {text(w.fix)}" for w in result.lint]
        lines.append("")
    header = "\n".join(lines)
    if not result.images:
        return header

    # stable: config order within a verdict; an image's platform rows right under it
    ordered = with_platform_rows(sorted(result.images, key=lambda i: _ORDER[i.verdict]))
    cases = {id(img): image_cases(img) for img in ordered}
    rows = []
    for img in ordered:
        digest = code(img.digest) if img.digest else "—"
        rows.append(
            f"| {code(img.reference)} | {digest} | {_verdict_cell(img, result.fail_on_warn)} "
            f"| {_why_cell(img, cases[id(img)])} |"
        )
    problems = [img for img in ordered if img.verdict is not Verdict.PASS]
    details = [_details(img, cases[id(img)], result) for img in problems]
    doc = _assemble(header, rows, details, omitted=0)
    if max_bytes is None or len(doc.encode()) <= max_bytes:
        return doc
    # Over budget: keep the failing rows (they sort first), then as many rows and details as fit.
    n_fail_rows = len(problems)
    budget = max_bytes - 400  # room for the table header, headings and the omission note
    used = len(header.encode())
    kept_rows: list[str] = []
    for row in rows[:n_fail_rows]:
        if used + len(row.encode()) + 1 > budget:
            break
        kept_rows.append(row)
        used += len(row.encode()) + 1
    kept_details: list[str] = []
    for block in details[: len(kept_rows)]:
        if used + len(block.encode()) + 1 > budget:
            break
        kept_details.append(block)
        used += len(block.encode()) + 1
    return _assemble(
        header,
        kept_rows,
        kept_details,
        omitted=len(rows) - len(kept_rows),
        omitted_details=len(details) - len(kept_details),
    )


def _assemble(
    header: str, rows: list[str], details: list[str], omitted: int, omitted_details: int = 0
) -> str:
    parts = [header, "| Image | Digest | Verdict | Verified by / reason |", "|---|---|---|---|", *rows, ""]
    if omitted:
        parts += [
            f"_{omitted} more image(s) not listed here (summary size limit; passing images first). "
            "The JSON and JUnit reports list every image._",
            "",
        ]
    if details:
        parts += ["#### Details", "", *details]
    if omitted_details:
        parts += [f"_Details of {omitted_details} more failure(s) omitted (summary size limit)._", ""]
    return "\n".join(parts)
