"""verify --images-from / images_from: failures annotated at the manifest line (GitHub, SARIF, JUnit), exit 2
on a malformed manifest, skipped documents counted in the report; a real registry for an unsigned image."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sigverify import ci
from sigverify.cli import main
from tests.fixtures.registry import RegistryServer, unique_repo

KEY = Path(__file__).resolve().parents[2] / "examples" / "keys" / "cosign.pub"
MANIFEST = """apiVersion: v1
kind: Service
metadata: {{name: web}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  template:
    spec:
      containers:
      - name: web
        image: {image}
"""
IMAGE_LINE = 13


def _config(tmp_path: Path, match: str, extra: str = "", registries: str = "") -> Path:
    cfg = tmp_path / "sigverify.yaml"
    cfg.write_text(f"""version: 1
{extra}{registries}policies:
  - name: release
    match: ["{match}"]
    authorities:
      - name: release-key
        key: {{path: {KEY}}}
        tlog: ignore
""")
    return cfg


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(ci._STOP_TOKEN_ENV, raising=False)
    for name in ("summary.md", "output"):
        (tmp_path / name).touch()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_failure_is_annotated_at_the_manifest_line(github: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (github / "deploy").mkdir()
    (github / "deploy" / "web.yaml").write_text(MANIFEST.format(image="ghcr.io/acme/web:1.4.2"))
    cfg = _config(github, "localhost:5000/**")
    code = main(["verify", "--config", str(cfg), "--images-from", "deploy/web.yaml", "--sarif", "out.sarif",
                 "--junit", "out.xml", "--json", "out.json", "--ci", "github"])
    out = capsys.readouterr().out
    assert code == 1
    assert f"::error file=deploy/web.yaml,line={IMAGE_LINE},title=sigverify NO_POLICY" in out
    assert "note: --images-from: skipped 1 document(s) or service(s) that declare no image: Service (1)" in out
    sarif = json.loads((github / "out.sarif").read_text())
    (loc,) = sarif["runs"][0]["results"][0]["locations"]
    assert loc["physicalLocation"]["artifactLocation"]["uri"] == "deploy/web.yaml"
    assert loc["physicalLocation"]["region"]["startLine"] == IMAGE_LINE
    assert f"deploy/web.yaml:{IMAGE_LINE}" in ET.tostring(ET.parse(github / "out.xml").getroot(), encoding="unicode")
    report = json.loads((github / "out.json").read_text())
    assert report["images"][0]["source"] == {"file": "deploy/web.yaml", "line": IMAGE_LINE}
    assert report["images"][0]["reasons"][0]["code"] == "NO_POLICY"
    assert report["notes"][0].startswith("--images-from: skipped 1 document(s)")


def test_images_from_in_the_config_is_relative_to_it(github: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = github / "conf"
    (conf / "k8s").mkdir(parents=True)
    (conf / "k8s" / "web.yaml").write_text(MANIFEST.format(image="ghcr.io/acme/web:1.4.2"))
    cfg = _config(conf, "localhost:5000/**", extra="images_from: [k8s]\n")
    code = main(["verify", "--config", str(cfg), "--json", "out.json", "--ci", "github"])
    out = capsys.readouterr().out
    assert code == 1
    assert f"::error file=conf/k8s/web.yaml,line={IMAGE_LINE}," in out
    report = json.loads((github / "out.json").read_text())
    assert report["images"][0]["source"] == {"file": "conf/k8s/web.yaml", "line": IMAGE_LINE}


def test_a_malformed_manifest_is_exit_2_with_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_text(MANIFEST.format(image="ghcr.io/acme/web:1.4.2") + "        image: again\n")
    cfg = _config(tmp_path, "ghcr.io/**")
    assert main(["verify", "--config", str(cfg), "--images-from", "bad.yaml", "--ci", "none"]) == 2
    err = capsys.readouterr().err
    assert f"bad.yaml:{IMAGE_LINE + 1}: spec.template.spec.containers[0].image: duplicate key 'image'" in err
    assert "Traceback" not in err


def test_a_bad_reference_in_a_manifest_is_exit_2_at_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    Path("m.yaml").write_text(MANIFEST.format(image="ghcr.io/Acme/web:1"))
    cfg = _config(tmp_path, "ghcr.io/**")
    assert main(["verify", "--config", str(cfg), "--images-from", "m.yaml", "--ci", "none"]) == 2
    assert f"m.yaml:{IMAGE_LINE}: images: invalid image reference 'ghcr.io/Acme/web:1'" in capsys.readouterr().err


def test_stdin_images_are_verified_without_a_file_annotation(github: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(MANIFEST.format(image="ghcr.io/acme/web:1.4.2")))
    cfg = _config(github, "localhost:5000/**")
    assert main(["verify", "--config", str(cfg), "--images-from", "-", "--ci", "github"]) == 1
    out = capsys.readouterr().out
    assert "NO_POLICY" in out
    assert "file=<stdin>" not in out


@pytest.mark.registry
def test_an_unsigned_image_from_a_real_registry_fails_at_its_line(registry: RegistryServer, github: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    repo = unique_repo("declared")
    registry.push_image(repo, "1.0")
    image = f"{registry.host}/{repo}:1.0"
    Path("web.yaml").write_text(MANIFEST.format(image=image))
    Path("compose.yaml").write_text(f"services:\n  web:\n    image: {image}\n  db:\n    build: .\n")
    cfg = _config(github, f"{registry.host}/**", registries=f"registries:\n  {registry.host}: {{insecure: true}}\n")
    code = main(["verify", "--config", str(cfg), "--images-from", "compose.yaml", "--images-from", "web.yaml",
                 "--json", "out.json", "--ci", "github"])
    out = capsys.readouterr().out
    assert code == 1
    report = json.loads(Path("out.json").read_text())
    (img,) = report["images"]  # one image, reported at the first place it is declared
    assert img["reasons"][0]["code"] == "NO_SIGNATURE", img
    assert img["source"] == {"file": "compose.yaml", "line": 3}
    assert "::error file=compose.yaml,line=3,title=sigverify NO_SIGNATURE" in out
    assert "Service (1)" in out and "compose service built locally (1)" in out
    assert os.path.exists("out.json")


def test_an_image_declared_twice_is_verified_once_and_its_other_places_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a.yaml").write_text(MANIFEST.format(image="ghcr.io/acme/web:1.4.2"))
    Path("b.yaml").write_text("services:\n  web:\n    image: GHCR.io/acme/web:1.4.2\n")
    cfg = _config(tmp_path, "localhost:5000/**")
    assert main(["verify", "--config", str(cfg), "--images-from", "a.yaml", "--images-from", "b.yaml",
                 "--json", "out.json", "--ci", "none"]) == 1
    report = json.loads(Path("out.json").read_text())
    assert [i["source"] for i in report["images"]] == [{"file": "a.yaml", "line": IMAGE_LINE}]
    assert any(f"ghcr.io/acme/web:1.4.2 (reported at a.yaml:{IMAGE_LINE}) is also declared at b.yaml:3" in n
               for n in report["notes"])


def test_a_file_named_twice_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a.yaml").write_text(MANIFEST.format(image="ghcr.io/acme/web:1.4.2"))
    cfg = _config(tmp_path, "localhost:5000/**", extra="images_from: [a.yaml]\n")
    assert main(["verify", "--config", str(cfg), "--images-from", "./a.yaml", "--json", "out.json",
                 "--ci", "none"]) == 1
    notes = json.loads(Path("out.json").read_text())["notes"]
    assert notes == ["--images-from: skipped 1 document(s) or service(s) that declare no image: Service (1)"]


def test_manifests_without_images_are_exit_2_and_say_what_was_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("svc.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n")
    cfg = _config(tmp_path, "ghcr.io/**")
    assert main(["verify", "--config", str(cfg), "--images-from", "svc.yaml", "--ci", "none"]) == 2
    err = capsys.readouterr().err
    assert "no images to verify" in err and "Service (1)" in err and "--images-from PATH" in err
