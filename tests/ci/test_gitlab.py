"""The GitLab template included and run by gitlab-ci-local (shell executor) against the test registry."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from lxml import etree

from tests.ci import tools
from tests.ci.project import REPO_ROOT, Project, make_project
from tests.fixtures.registry import RegistryServer

XSD = REPO_ROOT / "tests" / "ci" / "schemas" / "jenkins-junit.xsd"


def run_pipeline(project: Project, ci: dict, *jobs: str, commit: bool = True) -> subprocess.CompletedProcess[str]:
    """Write .gitlab-ci.yml (including the template by `include: local:`), commit, run the jobs."""
    root = project.root
    shutil.copy(REPO_ROOT / "gitlab-ci-template.yml", root / "gitlab-ci-template.yml")
    (root / ".gitlab-ci.yml").write_text(yaml.safe_dump(ci, sort_keys=False))
    git = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci"]
    if not (root / ".git").exists():
        subprocess.run([*git, "init", "-q", "-b", "main"], cwd=root, check=True)
    if commit:
        subprocess.run([*git, "add", "-A"], cwd=root, check=True)
        subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "ci"], cwd=root, check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # `sigverify` as in the image
    return subprocess.run(
        [tools.gitlab_ci_local(), "--force-shell-executor", "--no-color", *jobs],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def artifact(project: Project, job: str, name: str) -> Path:
    return project.root / ".gitlab-ci-local" / "artifacts" / job / "sigverify-reports" / name


INCLUDE = {"include": [{"local": "gitlab-ci-template.yml"}], "stages": ["verify"]}


def test_job_fails_on_a_bad_image_and_leaves_the_junit_report(registry: RegistryServer, tmp_path: Path) -> None:
    project = make_project(registry, tmp_path / "proj")
    proc = run_pipeline(project, INCLUDE, "sigverify")
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "FAIL  sigverify" in proc.stdout or "FAIL" in proc.stdout
    assert "section_start:" in proc.stdout or "(sigverify.yaml:" in proc.stdout  # the collapsible failure list
    junit = artifact(project, "sigverify", "sigverify.xml")
    root = etree.parse(str(junit)).getroot()
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(root)
    failed = [tc.get("name") for tc in root.iter("testcase") if tc.find("failure") is not None]
    assert failed == [project.bad]
    assert artifact(project, "sigverify", "sigverify.json").is_file()


def test_job_passes_on_good_images_added_by_variable(registry: RegistryServer, tmp_path: Path) -> None:
    project = make_project(registry, tmp_path / "proj", images=())
    ci = {**INCLUDE, "sigverify": {"variables": {"SIGVERIFY_IMAGES": f"{project.good}\n{project.good}"}}}
    proc = run_pipeline(project, ci, "sigverify")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    root = etree.parse(str(artifact(project, "sigverify", "sigverify.xml"))).getroot()
    assert root.get("failures") == "0" and int(root.get("tests")) >= 1


def test_parallel_shards_and_merge(registry: RegistryServer, tmp_path: Path) -> None:
    project = make_project(registry, tmp_path / "proj")
    ci = {
        "include": [{"local": "gitlab-ci-template.yml"}],
        "stages": ["verify", "merge"],
        "fleet": {"extends": ".sigverify", "stage": "verify", "parallel": 2},
        "fleet-merge": {"extends": ".sigverify-merge", "stage": "merge", "needs": ["fleet"]},
    }
    proc = run_pipeline(project, ci, "fleet-merge", "--needs")
    out = proc.stdout + proc.stderr
    assert "fleet-merge" in out
    merged = project.root / "sigverify-reports" / "merged.xml"
    if not merged.exists():
        pytest.fail("merge job left no merged.xml:\n" + out)
    root = etree.parse(str(merged)).getroot()
    assert sorted(tc.get("name") for tc in root.iter("testcase")) == sorted([project.good, project.bad])
    assert root.get("failures") == "1"


def test_component_with_inputs(registry: RegistryServer, tmp_path: Path) -> None:
    """templates/sigverify.yml included as a CI/CD component of this project (gitlab-ci-local resolves a
    component of the current remote and commit locally)."""
    project = make_project(registry, tmp_path / "proj", images=())
    root = project.root
    (root / "templates").mkdir()
    shutil.copy(REPO_ROOT / "templates" / "sigverify.yml", root / "templates" / "sigverify.yml")
    git = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*git, "remote", "add", "origin", "https://gitlab.example.invalid/grp/sigverify.git"], cwd=root)
    shutil.copy(REPO_ROOT / "gitlab-ci-template.yml", root / "gitlab-ci-template.yml")
    (root / ".gitlab-ci.yml").write_text("{}\n")
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], cwd=root, check=True)
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    inputs = {"job-name": "verify-images", "images": f"{project.good} {project.bad}"}
    ci = {
        "include": [{"component": f"gitlab.example.invalid/grp/sigverify/sigverify@{sha}", "inputs": inputs}],
        "stages": ["verify"],
    }
    # uncommitted .gitlab-ci.yml: HEAD stays the commit the component reference names, so it resolves locally
    proc = run_pipeline(project, ci, "verify-images", commit=False)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "verify-images" in proc.stdout
    root_el = etree.parse(str(artifact(project, "verify-images", "sigverify.xml"))).getroot()
    failed = [tc.get("name") for tc in root_el.iter("testcase") if tc.find("failure") is not None]
    assert failed == [project.bad]
