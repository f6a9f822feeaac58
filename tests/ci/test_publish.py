"""sigverify.ci.publish: GitHub step summary, annotations and outputs; GitLab log section; escaping."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from sigverify import ci
from sigverify.models import Verdict
from tests.ci import samples
from tests.ci.project import read_github_output


@pytest.fixture
def gh(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "ws").mkdir()
    summary, output = tmp_path / "summary.md", tmp_path / "output"
    summary.touch()
    output.touch()
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_WORKSPACE": str(tmp_path / "ws"),
    }


def publish(result, env, mode: str = "auto") -> str:
    out = io.StringIO()
    ci.publish(result, mode=mode, env=env, out=out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("env", "mode", "want"),
    [
        ({"GITHUB_ACTIONS": "true"}, "auto", "github"),
        ({"GITLAB_CI": "true"}, "auto", "gitlab"),
        ({"GITHUB_ACTIONS": "false", "CI": "true"}, "auto", "none"),
        ({}, "auto", "none"),
        ({"GITHUB_ACTIONS": "true"}, "none", "none"),
        ({}, "gitlab", "gitlab"),
    ],
)
def test_detect(env, mode, want) -> None:
    assert ci.detect(mode, env) == want


def test_escaping_follows_actions_toolkit() -> None:
    assert ci.escape_data("100% a\r\nb") == "100%25 a%0D%0Ab"
    assert ci.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    line = ci.workflow_command("error", "x\n::warning::y", file="d:e,f.yaml", line=3, title=None)
    assert line == "::error file=d%3Ae%2Cf.yaml,line=3::x%0A::warning::y"
    assert "\n" not in line


def test_github_summary_annotations_outputs(gh) -> None:
    result = samples.mixed()
    out = publish(result, gh)
    summary = Path(gh["GITHUB_STEP_SUMMARY"]).read_text()
    assert summary.startswith("### ❌ sigverify") and "<details>" in summary

    lines = out.splitlines()
    errors = [ln for ln in lines if ln.startswith("::error ")]
    warnings = [ln for ln in lines if ln.startswith("::warning ")]
    # worker, gone, nginx (no policy), db fail or error; the sandbox tool warns; the app passes.
    assert len(errors) == 4 and len(warnings) == 1
    worker = next(ln for ln in errors if "worker" in ln)
    assert worker.startswith("::error file=sigverify.yaml,line=4,title=sigverify DIGEST_MISMATCH%3A ")
    assert f"expected: {samples.D_WORKER}" in worker and "%0A" in worker
    nginx = next(ln for ln in errors if "nginx" in ln)
    assert "line=" not in nginx.split("::")[1]  # from the command line: the config file, no line

    outputs = read_github_output(Path(gh["GITHUB_OUTPUT"]))
    assert outputs["result"] == "fail"
    assert json.loads(outputs["digests"]) == {"localhost:5000/team/app:1.2.3": samples.D_APP}
    assert json.loads(outputs["summary"])["fail"] == 3
    assert Path(gh["GITHUB_OUTPUT"]).read_text().count("ghadelimiter_") == 6


def test_fail_on_warn_turns_the_warning_into_an_error(gh) -> None:
    out = publish(samples.mixed(fail_on_warn=True), gh)
    assert not [ln for ln in out.splitlines() if ln.startswith("::warning")]
    assert read_github_output(Path(gh["GITHUB_OUTPUT"]))["result"] == "fail"


def test_passing_run(gh) -> None:
    out = publish(samples.run(samples.passing()), gh)
    assert "::error" not in out
    outputs = read_github_output(Path(gh["GITHUB_OUTPUT"]))
    assert outputs["result"] == "pass"
    assert json.loads(outputs["digests"]) == {"localhost:5000/team/app:1.2.3": samples.D_APP}


def test_default_allow_is_not_a_verified_digest(gh) -> None:
    from dataclasses import replace

    from sigverify.models import Code, Reason

    allowed = replace(
        samples.passing("localhost:5000/other/x:1"),
        policies=(),
        reasons=(Reason(Code.DEFAULT_ALLOW, "no policy matched; allowed by default: allow"),),
    )
    publish(samples.run(samples.passing(), allowed), gh)
    outputs = read_github_output(Path(gh["GITHUB_OUTPUT"]))
    assert "localhost:5000/other/x:1" not in json.loads(outputs["digests"])
    assert outputs["result"] == "pass"


def test_hostile_values_cannot_inject_workflow_commands(gh) -> None:
    out = publish(samples.run(samples.hostile()), gh)
    lines = out.splitlines()
    # exactly one command line, and the injected text stays inside its escaped message
    assert [ln.split(" ", 1)[0] for ln in lines if ln.startswith("::")] == ["::error"]
    assert "::error::injected" in lines[0] and "%250A" in lines[0]  # '%' of the value escaped
    assert lines[0].startswith("::error file=conf%2Cdir%3Ax/sig.yaml,line=9,")


def test_annotation_paths_are_relative_to_the_workspace(gh, tmp_path, monkeypatch) -> None:
    sub = Path(gh["GITHUB_WORKSPACE"]) / "deploy"
    sub.mkdir()
    monkeypatch.chdir(sub)
    out = publish(samples.run(samples.failing()), gh)
    assert out.startswith("::error file=deploy/sigverify.yaml,line=4,")


def test_stop_commands_bracket_the_run(gh, monkeypatch) -> None:
    monkeypatch.delenv(ci._STOP_TOKEN_ENV, raising=False)
    out = io.StringIO()
    ci.begin("auto", gh, out)
    token = os.environ[ci._STOP_TOKEN_ENV]
    assert out.getvalue() == f"::stop-commands::{token}\n" and len(token) == 32
    ci.publish(samples.run(samples.failing()), env=gh, out=out)
    lines = out.getvalue().splitlines()
    assert lines[1] == f"::{token}::" and lines[2].startswith("::error ")
    assert ci._STOP_TOKEN_ENV not in os.environ


def test_begin_does_nothing_outside_github(monkeypatch) -> None:
    monkeypatch.delenv(ci._STOP_TOKEN_ENV, raising=False)
    out = io.StringIO()
    ci.begin("auto", {"GITLAB_CI": "true"}, out)
    assert out.getvalue() == "" and ci._STOP_TOKEN_ENV not in os.environ


def test_big_run_summary_stays_under_githubs_limit(gh) -> None:
    images = [samples.passing(f"localhost:5000/team/app{i}:1", i) for i in range(5000)] + [samples.failing()]
    publish(samples.run(*images), gh)
    summary = Path(gh["GITHUB_STEP_SUMMARY"]).read_bytes()
    assert len(summary) <= 1024 * 1024 and b"worker" in summary


def test_unwritable_summary_warns_and_does_not_raise(gh, tmp_path, capsys) -> None:
    gh["GITHUB_STEP_SUMMARY"] = str(tmp_path / "missing-dir" / "summary.md")
    publish(samples.run(samples.passing()), gh)
    assert "could not write CI outputs" in capsys.readouterr().err


def test_gitlab_section_lists_failures(tmp_path) -> None:
    out = publish(samples.mixed(), {"GITLAB_CI": "true"})
    assert out.startswith("\x1b[0Ksection_start:") and "[collapsed=false]" in out
    assert out.rstrip("\n").endswith("\x1b[0K") and "section_end:" in out
    assert "FAIL  localhost:5000/team/worker:2.0 (sigverify.yaml:4)" in out
    assert f"expected: {samples.D_WORKER}" in out
    hostile = publish(samples.run(samples.hostile()), {"GITLAB_CI": "true"})
    body = hostile.split("\n", 1)[1].rsplit("\x1b[0Ksection_end", 1)[0]
    assert "\x01" not in body and "\x1b" not in body


def test_gitlab_quiet_when_all_pass() -> None:
    assert publish(samples.run(samples.passing()), {"GITLAB_CI": "true"}) == ""


def test_none_writes_nothing(gh) -> None:
    assert publish(samples.mixed(), gh, mode="none") == ""
    assert Path(gh["GITHUB_OUTPUT"]).read_text() == ""
    assert all(i.verdict in Verdict for i in samples.mixed().images)


def test_reason_on_image_and_policy_is_reported_once(gh) -> None:
    from dataclasses import replace

    img = samples.failing()
    img = replace(img, reasons=img.policies[0].reasons)  # the gate lists the policy's reason on the image too
    out = publish(samples.run(img), gh)
    assert out.count("DIGEST_MISMATCH: the signature") == 1
    gitlab = publish(samples.run(img), {"GITLAB_CI": "true"})
    assert gitlab.count("DIGEST_MISMATCH: the signature") == 1
