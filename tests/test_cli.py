"""The CLI end to end on the shipped example (an OCI layout): exit codes, reports, sharding, merge."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sigverify import formats as verifiers
from sigverify.cli import main
from sigverify.models import Candidate, Format, SignatureCheck

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "sigverify.yaml"
FAILING = REPO / "examples" / "failing.yaml"


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, dict[str, Any]]:
    code = main([*argv, "--format", "json", "--ci", "none"])
    return code, json.loads(capsys.readouterr().out)


def test_example_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _json(capsys, ["verify", "--config", str(EXAMPLE)])
    assert code == 0
    assert [i["verdict"] for i in doc["images"]] == ["pass", "pass"]
    assert all(i["digest"].startswith("sha256:") for i in doc["images"])
    assert doc["summary"] == {"total": 2, "pass": 2, "fail": 0, "warn": 0, "error": 0, "exit_code": 0}
    sig = doc["images"][0]["signatures"][0]
    assert sig["verified"] is True and sig["format"] == "cosign-classic" and sig["authority"] == "example-key"


def test_failing_example_names_each_reason(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _json(capsys, ["verify", "--config", str(FAILING)])
    assert code == 1
    unsigned, wrong_annotation = doc["images"]
    assert unsigned["verdict"] == "fail" and unsigned["reasons"][0]["code"] == "NO_SIGNATURE"
    assert unsigned["source"] == {"file": str(FAILING), "line": 5}
    reason = wrong_annotation["reasons"][0]
    assert reason["code"] == "ANNOTATION_MISMATCH"
    assert "staging" in reason["expected"] and "production" in reason["found"]


def test_text_report_and_console_script() -> None:
    exe = shutil.which("sigverify") or str(Path(sys.executable).parent / "sigverify")
    proc = subprocess.run([exe, "verify", "--config", str(FAILING), "--ci", "none"], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "FAIL  oci:oci-layout:unsigned" in proc.stdout
    assert "expected: {\"env\": \"staging\"}" in proc.stdout
    assert "result: FAIL" in proc.stdout
    version = subprocess.run([exe, "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("sigverify ")


def test_positional_images_add_to_the_config(capsys: pytest.CaptureFixture[str]) -> None:
    extra = "oci:" + str(REPO / "examples/oci-layout") + ":unsigned"
    code, doc = _json(capsys, ["verify", "--config", str(EXAMPLE), extra])
    assert code == 1
    assert [i["verdict"] for i in doc["images"]] == ["pass", "pass", "fail"]
    assert "source" not in doc["images"][2]


def test_usage_and_config_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["verify"]) == 2
    assert "--config was not given" in capsys.readouterr().err
    assert main(["verify", "--concurrency", "0", "--config", str(EXAMPLE)]) == 2
    assert main(["verify", "--shard", "3/2", "--config", str(EXAMPLE)]) == 2
    assert main([]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("oci:oci-layout:app-1.0", "Not/A:Valid:Ref").replace(
        "keys/cosign.pub", str(REPO / "examples/keys/cosign.pub")))
    capsys.readouterr()
    assert main(["verify", "--config", str(bad), "--ci", "none"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:6" in err and "invalid image reference" in err


def test_no_images_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.yaml"
    text = EXAMPLE.read_text()
    cfg.write_text(text.split("images:")[0] + "policies:" + text.split("policies:")[1].replace(
        "keys/cosign.pub", str(REPO / "examples/keys/cosign.pub")))
    assert main(["verify", "--config", str(cfg), "--ci", "none"]) == 2
    assert "no images to verify" in capsys.readouterr().err


def test_shards_then_merge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["verify", "--config", str(FAILING), "--shard", "1/2", "--json", str(a), "-q", "--ci", "none"]) == 1
    assert main(["verify", "--config", str(FAILING), "--shard", "2/2", "--json", str(b), "-q", "--ci", "none"]) == 1
    assert capsys.readouterr().out.splitlines() == ["FAIL  oci:oci-layout:unsigned NO_SIGNATURE",
                                                    "FAIL  oci:oci-layout:app-1.0 ANNOTATION_MISMATCH"]  # -q
    shard_a, shard_b = json.loads(a.read_text()), json.loads(b.read_text())
    assert [i["reference"] for i in shard_a["images"]] == ["oci:oci-layout:unsigned"]
    assert [i["reference"] for i in shard_b["images"]] == ["oci:oci-layout:app-1.0"]
    code, merged = _json(capsys, ["merge", str(a), str(b)])
    assert code == 1
    assert merged["summary"]["total"] == 2 and merged["summary"]["fail"] == 2
    ok = tmp_path / "ok.json"
    assert main(["verify", "--config", str(EXAMPLE), "--json", str(ok), "-q", "--ci", "none"]) == 0
    assert capsys.readouterr().out == ""  # -q: nothing for passing images
    code, merged = _json(capsys, ["merge", str(ok)])
    assert code == 0
    assert main(["merge", str(ok), str(tmp_path / "missing.json"), "--ci", "none"]) == 2


class _Broken:
    def verify(self, candidate: Candidate, authority: object, ctx: object) -> SignatureCheck:
        raise RuntimeError("boom")


BROKEN = _Broken()


def test_a_crashing_verifier_is_exit_3_never_a_pass(capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(verifiers.VERIFIERS, (Format.COSIGN_CLASSIC, "key"), "tests.test_cli:BROKEN")
    monkeypatch.setattr(verifiers, "_loaded", {})
    code, doc = _json(capsys, ["verify", "--config", str(EXAMPLE)])
    assert code == 3
    assert all(i["verdict"] == "error" for i in doc["images"])
    assert "boom" in json.dumps(doc)


def test_an_unreadable_trust_root_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "trusted_root.json"
    broken.write_text("{not json")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(EXAMPLE.read_text().replace("tlog: ignore", "tlog: require").replace(
        "keys/cosign.pub", str(REPO / "examples/keys/cosign.pub")).replace(
        "oci:oci-layout", "oci:" + str(REPO / "examples/oci-layout")))
    assert main(["verify", "--config", str(cfg), "--trust-root", str(broken), "--ci", "none"]) == 2
    assert "trusted_root.json" in capsys.readouterr().err
