"""Every output channel: registry text is redacted, carries no C0/C1 control and never starts a line."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigverify import ci
from sigverify.models import Code, ImageResult, PolicyResult, Reason, RunResult, SignatureCheck, Verdict
from sigverify.report import json as json_report
from sigverify.report import junit, markdown, sarif, text
from sigverify.report.safe import one_line, redact_urls

SECRETS = ("s3cr3t-verify", "AKIAxyz-sig", "hunter2", "tok-frag")
URLS = (
    "https://cdn.example.com/blobs/sha256:ab?verify=s3cr3t-verify&expires=1",
    "https://bucket.s3.amazonaws.com/x?X-Amz-Algorithm=AWS4&X-Amz-Signature=AKIAxyz-sig",
    "https://user:hunter2@registry.example.com/v2/",
    "http://h.example/p#access_token=tok-frag",
)
CONTROLS = "\x1b[2J\x07\x85\x9b31m\x00\x7f"
INJECT = "\n::error::injected\r\n::add-mask::masked\n##[error]legacy"
HOSTILE = f"media/type{CONTROLS}{INJECT} " + " ".join(URLS)
# C0 (but the channel's own line break), DEL and C1 controls
ANY_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def hostile_run() -> RunResult:
    reason = Reason(Code.UNSUPPORTED_FORMAT, HOSTILE, expected=HOSTILE, found=HOSTILE, policy="p", authority="k")
    check = SignatureCheck(format="unknown", storage=HOSTILE, layer_digest="sha256:" + "2" * 64, authority="k",
                           ok=False, reason=reason, signer=HOSTILE, details={"error": HOSTILE})
    img = ImageResult(reference="r.example/app:1", resolved="r.example/app@sha256:" + "1" * 64,
                      digest="sha256:" + "1" * 64, verdict=Verdict.FAIL,
                      policies=(PolicyResult("p", "enforce", False, 1, (), (reason,)),),
                      reasons=(reason,), signatures=(check,), source_file="sigverify.yaml", source_line=3)
    return RunResult(images=(img,), config_path="sigverify.yaml", tool_version="0", notes=(HOSTILE,))


def assert_redacted(out: str) -> None:
    for secret in SECRETS:
        assert secret not in out
    assert "REDACTED" in out


def assert_no_line_starts_with_registry_text(out: str) -> None:
    for line in out.splitlines():
        stripped = line.lstrip()
        assert not stripped.startswith(("::", "##[", "media/type")), line


def test_redact_urls_covers_every_query_userinfo_and_fragment() -> None:
    assert redact_urls(URLS[0]) == "https://cdn.example.com/blobs/sha256:ab?REDACTED"
    assert redact_urls(URLS[1]) == "https://bucket.s3.amazonaws.com/x?REDACTED"
    assert redact_urls(URLS[2]) == "https://REDACTED@registry.example.com/v2/"
    assert redact_urls(URLS[3]) == "http://h.example/p#REDACTED"
    assert redact_urls("GET /v2/x/blobs/sha256:ab?sig=1 failed") == "GET /v2/x/blobs/sha256:ab?REDACTED failed"
    assert redact_urls("https://u:p@w@h/x?a='b c") == "https://REDACTED@h/x?REDACTED c"
    # what is not a URL stays as it is
    for plain in ("docker.io/library/nginx@sha256:ab", "oci:./layout:tag", "did you mean x?", "a@b", "sha256:ab"):
        assert redact_urls(plain) == plain


def test_one_line_shows_every_control() -> None:
    assert one_line("a\nb\r\tc\x1b\x07\x85\x9b\x7f") == "a\\nb\\r\\tc\\x1b\\x07\\x85\\x9b\\x7f"


def test_text_report() -> None:
    for out in (text.render(hostile_run(), verbose=True), text.render_quiet(hostile_run())):
        assert not ANY_CONTROL.search(out)
        assert_no_line_starts_with_registry_text(out)
    out = text.render(hostile_run(), verbose=True)
    assert_redacted(out)
    assert "\\x1b[2J\\x07\\x85\\x9b31m\\x00\\x7f\\n::error::injected\\r\\n::add-mask::masked" in out


def test_json_report() -> None:
    out = json_report.render(hostile_run())
    assert_redacted(out)
    assert not ANY_CONTROL.search(out)  # JSON escapes every control itself
    doc = json.loads(out)
    assert "\x1b[2J" in doc["images"][0]["reasons"][0]["message"]  # the data is kept, only URLs redacted
    assert_no_line_starts_with_registry_text(out)


def test_junit_report() -> None:
    out = junit.render(hostile_run())
    assert_redacted(out)
    root = ET.fromstring(out)
    for el in root.iter():
        for value in [el.text or "", *el.attrib.values()]:
            assert not ANY_CONTROL.search(value), value
            assert_no_line_starts_with_registry_text(value)
    assert not re.search("&#(x0*[0-8bcef]|x0*1[0-9a-f]|x0*[89][0-9a-f]|x0*7f);", out, re.I)


def test_sarif_report() -> None:
    out = sarif.render(hostile_run())
    assert_redacted(out)
    doc = json.loads(out)
    messages = [r["message"]["text"] for r in doc["runs"][0]["results"]]
    assert messages
    for message in messages:
        assert not ANY_CONTROL.search(message)
        assert_no_line_starts_with_registry_text(message)
    assert not ANY_CONTROL.search(json.dumps(doc, ensure_ascii=False).replace("\n", ""))


def test_markdown_summary() -> None:
    out = markdown.render(hostile_run())
    assert_redacted(out)
    assert not ANY_CONTROL.search(out)
    assert_no_line_starts_with_registry_text(out)
    assert "<script" not in out and "|media" not in out
    md = markdown.text("a|b<img src=x>`c`\x1b\x85\x9b\nd")
    assert "|" not in md and "<img" not in md and "`" not in md and not ANY_CONTROL.search(md)
    assert md.endswith("<br>d")


def _gh(tmp_path: Path) -> dict[str, str]:
    summary, output = tmp_path / "summary.md", tmp_path / "output"
    summary.touch()
    output.touch()
    return {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output),
            "GITHUB_WORKSPACE": str(tmp_path)}


def test_github_annotations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ci._STOP_TOKEN_ENV, raising=False)
    env = _gh(tmp_path)
    out = io.StringIO()
    assert ci.publish(hostile_run(), mode="auto", env=env, out=out) == []
    log = out.getvalue()
    assert_redacted(log)
    assert not ANY_CONTROL.search(log)
    commands = [line.split(" ", 1)[0] for line in log.splitlines()]
    assert commands == ["::error"]  # one annotation, nothing injected
    assert "::error::injected" in log and "%0A::error::injected" not in log  # registry newlines stay \\n text
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert_redacted(summary)
    assert not ANY_CONTROL.search(summary)
    assert_no_line_starts_with_registry_text(summary)


def test_workflow_command_escaping() -> None:
    line = ci.workflow_command("error", "a\x1b\x07\x85\x9b%\r\n::b", file="x:y,z", line=1)
    assert line == "::error file=x%3Ay%2Cz,line=1::a\\x1b\\x07\\x85\\x9b%25%0D%0A::b"


def test_gitlab_section() -> None:
    out = io.StringIO()
    ci.publish(hostile_run(), mode="gitlab", env={}, out=out)
    log = out.getvalue()
    assert_redacted(log)
    body = [line for line in log.splitlines() if not line.startswith("\x1b[0K")]  # GitLab's own section marks
    assert len(body) >= 3
    for line in body:
        assert not ANY_CONTROL.search(line)
    assert_no_line_starts_with_registry_text("\n".join(body))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40).map(lambda s: "::x" + s + "\n::add-mask::y"))
def test_no_channel_lets_any_text_start_a_line_or_carry_a_control(value: str) -> None:
    reason = Reason(Code.REGISTRY_ERROR, value, expected=value, found=value)
    img = ImageResult(reference="r.example/a:1", resolved="r.example/a:1", digest=None, verdict=Verdict.ERROR,
                      reasons=(reason,))
    run = RunResult(images=(img,), tool_version="0", notes=(value,))
    outputs = [text.render(run, verbose=True), text.render_quiet(run), markdown.render(run),
               "\n".join(el.text or "" for el in ET.fromstring(junit.render(run)).iter()),
               "\n".join(r["message"]["text"] for r in json.loads(sarif.render(run))["runs"][0]["results"])]
    for out in outputs:
        assert not ANY_CONTROL.search(out)
        assert not any(line.lstrip().startswith("::") for line in out.splitlines())
    log = io.StringIO()
    ci.publish(run, mode="gitlab", env={}, out=log)
    assert not any(line.lstrip().startswith("::") for line in log.getvalue().splitlines())
    line = ci.workflow_command("error", value)
    assert "\n" not in line and "\r" not in line and not ANY_CONTROL.search(line)
