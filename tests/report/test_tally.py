"""Titles and totals say exactly what happened: verified, allowed unverified (default: allow), warned, failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigverify.cli import main
from sigverify.models import Code, ImageResult, Reason, Verdict
from sigverify.report import markdown, text
from tests.ci import samples

REPO = Path(__file__).resolve().parents[2]


def _allowed() -> ImageResult:
    """What the gate returns when no policy matches and the config says `default: allow`."""
    return ImageResult(reference="localhost:5000/misc/tool:1", resolved="localhost:5000/misc/tool:1", digest=None,
                       verdict=Verdict.PASS, reasons=(Reason(Code.DEFAULT_ALLOW, "no policy matches; allowed only "
                                                             "because the config says `default: allow`"),))


def _head(md: str) -> str:
    return md.splitlines()[0]


def test_all_verified_is_the_only_all_verified_title() -> None:
    result = samples.run(samples.passing())
    assert _head(markdown.render(result)) == "### ✅ sigverify: all images verified"
    assert "1 image(s): 1 verified." in markdown.render(result)
    assert "1 image(s): 1 verified, 0 failed, 0 warned, 0 errors" in text.render(result)


def test_a_warning_is_not_verified() -> None:
    result = samples.run(samples.passing(), samples.warned())
    assert result.exit_code == 0
    md = markdown.render(result)
    assert _head(md) == "### ⚠️ sigverify: passed, but not every image was verified: 1 verified, 1 warned"
    assert "all images verified" not in md


def test_default_allow_is_allowed_unverified_not_verified() -> None:
    result = samples.run(samples.passing(), _allowed())
    md = markdown.render(result)
    assert _head(md) == ("### ⚠️ sigverify: passed, but not every image was verified: 1 verified, "
                         "1 allowed unverified (default: allow)")
    out = text.render(result)
    assert "2 image(s): 1 verified, 1 allowed unverified (default: allow), 0 failed, 0 warned, 0 errors" in out
    assert "result: PASS (1 allowed unverified by default: allow)" in out


def test_failures_are_named_in_the_totals() -> None:
    md = markdown.render(samples.run(samples.passing(), samples.failing(), samples.errored()))
    assert _head(md) == "### ❌ sigverify: verification failed"
    assert "3 image(s): 1 verified, 1 failed, 1 errors." in md


def test_cli_summary_with_default_allow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "oci-layout").symlink_to(REPO / "examples" / "oci-layout")
    config = tmp_path / "sigverify.yaml"
    config.write_text(
        "version: 1\ndefault: allow\nimages: [oci:oci-layout:app-1.0]\n"
        "policies:\n  - name: other\n    match: ['registry.example/**']\n"
        "    authorities: [{name: k, key: {path: " + str(REPO / "examples/keys/cosign.pub") + "}}]\n",
        encoding="utf-8")
    summary = tmp_path / "summary.md"
    assert main(["verify", "--config", str(config), "--summary", str(summary), "--ci", "none"]) == 0
    md = summary.read_text(encoding="utf-8")
    assert _head(md) == ("### ⚠️ sigverify: passed, but not every image was verified: "
                         "1 allowed unverified (default: allow)")
    assert "1 allowed unverified (default: allow), 0 failed" in capsys.readouterr().out
