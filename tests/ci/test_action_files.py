"""action.yml, the example workflow and the GitLab files against the published schemas and actionlint."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.ci import tools
from tests.ci.project import REPO_ROOT

ACTION = REPO_ROOT / "action.yml"
WORKFLOW = REPO_ROOT / "examples" / "github-workflow.yml"


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    exe = tools.venv_tool("check-jsonschema", "check-jsonschema>=0.39,<1")
    return subprocess.run(
        [exe, "--builtin-schema", schema, *map(str, files)], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("schema", "path"),
    [
        ("vendor.github-actions", "action.yml"),
        ("vendor.github-workflows", "examples/github-workflow.yml"),
        ("vendor.gitlab-ci", "gitlab-ci-template.yml"),
        ("vendor.gitlab-ci", "examples/gitlab-ci.yml"),
    ],
)
def test_valid_against_published_schema(schema: str, path: str) -> None:
    proc = check_jsonschema(schema, REPO_ROOT / path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_component_valid_against_gitlab_schema(tmp_path: Path) -> None:
    """A CI/CD component is two YAML documents: the `spec:` header and the jobs. Each is checked."""
    header, body = yaml.safe_load_all((REPO_ROOT / "templates" / "sigverify.yml").read_text())
    assert set(header) == {"spec"} and "inputs" in header["spec"]
    jobs = tmp_path / "component-jobs.yml"
    jobs.write_text(yaml.safe_dump(body))
    spec = tmp_path / "component-spec.yml"
    spec.write_text(yaml.safe_dump(header))
    for f in (jobs, spec):
        proc = check_jsonschema("vendor.gitlab-ci", f)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_schema_check_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "action.yml"
    bad.write_text(ACTION.read_text().replace("using: docker", "using: dockerz"))
    assert check_jsonschema("vendor.github-actions", bad).returncode != 0


def test_every_input_reaches_the_container() -> None:
    doc = yaml.safe_load(ACTION.read_text())
    env = doc["runs"]["env"]
    for name in doc["inputs"]:
        key = "INPUT_" + name.upper().replace("-", "_")
        assert env.get(key) == f"${{{{ inputs.{name} }}}}", name
    assert doc["runs"]["using"] == "docker" and doc["runs"]["image"] == "Dockerfile"
    assert set(doc["outputs"]) >= {"result", "digests"}
    assert doc["branding"]["icon"] and doc["branding"]["color"]


def _actionlint_project(tmp_path: Path, workflow_text: str) -> subprocess.CompletedProcess[str]:
    """actionlint checks a local action's inputs only inside a repository with .github/workflows."""
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    shutil.copy(ACTION, tmp_path / "action.yml")
    shutil.copy(REPO_ROOT / "Dockerfile", tmp_path / "Dockerfile")
    (tmp_path / ".github" / "workflows" / "verify.yml").write_text(workflow_text)
    return subprocess.run([tools.actionlint(), "-no-color"], cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_example_workflow_passes_actionlint(tmp_path: Path) -> None:
    proc = _actionlint_project(tmp_path, WORKFLOW.read_text())
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_catches_an_unknown_input(tmp_path: Path) -> None:
    proc = _actionlint_project(tmp_path, WORKFLOW.read_text().replace("junit-report:", "junit-reportz:", 1))
    assert proc.returncode == 1 and 'input "junit-reportz" is not defined' in proc.stdout


def test_component_runs_the_same_script_as_the_template() -> None:
    template = yaml.safe_load((REPO_ROOT / "gitlab-ci-template.yml").read_text())
    _, component = yaml.safe_load_all((REPO_ROOT / "templates" / "sigverify.yml").read_text())
    (job,) = component.values()
    assert job["script"] == template[".sigverify"]["script"]
    assert job["artifacts"] == template[".sigverify"]["artifacts"]
    assert job["image"]["entrypoint"] == [""] == template[".sigverify"]["image"]["entrypoint"]
