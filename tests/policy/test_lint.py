"""sigverify lint: identity rules that accept too much are warned about (exit 0) or fail (--strict, exit 2),
each with where it is written and the concrete fix; verify shows the same warnings once, first."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigverify.cli import main
from sigverify.policy import load_config
from sigverify.policy.lint import lint

KEY = Path(__file__).resolve().parents[2] / "examples" / "keys" / "cosign.pub"


def _config(tmp_path: Path, keyless: str, extra: str = "", tlog: str = "") -> Path:
    cfg = tmp_path / "sigverify.yaml"
    cfg.write_text(f"""version: 1
{extra}policies:
  - name: release
    match: ["ghcr.io/acme/**"]
    authorities:
      - name: ci
        keyless: {keyless}
{tlog}""")
    return cfg


def _codes(cfg: Path) -> list[str]:
    return [w.code for w in lint(load_config(cfg))]


GOOD = "{issuer: https://token.actions.githubusercontent.com, subject_regexp: 'https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/v[0-9.]+'}"


@pytest.mark.parametrize(
    ("keyless", "codes"),
    [
        (GOOD, []),
        ("{issuer: https://token.actions.githubusercontent.com, subject_regexp: '.*'}", ["REGEXP_ACCEPTS_ANY"]),
        ("{issuer_regexp: '.*', subject: a@acme.example}", ["REGEXP_ACCEPTS_ANY"]),
        ("{issuer: https://accounts.google.com, subject_regexp: '.*@acme\\.example'}", ["REGEXP_UNANCHORED"]),
        ("{issuer: https://token.actions.githubusercontent.com, "
         "subject_regexp: 'https://github\\.com/acme/.*'}", ["REGEXP_DOT_STAR"]),
        ("{issuer_regexp: 'https://token\\.actions\\.githubusercontent\\.com', subject: a}", ["REGEXP_COULD_BE_EXACT"]),
        ("{issuer_regexp: 'https://(token\\.actions\\.githubusercontent|gitlab)\\.com', subject: a}",
         ["REGEXP_ISSUER"]),
        ("{issuer: 'http://issuer.example', subject: a}", ["HTTP_ISSUER"]),
        ("{issuer: https://accounts.google.com, subject_regexp: 'https://github.com/acme/app/x'}",
         ["REGEXP_UNESCAPED_DOT"]),
    ],
)
def test_identity_rules(keyless: str, codes: list[str], tmp_path: Path) -> None:
    assert _codes(_config(tmp_path, keyless)) == codes


def test_default_allow_and_tlog_ignore_on_keyless(tmp_path: Path) -> None:
    cfg = _config(tmp_path, GOOD, extra="default: allow\n", tlog="        tlog: ignore\n")
    warnings = lint(load_config(cfg))
    assert [(w.code, w.line) for w in warnings] == [("DEFAULT_ALLOW", 2), ("TLOG_IGNORED", 9)]
    assert "remove tlog: ignore" in warnings[1].fix


def test_tlog_ignore_on_a_key_authority_is_not_a_keyless_warning(tmp_path: Path) -> None:
    cfg = tmp_path / "sigverify.yaml"
    cfg.write_text(f"""version: 1
policies:
  - name: p
    match: ["ghcr.io/acme/**"]
    authorities: [{{name: k, key: {{path: {KEY}}}, tlog: ignore}}]
""")
    assert lint(load_config(cfg)) == []


def test_lint_command_warns_and_strict_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path, "{issuer: https://accounts.google.com, subject_regexp: '.*@acme\\.example'}")
    assert main(["lint", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert f"warning: {cfg}:7: policy 'release', authority 'ci': REGEXP_UNANCHORED:" in out
    assert "fix: start the regexp with the literal beginning of the subject" in out
    assert main(["lint", "--config", str(cfg), "--strict"]) == 2
    assert "error: " in capsys.readouterr().out
    good = _config(tmp_path, GOOD)
    assert main(["lint", "--config", str(good), "--strict"]) == 0
    assert "no identity rule accepts too much" in capsys.readouterr().out


def test_verify_shows_the_warnings_once_before_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    cfg = _config(tmp_path, "{issuer: https://accounts.google.com, subject_regexp: '.*'}", extra="images: "
                  "[ghcr.io/other/app:1]\n")
    assert main(["verify", "--config", str(cfg), "--ci", "none"]) == 1  # NO_POLICY: no network needed
    captured = capsys.readouterr()
    assert "REGEXP_ACCEPTS_ANY" not in captured.err  # not twice: the report shows them
    out = captured.out
    assert out.count("REGEXP_ACCEPTS_ANY") == 1
    assert out.index(f"warning: {cfg}:8: policy 'release', authority 'ci': REGEXP_ACCEPTS_ANY") < out.index(
        "ghcr.io/other/app:1")


def test_imported_unanchored_regexps_are_flagged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples" / "import"
    out = tmp_path / "sigverify.yaml"
    assert main(["import", str(examples / "policy-controller-warn.yaml"), "-o", str(out)]) == 0
    codes = {w.code for w in lint(load_config(out))}
    assert {"REGEXP_UNANCHORED", "REGEXP_ISSUER"} <= codes


def test_verify_warnings_cannot_become_workflow_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    from sigverify import ci

    monkeypatch.delenv(ci._STOP_TOKEN_ENV, raising=False)
    for name in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"):
        (tmp_path / name).touch()
        monkeypatch.setenv(name, str(tmp_path / name))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    log = io.StringIO()  # one stream, as the job log interleaves stdout and stderr
    monkeypatch.setattr(sys, "stdout", log)
    monkeypatch.setattr(sys, "stderr", log)
    cfg = _config(tmp_path, "{issuer: https://accounts.google.com, subject_regexp: '.*::add-mask::x'}",
                  extra="images: [ghcr.io/other/app:1]\n")
    assert main(["verify", "--config", str(cfg), "--ci", "github"]) == 1
    text = log.getvalue()
    assert "::add-mask::x" in text
    assert text.index("::stop-commands::") < text.index("REGEXP_UNANCHORED")  # commands stopped before the quote
