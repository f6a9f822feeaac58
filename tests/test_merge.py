"""`sigverify merge` fails closed: exactly one report per shard I of one N, one config fingerprint, one version."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from sigverify.cli import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the shipped example (two signed images in an OCI layout), so tests can edit it."""
    root = tmp_path / "ex"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("*.yml", "Jenkinsfile"))
    return root


def unsigned(example: Path) -> str:
    return "oci:" + str(example / "oci-layout") + ":unsigned"


def shard(config: Path, spec: str | None, out: Path, *extra: str) -> Path:
    """Run one shard job (the third image, shard 3/3, is the unsigned one that fails)."""
    argv = ["verify", "--config", str(config), "--json", str(out), "-q", "--ci", "none", *extra]
    if spec:
        argv += ["--shard", spec]
    assert main(argv) in (0, 1)
    return out


def merge(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(["merge", *argv, "--format", "json", "--ci", "none"])
    return code, json.loads(capsys.readouterr().out)


def codes(doc: dict[str, Any]) -> list[str]:
    return [r["code"] for i in doc["images"] for r in i["reasons"] if r["code"].startswith("SHARD_")]


@pytest.fixture
def three(example: Path, tmp_path: Path) -> list[Path]:
    cfg = example / "sigverify.yaml"
    return [shard(cfg, f"{i}/3", tmp_path / f"s{i}.json", unsigned(example)) for i in (1, 2, 3)]


def test_every_report_says_what_it_is_a_part_of(three: list[Path]) -> None:
    parts = [json.loads(p.read_text())["part"] for p in three]
    assert [(p["index"], p["total"], p["shard"]) for p in parts] == [(1, 3, "1/3"), (2, 3, "2/3"), (3, 3, "3/3")]
    assert len({p["fingerprint"] for p in parts}) == 1 and parts[0]["fingerprint"].startswith("sha256:")
    assert all(p["version"] for p in parts)


def test_all_shards_merge_to_the_whole_verdict(three: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = merge(capsys, *map(str, three), "--expect-shards", "3")
    assert code == 1  # shard 3 holds the unsigned image
    assert codes(doc) == []
    assert doc["summary"] == {"total": 3, "pass": 2, "fail": 1, "warn": 0, "error": 0, "exit_code": 1}
    assert doc["part"]["shard"] == "1/1" and doc["part"]["fingerprint"].startswith("sha256:")


def test_passing_shards_merge_to_a_pass(example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = example / "sigverify.yaml"
    reports = [shard(cfg, f"{i}/2", tmp_path / f"p{i}.json") for i in (1, 2)]
    code, doc = merge(capsys, *map(str, reports))
    assert code == 0 and doc["summary"]["pass"] == 2
    capsys.readouterr()
    assert main(["merge", *map(str, reports), "--ci", "none"]) == 0
    assert "result: PASS" in capsys.readouterr().out


def test_a_missing_shard_fails(three: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = merge(capsys, str(three[0]), str(three[1]))
    assert code == 1
    assert codes(doc) == ["SHARD_MISSING"]
    missing = doc["images"][0]
    assert missing["reference"] == "merge: shard 3/3" and missing["verdict"] == "error"
    capsys.readouterr()
    assert main(["merge", str(three[0]), str(three[1]), "--ci", "none"]) == 1
    out = capsys.readouterr().out
    assert "SHARD_MISSING" in out and "result: FAIL" in out


def test_the_same_shard_twice_fails(three: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = merge(capsys, *map(str, three), str(three[1]))
    assert code == 1 and codes(doc) == ["SHARD_DUPLICATE"]
    copy = tmp_path / "copy.json"
    shutil.copy(three[0], copy)  # the same shard under another name: still a duplicate, and 3/3 is missing
    code, doc = merge(capsys, str(three[0]), str(copy), str(three[1]))
    assert code == 1 and sorted(codes(doc)) == ["SHARD_DUPLICATE", "SHARD_MISSING"]


def test_two_configs_fail(example: Path, three: list[Path], tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    # shard 3/3 of a run over another image list (the unsigned image left out)
    other = shard(example / "sigverify.yaml", "3/3", tmp_path / "other.json")
    code, doc = merge(capsys, str(three[0]), str(three[1]), str(other))
    assert code == 1 and codes(doc) == ["SHARD_MISMATCH"]
    # the same images under another policy
    cfg = example / "other.yaml"
    cfg.write_text((example / "sigverify.yaml").read_text().replace("threshold: 1", "threshold: 1\n    mode: warn")
                   .replace("    mode: enforce\n", ""))
    changed = shard(cfg, "3/3", tmp_path / "policy.json", unsigned(example))
    code, doc = merge(capsys, str(three[0]), str(three[1]), str(changed))
    assert code == 1 and codes(doc) == ["SHARD_MISMATCH"]


def test_different_shard_counts_and_expect_shards(example: Path, three: list[Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    cfg = example / "sigverify.yaml"
    half = shard(cfg, "2/2", tmp_path / "half.json", unsigned(example))
    code, doc = merge(capsys, str(three[0]), str(half))
    assert code == 1 and "SHARD_MISMATCH" in codes(doc)
    whole = shard(cfg, None, tmp_path / "whole.json", unsigned(example))
    code, doc = merge(capsys, str(whole), "--expect-shards", "3")
    assert code == 1 and codes(doc) == ["SHARD_MISMATCH", "SHARD_MISSING", "SHARD_MISSING"]
    code, doc = merge(capsys, "--expect-shards", "2")  # no shard job left a report
    assert code == 1 and codes(doc) == ["SHARD_MISSING", "SHARD_MISSING"]


def test_an_unsharded_report_merges_alone(example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    whole = shard(example / "sigverify.yaml", None, tmp_path / "whole.json")
    assert json.loads(whole.read_text())["part"]["shard"] == "1/1"
    code, doc = merge(capsys, str(whole))
    assert code == 0 and doc["summary"]["pass"] == 2
    code, doc = merge(capsys, str(whole), str(whole))
    assert code == 1 and codes(doc) == ["SHARD_DUPLICATE"]


def test_reports_without_part_or_of_another_version_fail(three: list[Path], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads(three[2].read_text())
    del doc["part"]
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(doc))
    code, merged = merge(capsys, str(three[0]), str(three[1]), str(bare))
    assert code == 1 and codes(merged) == ["SHARD_MISMATCH", "SHARD_MISSING"]
    doc = json.loads(three[2].read_text())
    doc["part"]["version"] = "0.0.0-other"
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    code, merged = merge(capsys, str(three[0]), str(three[1]), str(old))
    assert code == 1 and codes(merged) == ["SHARD_MISMATCH"]


def test_unreadable_reports_are_usage_errors(three: list[Path], tmp_path: Path) -> None:
    assert main(["merge", str(three[0]), str(tmp_path / "missing.json"), "--ci", "none"]) == 2
    (tmp_path / "junk.json").write_text("{not json")
    assert main(["merge", str(tmp_path / "junk.json"), "--ci", "none"]) == 2
    assert main(["merge", "--ci", "none"]) == 2  # nothing to merge and no --expect-shards


def test_fingerprint_ignores_where_the_repository_is_checked_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reports = []
    for i in (1, 2):
        root = tmp_path / f"checkout{i}"
        shutil.copytree(EXAMPLES, root)
        monkeypatch.chdir(root)
        reports.append(shard(Path("sigverify.yaml"), f"{i}/2", tmp_path / f"c{i}.json"))
    code, doc = merge(capsys, *map(str, reports))
    assert code == 0 and codes(doc) == []
