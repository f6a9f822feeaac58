"""Where the results go: unwritable outputs are exit 3, config errors show in GitHub, -q, workflow commands."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from sigverify import ci
from sigverify.cli import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "sigverify.yaml"  # passes (exit 0)
FAILING = REPO / "examples" / "failing.yaml"  # fails (exit 1)


@pytest.fixture
def blocked(tmp_path: Path) -> Path:
    """A path nothing can be written to, even as root: its parent is a regular file."""
    wall = tmp_path / "wall"
    wall.write_text("a file, not a directory\n")
    return wall / "report"


@pytest.fixture
def gh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A GitHub Actions environment (the process environment: the CLI reads os.environ)."""
    monkeypatch.delenv(ci._STOP_TOKEN_ENV, raising=False)
    summary, output = tmp_path / "summary.md", tmp_path / "output"
    summary.touch()
    output.touch()
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output),
           "GITHUB_WORKSPACE": str(tmp_path)}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


@pytest.mark.parametrize("option", ["--json", "--junit", "--sarif", "--summary"])
@pytest.mark.parametrize(("config", "verdict"), [(EXAMPLE, "pass"), (FAILING, "fail")])
def test_an_unwritable_report_is_exit_3(option: str, config: Path, verdict: str, blocked: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    other = "--junit" if option != "--junit" else "--json"
    written = tmp_path / "other.out"
    code = main(["verify", "--config", str(config), option, str(blocked), other, str(written), "--ci", "none"])
    assert code == 3
    err = capsys.readouterr().err
    assert f"could not write the {option} report: {blocked}" in err
    assert f"the result ({verdict}) was not delivered" in err
    assert "Traceback" not in err
    assert written.stat().st_size > 0  # every other channel is still written


@pytest.mark.parametrize("variable", ["GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"])
@pytest.mark.parametrize("config", [EXAMPLE, FAILING])
def test_an_unwritable_github_file_is_exit_3(variable: str, config: Path, gh: dict[str, str], blocked: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(variable, str(blocked))
    assert main(["verify", "--config", str(config)]) == 3
    captured = capsys.readouterr()
    assert f"could not write CI outputs: {variable}={blocked}" in captured.err
    assert "Traceback" not in captured.err
    other = "GITHUB_STEP_SUMMARY" if variable == "GITHUB_OUTPUT" else "GITHUB_OUTPUT"
    assert Path(gh[other]).read_text()  # the other file is still written
    assert_commands_resumed(captured.out)


def test_the_merge_command_is_exit_3_too(tmp_path: Path, blocked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "r.json"
    assert main(["verify", "--config", str(EXAMPLE), "--json", str(report), "-q", "--ci", "none"]) == 0
    assert main(["merge", str(report), "--junit", str(blocked), "--ci", "none"]) == 3


def assert_commands_resumed(out: str) -> None:
    """Every ``::stop-commands::TOKEN`` is followed by ``::TOKEN::`` before the output ends."""
    stops = re.findall(r"^::stop-commands::(\w+)$", out, re.M)
    for token in stops:
        assert out.index(f"::{token}::") > out.index(f"::stop-commands::{token}")
    assert len(stops) <= 1


@pytest.mark.parametrize(("argv", "want"), [
    (["verify", "--config", str(EXAMPLE)], 0),
    (["verify", "--config", str(FAILING)], 1),
    (["verify", "--config", "missing.yaml"], 2),
    (["verify", "--config", str(EXAMPLE), "--json", "BLOCKED"], 3),
])
def test_workflow_commands_resume_on_every_exit_path(argv: list[str], want: int, gh: dict[str, str],
                                                     blocked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([str(blocked) if a == "BLOCKED" else a for a in argv])
    assert code == want
    out = capsys.readouterr().out
    assert "::stop-commands::" in out
    assert_commands_resumed(out)
    assert ci._STOP_TOKEN_ENV not in os.environ


def test_a_config_error_is_annotated_in_github(gh: dict[str, str], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("oci:oci-layout:app-1.0", '"Not/A:Valid:Ref\\e::x"').replace(
        "keys/cosign.pub", str(REPO / "examples/keys/cosign.pub")))
    assert main(["verify", "--config", str(bad)]) == 2
    captured = capsys.readouterr()
    assert "invalid image reference" in captured.err and f"{bad}:6" in captured.err
    assert "\x1b" not in captured.err
    errors = [line for line in captured.out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1
    assert errors[0].startswith("::error file=bad.yaml,line=6,title=sigverify configuration error::")
    assert "invalid image reference" in errors[0] and "\x1b" not in errors[0]
    assert_commands_resumed(captured.out)
    summary = Path(gh["GITHUB_STEP_SUMMARY"]).read_text()
    assert "sigverify: configuration error" in summary and "bad.yaml:6" in summary


def test_a_config_error_without_a_file_is_annotated_too(gh: dict[str, str], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["verify"]) == 2
    out = capsys.readouterr().out
    assert "::error title=sigverify configuration error::no policy file" in out
    assert "no policy file" in Path(gh["GITHUB_STEP_SUMMARY"]).read_text()


def test_an_unwritable_summary_on_a_config_error_is_still_exit_2(gh: dict[str, str], blocked: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(blocked))
    assert main(["verify", "--config", "missing.yaml"]) == 2
    err = capsys.readouterr().err
    assert "could not write CI outputs: GITHUB_STEP_SUMMARY" in err and "Traceback" not in err


def test_no_annotations_outside_github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["verify"]) == 2
    assert capsys.readouterr().out == ""


def test_quiet_prints_one_line_per_image_that_did_not_pass(capsys: pytest.CaptureFixture[str]) -> None:
    extra = "oci:" + str(REPO / "examples/oci-layout") + ":unsigned"
    assert main(["verify", "--config", str(EXAMPLE), extra, "-q", "--ci", "none"]) == 1
    assert capsys.readouterr().out == f"FAIL  {extra} NO_SIGNATURE\n"
    assert main(["verify", "--config", str(EXAMPLE), "-q", "--ci", "none"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["verify", "--config", str(FAILING), "-q", "--format", "json", "--ci", "none"]) == 1
    assert capsys.readouterr().out.splitlines() == ["FAIL  oci:oci-layout:unsigned NO_SIGNATURE",
                                                    "FAIL  oci:oci-layout:app-1.0 ANNOTATION_MISMATCH"]


def test_reports_state_the_digest_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    j, s = tmp_path / "r.json", tmp_path / "s.md"
    assert main(["verify", "--config", str(EXAMPLE), "--json", str(j), "--summary", str(s), "--ci", "none"]) == 0
    contract = "verified exactly the digests it reports"
    assert contract in capsys.readouterr().out
    assert contract in j.read_text() and contract in s.read_text()


def test_a_usage_error_is_annotated_in_github(gh: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--bogus\n::add-mask::x\x1b"]) == 2  # argparse quotes unknown arguments raw
    captured = capsys.readouterr()
    assert captured.out.startswith("::error title=sigverify usage error::unrecognized arguments: --bogus\\n")
    assert len(captured.out.splitlines()) == 1 and "\x1b" not in captured.out + captured.err
    assert not any(line.startswith("::add-mask::") for line in captured.err.splitlines())


def test_a_failed_write_leaves_no_stale_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import errno
    import tempfile

    report = tmp_path / "r.json"
    assert main(["verify", "--config", str(FAILING), "--json", str(report), "-q", "--ci", "none"]) == 1
    assert report.stat().st_mode & 0o777 == 0o666 & ~_umask()
    report.write_text('{"stale": "a report of an earlier run"}')

    def full(*args: object, **kwargs: object) -> tuple[int, str]:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", full)
    assert main(["verify", "--config", str(EXAMPLE), "--json", str(report), "--ci", "none"]) == 3
    assert "could not write the --json report" in capsys.readouterr().err
    assert not report.exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_an_undelivered_pass_is_not_a_pass_output(gh: dict[str, str], blocked: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from tests.ci.project import read_github_output

    assert main(["verify", "--config", str(EXAMPLE)]) == 0
    assert read_github_output(Path(gh["GITHUB_OUTPUT"]))["result"] == "pass"
    Path(gh["GITHUB_OUTPUT"]).write_text("")
    assert main(["verify", "--config", str(EXAMPLE), "--junit", str(blocked)]) == 3
    assert read_github_output(Path(gh["GITHUB_OUTPUT"]))["result"] == "fail"
    Path(gh["GITHUB_OUTPUT"]).write_text("")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(blocked))
    assert main(["verify", "--config", str(EXAMPLE)]) == 3
    assert read_github_output(Path(gh["GITHUB_OUTPUT"]))["result"] == "fail"
