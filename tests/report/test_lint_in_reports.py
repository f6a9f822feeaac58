"""The config's lint warnings are shown once, at the top of every report channel: text, JSON, markdown, SARIF,
GitHub annotations, and a merge of shard reports (once, however many shards carry them)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from sigverify import __version__, ci
from sigverify.cli import main
from sigverify.merge import merge_reports
from sigverify.models import Code, ImageResult, LintNote, Reason, RunResult, Verdict
from sigverify.report import json as json_report
from sigverify.report import markdown, sarif, text

SUBJECT = LintNote(
    code="REGEXP_ACCEPTS_ANY",
    message="subject_regexp '.*' accepts subjects anyone can obtain",
    fix="write the exact subject",
    file="sigverify.yaml",
    line=8,
    where="policy 'release', authority 'ci'",
)
HOSTILE = LintNote(
    code="REGEXP_DOT_STAR",
    message="subject_regexp 'https://u:hunter2@x.example/a?tok=s\x1b[31m'",
    fix="narrow it\n::add-mask::x",
    file="sigverify.yaml",
    line=12,
    where="policy 'p', authority 'a'",
)
WAIVER = LintNote(
    code="WAIVER_EXPIRED",
    message="waiver expired on 2026-01-01 (UTC)",
    fix="remove the waiver",
    file="waivers.yaml",
    line=3,
    where="waiver",
)


def _result(*lint: LintNote, shard: str | None = None) -> RunResult:
    img = ImageResult(
        reference="ghcr.io/other/app:1",
        resolved="ghcr.io/other/app:1",
        digest=None,
        verdict=Verdict.FAIL,
        reasons=(Reason(Code.NO_POLICY, "no policy matches ghcr.io/other/app"),),
    )
    return RunResult(
        images=(img,),
        config_path="sigverify.yaml",
        tool_version=__version__,
        lint=lint,
        shard=shard,
        fingerprint="sha256:" + "a" * 64 if shard else None,
    )


def test_text_report_shows_each_warning_once_before_the_images() -> None:
    out = text.render(_result(SUBJECT, WAIVER))
    assert out.count("REGEXP_ACCEPTS_ANY") == 1 and out.count("WAIVER_EXPIRED") == 1
    first = out.index("warning: sigverify.yaml:8: policy 'release', authority 'ci': REGEXP_ACCEPTS_ANY: ")
    assert first < out.index("warning: waivers.yaml:3: waiver: WAIVER_EXPIRED") < out.index("ghcr.io/other/app:1")
    assert "    fix: write the exact subject\n" in out
    assert "warning:" not in text.render(_result())


def test_text_report_redacts_and_escapes_the_warnings() -> None:
    out = text.render(_result(HOSTILE))
    assert "hunter2" not in out and "tok=s" not in out and "\x1b" not in out
    assert "\\x1b[31m" in out and "REDACTED@x.example" in out
    assert not any(line.startswith("::") for line in out.splitlines())  # fix text stays on its line


def test_json_report_carries_them_without_changing_other_keys() -> None:
    plain_doc = json_report.document(_result())
    doc = json_report.document(_result(SUBJECT, WAIVER))
    assert "lint" not in plain_doc
    assert {k: v for k, v in doc.items() if k != "lint"} == plain_doc
    assert doc["lint"] == [
        {
            "code": "REGEXP_ACCEPTS_ANY",
            "message": SUBJECT.message,
            "file": "sigverify.yaml",
            "line": 8,
            "where": "policy 'release', authority 'ci'",
            "fix": "write the exact subject",
        },
        {
            "code": "WAIVER_EXPIRED",
            "message": WAIVER.message,
            "file": "waivers.yaml",
            "line": 3,
            "where": "waiver",
            "fix": "remove the waiver",
        },
    ]
    hostile = json_report.document(_result(HOSTILE))["lint"][0]["message"]
    assert "hunter2" not in hostile and "tok=s" not in hostile


def test_markdown_summary_has_a_short_section_before_the_table() -> None:
    md = markdown.render(_result(SUBJECT, HOSTILE))
    section = md.index("Policy warnings (2)")
    assert section < md.index("| Image |")
    assert md.count("REGEXP_ACCEPTS_ANY") == 1
    assert "<code>sigverify.yaml:8</code> <code>REGEXP_ACCEPTS_ANY</code>" in md
    assert "hunter2" not in md and "\x1b" not in md
    assert not any(line.startswith("::") for line in md.splitlines())
    assert "Policy warnings" not in markdown.render(_result())


def test_sarif_has_a_note_per_warning_at_the_key_line() -> None:
    run = json.loads(sarif.render(_result(SUBJECT, WAIVER)))["runs"][0]
    notes = [r for r in run["results"] if r["level"] == "note"]
    assert [r["ruleId"] for r in notes] == ["lint/REGEXP_ACCEPTS_ANY", "lint/WAIVER_EXPIRED"]
    locs = [r["locations"][0]["physicalLocation"] for r in notes]
    assert [(loc["artifactLocation"]["uri"], loc["region"]["startLine"]) for loc in locs] == [
        ("sigverify.yaml", 8),
        ("waivers.yaml", 3),
    ]
    assert "fix: write the exact subject" in notes[0]["message"]["text"]
    rules = run["tool"]["driver"]["rules"]
    for r in run["results"]:  # every result points at its own rule
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
    assert rules[notes[0]["ruleIndex"]]["defaultConfiguration"]["level"] == "note"
    assert [r["ruleId"] for r in run["results"] if r["level"] == "error"] == ["NO_POLICY"]  # unchanged
    plain_run = json.loads(sarif.render(_result()))["runs"][0]
    assert [r["ruleId"] for r in plain_run["results"]] == ["NO_POLICY"]


def test_sarif_lint_rule_ids_never_collide_with_verification_codes() -> None:
    allow = LintNote(code="DEFAULT_ALLOW", message="default: allow", fix="default: deny", file="s.yaml", line=2)
    rules = json.loads(sarif.render(_result(allow)))["runs"][0]["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)) and "lint/DEFAULT_ALLOW" in ids


def test_github_annotation_per_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    out = io.StringIO()
    env = {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp_path)}
    ci.publish(_result(SUBJECT, HOSTILE), mode="github", env=env, out=out)
    lines = out.getvalue().splitlines()
    warnings = [line for line in lines if line.startswith("::warning ")]
    assert len(warnings) == 2
    assert warnings[0].startswith("::warning file=sigverify.yaml,line=8,title=sigverify lint REGEXP_ACCEPTS_ANY::")
    assert "fix: write the exact subject" in warnings[0]
    assert "hunter2" not in out.getvalue() and "\x1b" not in out.getvalue()
    assert not any(line.startswith("::add-mask::") for line in lines)  # the fix's line break is escaped (%0A)
    assert lines.index(warnings[0]) < next(i for i, line in enumerate(lines) if line.startswith("::error "))


def test_merge_keeps_the_warnings_once(tmp_path: Path) -> None:
    paths = []
    for i in (1, 2):
        p = tmp_path / f"shard{i}.json"
        p.write_text(json_report.render(_result(SUBJECT, WAIVER, shard=f"{i}/2")))
        paths.append(str(p))
    merged = merge_reports(paths)
    assert merged.lint == (SUBJECT, WAIVER)
    assert text.render(merged).count("REGEXP_ACCEPTS_ANY") == 1
    duplicate = merge_reports([paths[0], paths[0]])  # SHARD_DUPLICATE, and still each warning once
    assert duplicate.lint == (SUBJECT, WAIVER) and duplicate.exit_code == 1


def test_merge_refuses_a_malformed_lint_entry(tmp_path: Path) -> None:
    from sigverify.errors import ConfigError

    doc = json_report.document(_result(SUBJECT, shard="1/1"))
    doc["lint"][0]["line"] = "eight"
    p = tmp_path / "r.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match="line is not a number"):
        merge_reports([str(p)])


CONFIG = """version: 1
images: [ghcr.io/other/app:1]
policies:
  - name: release
    match: ["ghcr.io/acme/**"]
    authorities:
      - name: ci
        keyless: {issuer: https://accounts.google.com, subject_regexp: '.*'}
"""


def test_verify_puts_them_in_every_report_it_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "sigverify.yaml"
    cfg.write_text(CONFIG)
    j, s, m = tmp_path / "r.json", tmp_path / "r.sarif", tmp_path / "r.md"
    args = ["verify", "--config", str(cfg), "--ci", "none", "--json", str(j), "--sarif", str(s), "--summary", str(m)]
    assert main(args) == 1  # NO_POLICY: no network needed
    captured = capsys.readouterr()
    assert captured.err.count("REGEXP_ACCEPTS_ANY") == 0
    assert captured.out.count("REGEXP_ACCEPTS_ANY") == 1
    assert [(w["code"], w["file"], w["line"]) for w in json.loads(j.read_text())["lint"]] == [
        ("REGEXP_ACCEPTS_ANY", str(cfg), 8)
    ]
    results = json.loads(s.read_text())["runs"][0]["results"]
    assert [
        (r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
        for r in results
        if r["level"] == "note"
    ] == [("lint/REGEXP_ACCEPTS_ANY", 8)]
    assert m.read_text().count("REGEXP_ACCEPTS_ANY") == 1
    assert main([*args[:5], "--format", "json"]) == 1  # the JSON on stdout carries them: not on stderr too
    captured = capsys.readouterr()
    assert json.loads(captured.out)["lint"][0]["code"] == "REGEXP_ACCEPTS_ANY" and not captured.err
    assert main([*args[:5], "-q"]) == 1  # -q lists failing images only: the warnings go to stderr, once
    captured = capsys.readouterr()
    assert "REGEXP_ACCEPTS_ANY" not in captured.out and captured.err.count("REGEXP_ACCEPTS_ANY") == 1
