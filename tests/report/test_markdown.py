"""Markdown summary: table per image, details with expected vs found, nothing in a value can break out."""

from __future__ import annotations

import re

from sigverify.models import Verdict
from sigverify.report import markdown
from tests.ci import samples


def table_rows(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| Image")]


def test_table_lists_every_image_with_verdict_and_digest() -> None:
    md = markdown.render(samples.mixed())
    rows = table_rows(md)
    assert len([r for r in rows if "<code>" in r.split("|")[1]]) >= 6
    app = next(r for r in rows if "localhost:5000/team/app:1.2.3" in r)
    assert "✅ pass" in app and "release-key" in app
    assert markdown.code(samples.D_APP) in app
    assert md.startswith("### ❌ sigverify: verification failed")


def test_failures_first_then_warn_then_pass() -> None:
    md = markdown.render(samples.mixed())
    verdicts = [re.search(r"(✅|❌|⚠️|🛑) (\w+)", r.split("|")[3]).group(2) for r in table_rows(md)[:6]]
    order = [v for v in verdicts]
    assert order == sorted(order, key=["error", "fail", "warn", "pass"].index)


def test_details_show_expected_and_found() -> None:
    md = markdown.render(samples.mixed())
    assert md.count("<details>") == 5  # every non-passing image
    assert f"<b>Expected</b>\n\n<pre>{samples.D_WORKER}</pre>" in md
    assert f"<b>Found</b>\n\n<pre>{samples.D_OTHER}</pre>" in md


def test_values_cannot_break_the_table_or_inject_html() -> None:
    md = markdown.render(samples.run(samples.hostile()))
    for row in table_rows(md):
        if "evil" in row:
            # exactly the 4 columns: 5 pipes, none of them from the value
            assert row.count("|") == 5
    assert "<script>" not in md and "\x01" not in md
    assert "&lt;script&gt;" in md  # inside <pre> (a raw HTML block: no markdown there), HTML-escaped
    outside_pre = re.sub(r"<pre>.*?</pre>", "", md, flags=re.S)
    assert "http://e" not in outside_pre and "http&#58;//e" in outside_pre
    assert "[x](" not in outside_pre and "**bold**" not in outside_pre and "`tick`" not in outside_pre


def test_text_escaping_is_total() -> None:
    out = markdown.text("a|b<c>&d`e*f _g_ [h](i)\nj")
    assert not set(out) & set("|<>`*_[]()") - set("<br>")
    assert markdown.text("NO_POLICY my_app") == "NO_POLICY my_app"
    assert "<br>" in out and "|" not in out


def test_passing_run_and_empty_run() -> None:
    assert markdown.render(samples.run(samples.passing())).startswith("### ✅ sigverify: all images verified")
    assert "no images to verify" in markdown.render(samples.run())


def test_fail_on_warn_marks_the_warning() -> None:
    md = markdown.render(samples.mixed(fail_on_warn=True))
    assert "⚠️ warn (fails: --fail-on-warn)" in md


def test_size_limit_keeps_failures_and_says_what_was_left_out() -> None:
    images = [samples.passing(f"localhost:5000/team/app{i}:1", i) for i in range(400)] + [samples.failing()]
    result = samples.run(*images)
    full = markdown.render(result)
    small = markdown.render(result, max_bytes=4000)
    assert len(full.encode()) > 4000 >= len(small.encode())
    assert "worker" in small and "400 more image(s) not listed" in small
    assert markdown.render(result, max_bytes=10**7) == full
    assert all(i.verdict is Verdict.PASS for i in images[:-1])


def test_policy_warnings_show_on_a_pass() -> None:
    from dataclasses import replace

    from sigverify.models import Code, Reason

    img = samples.passing()
    warned = replace(img.policies[0], warnings=(Reason(Code.VERIFICATION_WARNING, "tlog check only logged"),))
    md = markdown.render(samples.run(replace(img, policies=(warned,))))
    assert "⚠️ <code>VERIFICATION_WARNING</code> tlog check only logged" in md
