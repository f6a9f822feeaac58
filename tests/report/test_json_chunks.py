"""The JSON report written in pieces is byte for byte the rendered one, and the CLI's --json file is too."""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
from pathlib import Path

from sigverify.models import RunResult, Verdict
from sigverify.report import json as json_report
from tests.report.test_escaping import hostile_run

cli = importlib.import_module("sigverify.cli.main")  # the module (the package exports the function main)


def many_images(n: int) -> RunResult:
    """n images, mixed verdicts, non-ASCII and control characters, floats (duration_ms)."""
    one = hostile_run()
    img = one.images[0]
    images = tuple(
        dataclasses.replace(img, reference=f"r.example/app-é-{i}:1", verdict=(Verdict.PASS, Verdict.FAIL)[i % 2],
                            duration_ms=i / 7)
        for i in range(n)
    )
    return dataclasses.replace(one, images=images, shard="2/3")


def test_chunks_are_exactly_render() -> None:
    for run in (hostile_run(), many_images(50)):
        pieces = list(json_report.chunks(run))
        assert len(pieces) > 10  # in pieces, not one string
        assert "".join(pieces) == json_report.render(run)
        assert json.loads("".join(pieces))["part"]["shard"] == (run.shard or "1/1")


def test_write_of_pieces_is_the_rendered_report(tmp_path: Path) -> None:
    run = many_images(20)
    failures: list[str] = []
    out = tmp_path / "sub" / "report.json"
    cli._write("--json", str(out), json_report.chunks(run), failures)
    assert failures == []
    assert out.read_bytes() == json_report.render(run).encode("utf-8")
    buf = io.StringIO()
    buf.writelines(json_report.chunks(run))
    assert buf.getvalue() == json_report.render(run)
