"""The GitLab template and CI/CD component, run by gitlab-ci-local (shell executor) from a separate directory
standing for a user's repository, against the test registry. The template is included by `include: remote:`
from a local HTTP server, exactly as a user includes it."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.ci import gitlab_run
from tests.ci.gitlab_run import artifact
from tests.ci.project import REPO_ROOT, Project, make_project
from tests.fixtures.registry import RegistryServer

XSD = REPO_ROOT / "tests" / "ci" / "schemas" / "jenkins-junit.xsd"


@pytest.fixture
def template_url(tmp_path: Path) -> Iterator[str]:
    with gitlab_run.serve_files(tmp_path / "served", "gitlab-ci-template.yml") as base:
        yield f"{base}/gitlab-ci-template.yml"


def junit_cases(path: Path) -> tuple[list[str], list[str]]:
    """(all test case names, failed test case names) of a JUnit file valid under the Jenkins schema."""
    assert path.is_file(), f"no JUnit report at {path}"
    root = etree.parse(str(path)).getroot()
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(root)
    cases = list(root.iter("testcase"))
    return [str(tc.get("name")) for tc in cases], [
        str(tc.get("name")) for tc in cases if tc.find("failure") is not None
    ]


def out(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


def user_repo(registry: RegistryServer, tmp_path: Path, images: tuple[str, ...] = ("good", "bad")) -> Project:
    return make_project(registry, tmp_path / "user-repo", images=images)


def test_bare_include_runs_in_the_default_stages_and_fails_on_an_unsigned_image(
    registry: RegistryServer, tmp_path: Path, template_url: str
) -> None:
    """Nothing but the include: GitLab's default stages, the ready job, the policy at ./sigverify.yaml."""
    project = user_repo(registry, tmp_path)
    proc = gitlab_run.run(project.root, f"include:\n  - remote: {template_url}\n")
    assert proc.returncode != 0, out(proc)
    assert "not found" not in out(proc), out(proc)  # no `stage:... not found`
    assert "sigverify" in proc.stdout and "(sigverify.yaml:" in proc.stdout, out(proc)  # failure list with line
    names, failed = junit_cases(artifact(project.root, "sigverify", "sigverify.xml"))
    assert failed == [project.bad] and sorted(names) == sorted([project.good, project.bad])
    assert artifact(project.root, "sigverify", "sigverify.json").is_file()


def test_bare_include_passes_on_a_signed_image_added_by_variable(
    registry: RegistryServer, tmp_path: Path, template_url: str
) -> None:
    project = user_repo(registry, tmp_path, images=())
    ci = {"include": [{"remote": template_url}], "variables": {"SIGVERIFY_IMAGES": f"{project.good}\n{project.good}"}}
    proc = gitlab_run.run(project.root, ci)
    assert proc.returncode == 0, out(proc)
    root = etree.parse(str(artifact(project.root, "sigverify", "sigverify.xml"))).getroot()
    assert root.get("failures") == "0" and int(root.get("tests") or 0) >= 1


def test_job_moved_to_a_stage_of_the_users_own(registry: RegistryServer, tmp_path: Path, template_url: str) -> None:
    project = user_repo(registry, tmp_path, images=("good",))
    ci = {
        "include": [{"remote": template_url}],
        "stages": ["build", "verify", "deploy"],
        "sigverify": {"stage": "verify"},
    }
    proc = gitlab_run.run(project.root, ci, "--list")
    assert proc.returncode == 0, out(proc)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("sigverify "))
    assert line.split()[1] == "verify", proc.stdout


SHARDED: dict[str, Any] = {
    "sigverify": {"parallel": 2},
    "sigverify-merge": {"extends": ".sigverify-merge", "needs": ["sigverify"]},
}


def test_sharded_include_merges_every_shard_into_one_junit_report(
    registry: RegistryServer, tmp_path: Path, template_url: str
) -> None:
    project = user_repo(registry, tmp_path)
    proc = gitlab_run.run(project.root, {"include": [{"remote": template_url}], **SHARDED})
    assert proc.returncode != 0, out(proc)  # the unsigned image fails its shard and the merged verdict
    names, failed = junit_cases(artifact(project.root, "sigverify-merge", "merged.xml"))
    assert sorted(names) == sorted([project.good, project.bad]) and failed == [project.bad], out(proc)
    assert "wrote no report" not in out(proc)


def test_sharded_include_passes_when_every_shard_passes(
    registry: RegistryServer, tmp_path: Path, template_url: str
) -> None:
    project = user_repo(registry, tmp_path, images=())
    ci = {"include": [{"remote": template_url}], **SHARDED}
    ci["variables"] = {"SIGVERIFY_IMAGES": f"{project.good} {project.good.replace(':1.0', '@' + project.good_digest)}"}
    proc = gitlab_run.run(project.root, ci)
    assert proc.returncode == 0, out(proc)
    names, failed = junit_cases(artifact(project.root, "sigverify-merge", "merged.xml"))
    assert len(names) == 2 and failed == []


def test_merge_fails_when_a_shard_left_no_report(registry: RegistryServer, tmp_path: Path, template_url: str) -> None:
    """Shard 2 dies before sigverify runs: the merge job must fail, naming the missing shard."""
    project = user_repo(registry, tmp_path, images=("good",))
    ci = {"include": [{"remote": template_url}], **SHARDED}
    ci["sigverify"] = {"parallel": 2, "before_script": ['if [ "$CI_NODE_INDEX" = 2 ]; then exit 1; fi']}
    proc = gitlab_run.run(project.root, ci)
    assert proc.returncode != 0, out(proc)
    assert "shard(s) 2 of 2 wrote no report" in out(proc), out(proc)
    assert not artifact(project.root, "sigverify-merge", "merged.xml").exists()


def test_merge_fails_when_fewer_shards_than_expected(
    registry: RegistryServer, tmp_path: Path, template_url: str
) -> None:
    """SIGVERIFY_SHARDS pins the count: reports of a 2-shard run do not satisfy a merge that expects 3."""
    project = user_repo(registry, tmp_path, images=("good",))
    ci = {"include": [{"remote": template_url}], **SHARDED}
    ci["sigverify-merge"] = {**SHARDED["sigverify-merge"], "variables": {"SIGVERIFY_SHARDS": "3"}}
    proc = gitlab_run.run(project.root, ci)
    assert proc.returncode != 0, out(proc)
    assert "expected 3 shards (SIGVERIFY_SHARDS), the reports are of 2" in out(proc), out(proc)


def component_repo(root: Path) -> str:
    """Make the user's repository at ``root`` also hold the component (gitlab-ci-local resolves a component of the
    current remote and commit locally); returns the component reference."""
    (root / "templates").mkdir()
    shutil.copy(REPO_ROOT / "templates" / "sigverify.yml", root / "templates" / "sigverify.yml")
    (root / ".gitlab-ci.yml").write_text("{}\n")
    gitlab_run.git_commit(root)
    subprocess.run(
        [*gitlab_run.GIT, "remote", "add", "origin", "https://gitlab.example.invalid/grp/sigverify.git"],
        cwd=root,
        check=True,
    )
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
    return f"gitlab.example.invalid/grp/sigverify/sigverify@{sha.stdout.strip()}"


def test_component_with_inputs_shards_and_merges(registry: RegistryServer, tmp_path: Path) -> None:
    project = user_repo(registry, tmp_path, images=())
    ref = component_repo(project.root)
    inputs = {"job-name": "verify-images", "images": f"{project.good} {project.bad}", "shards": 2}
    # uncommitted .gitlab-ci.yml: HEAD stays the commit the component reference names, so it resolves locally
    proc = gitlab_run.run(project.root, {"include": [{"component": ref, "inputs": inputs}]}, commit=False)
    assert proc.returncode != 0, out(proc)
    assert "not found" not in out(proc), out(proc)
    names, failed = junit_cases(artifact(project.root, "verify-images-merge", "merged.xml"))
    assert sorted(names) == sorted([project.good, project.bad]) and failed == [project.bad], out(proc)


def test_component_defaults_pass_in_the_default_stage(registry: RegistryServer, tmp_path: Path) -> None:
    project = user_repo(registry, tmp_path, images=("good",))
    ref = component_repo(project.root)
    proc = gitlab_run.run(project.root, {"include": [{"component": ref}]}, commit=False)
    assert proc.returncode == 0, out(proc)
    names, failed = junit_cases(artifact(project.root, "sigverify-merge", "merged.xml"))
    assert names == [project.good] and failed == []


def test_component_merge_fails_when_a_shard_left_no_report(registry: RegistryServer, tmp_path: Path) -> None:
    project = user_repo(registry, tmp_path, images=("good",))
    ref = component_repo(project.root)
    ci = {
        "include": [{"component": ref, "inputs": {"shards": 3}}],
        "sigverify": {"before_script": ['if [ "$CI_NODE_INDEX" = 3 ]; then exit 1; fi']},
    }
    proc = gitlab_run.run(project.root, ci, commit=False)
    assert proc.returncode != 0, out(proc)
    assert "shard(s) 3 of 3 wrote no report" in out(proc), out(proc)
