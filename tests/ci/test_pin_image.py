"""scripts/pin_image.py, as the release workflow runs it, on a copy of the real files and a fake digest."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.ci.project import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "pin_image.py"
FILES = ("gitlab-ci-template.yml", "templates/sigverify.yml", "examples/Jenkinsfile")
FAKE = "sha256:" + "0123456789abcdef" * 4


def copy_files(root: Path) -> Path:
    for name in FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, root / name)
    return root


def pin(root: Path, *extra: str, digest: str = FAKE) -> subprocess.CompletedProcess[str]:
    args = ["--image", "ghcr.io/acme/sigverify", "--version", "v1.2.3", "--digest", digest, "--root", str(root)]
    return subprocess.run([sys.executable, str(SCRIPT), *args, *extra], capture_output=True, text=True, timeout=60)


def test_pins_the_three_files_by_digest(tmp_path: Path) -> None:
    root = copy_files(tmp_path)
    before = {n: (root / n).read_text() for n in FILES}
    proc = pin(root)
    assert proc.returncode == 0, proc.stderr
    want = f"ghcr.io/acme/sigverify:1.2.3@{FAKE}"
    template = yaml.safe_load((root / "gitlab-ci-template.yml").read_text())
    assert template["variables"]["SIGVERIFY_IMAGE"] == want
    header, _ = yaml.safe_load_all((root / "templates" / "sigverify.yml").read_text())
    assert header["spec"]["inputs"]["image"]["default"] == want
    assert f"image '{want}' // sigverify-release: pin by digest" in (root / "examples" / "Jenkinsfile").read_text()
    for name in FILES:  # one line changed in each file, nothing else
        old, new = before[name].split("\n"), (root / name).read_text().split("\n")
        assert len(old) == len(new) and sum(a != b for a, b in zip(old, new, strict=True)) == 1, name
    assert pin(root).returncode == 0 and (root / FILES[0]).read_text().count(want) == 1  # idempotent


@pytest.mark.parametrize(
    ("args", "digest", "message"),
    [
        ((), "sha256:" + "0" * 63, "--digest"),
        ((), "sha256:" + "A" * 64, "--digest"),
        (("--image", "ghcr.io/acme/sigverify:latest"), FAKE, "--image"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    tmp_path: Path, args: tuple[str, ...], digest: str, message: str
) -> None:
    root = copy_files(tmp_path)
    before = {n: (root / n).read_text() for n in FILES}
    proc = pin(root, *args, digest=digest)
    assert proc.returncode == 2 and message in proc.stderr
    assert {n: (root / n).read_text() for n in FILES} == before


def test_a_file_without_its_marker_fails_and_nothing_is_written(tmp_path: Path) -> None:
    root = copy_files(tmp_path)
    jenkins = root / "examples" / "Jenkinsfile"
    jenkins.write_text(jenkins.read_text().replace("sigverify-release: pin by digest", "pinned"))
    before = (root / "gitlab-ci-template.yml").read_text()
    proc = pin(root)
    assert proc.returncode == 2 and "examples/Jenkinsfile: expected exactly one line marked" in proc.stderr
    assert (root / "gitlab-ci-template.yml").read_text() == before
