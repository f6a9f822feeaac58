"""The terminal report shows expected vs found and neutralises control characters from the registry."""

from __future__ import annotations

from sigverify.models import ImageResult, PolicyResult, Reason, RunResult, Verdict
from sigverify.report.text import render


def test_failure_block_and_escapes() -> None:
    reason = Reason("ANNOTATION_MISMATCH", "env differs\x1b[2J", expected='{"env": "prod"}', found='{"env": "dev"}',
                    policy="p", authority="k")
    img = ImageResult(reference="r.io/a:1", resolved="r.io/a:1@sha256:" + "1" * 64, digest="sha256:" + "1" * 64,
                      verdict=Verdict.FAIL, policies=(PolicyResult("p", "enforce", False, 1, (), (reason,)),),
                      reasons=(reason,))
    text = render(RunResult(images=(img,), tool_version="0", config_path="c.yaml"))
    assert "FAIL  r.io/a:1" in text
    assert 'expected: {"env": "prod"}' in text and 'found:    {"env": "dev"}' in text
    assert "\x1b" not in text and "\\x1b[2J" in text
    assert text.rstrip().endswith("result: FAIL")


def test_warn_passes_unless_fail_on_warn() -> None:
    img = ImageResult(reference="r.io/a:1", resolved="r.io/a:1", digest=None, verdict=Verdict.WARN)
    assert "result: PASS (with warnings)" in render(RunResult(images=(img,)))
    assert "result: FAIL" in render(RunResult(images=(img,), fail_on_warn=True))
