"""action.yml and the GitHub workflows against the published schemas and actionlint; actions pinned by SHA.

The GitLab files are checked in tests/ci/test_gitlab_files.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.ci import tools
from tests.ci.project import REPO_ROOT
from tests.docs.mdblocks import Block, blocks

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
        ("vendor.github-workflows", ".github/workflows/ci.yml"),
        ("vendor.github-workflows", ".github/workflows/release.yml"),
        ("vendor.github-workflows", "tests/ci/act/workflow.yml"),
    ],
)
def test_valid_against_published_schema(schema: str, path: str) -> None:
    proc = check_jsonschema(schema, REPO_ROOT / path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_schema_check_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "action.yml"
    bad.write_text(ACTION.read_text().replace("using: composite", "using: compositez"))
    assert check_jsonschema("vendor.github-actions", bad).returncode != 0


def test_every_input_reaches_the_entrypoint() -> None:
    doc = yaml.safe_load(ACTION.read_text())
    assert doc["runs"]["using"] == "composite"
    (run,) = [s for s in doc["runs"]["steps"] if s.get("id") == "run"]
    env = run["env"]
    for name in doc["inputs"]:
        key = "INPUT_" + name.upper().replace("-", "_")
        assert env.get(key) == f"${{{{ inputs.{name} }}}}", name
    assert run["run"] == '"$SIGVERIFY_PYTHON" -I "$SIGVERIFY_ACTION_PATH/entrypoint.py"'
    assert {k: v["value"] for k, v in doc["outputs"].items()} == {
        o: f"${{{{ steps.run.outputs.{o} }}}}" for o in ("result", "digests", "summary")
    }
    assert doc["branding"]["icon"] and doc["branding"]["color"]


PINNED = re.compile(r"^\s*(?:-\s*)?uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$")


def remote_uses(path: Path) -> list[str]:
    """Every `uses:` line naming another repository (not `./`, not `docker://`)."""
    lines = [ln for ln in path.read_text().splitlines() if re.match(r"^\s*(-\s*)?uses:", ln)]
    return [ln for ln in lines if not re.search(r"uses:\s*(\./|docker://)", ln)]


@pytest.mark.parametrize(
    "path",
    ["action.yml", ".github/workflows/ci.yml", ".github/workflows/release.yml", "examples/github-workflow.yml"],
)
def test_third_party_actions_are_pinned_by_full_sha_with_version_comment(path: str) -> None:
    lines = remote_uses(REPO_ROOT / path)
    bad = [ln for ln in lines if not PINNED.match(ln)]
    assert bad == [], path


def test_pin_check_can_fail(tmp_path: Path) -> None:
    f = tmp_path / "w.yml"
    f.write_text("steps:\n  - uses: actions/checkout@v4\n  - uses: actions/cache@27d5ce7f # v5\n  - uses: ./\n")
    assert len(remote_uses(f)) == 2 and not any(PINNED.match(ln) for ln in remote_uses(f))


def test_one_version_per_pinned_action() -> None:
    """The same action at the same SHA (and version comment) in every file."""
    seen: dict[str, set[str]] = {}
    for path in ("action.yml", ".github/workflows/ci.yml", ".github/workflows/release.yml",
                 "examples/github-workflow.yml", "tests/ci/act/workflow.yml"):  # fmt: skip
        for ln in remote_uses(REPO_ROOT / path):
            m = PINNED.match(ln)
            assert m, ln
            seen.setdefault(m.group(1), set()).add(ln.split("@", 1)[1])
    assert {k: v for k, v in seen.items() if len(v) > 1} == {}


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


def test_repository_workflows_pass_actionlint() -> None:
    """.github/workflows/ci.yml and release.yml, as actionlint sees them in this repository."""
    proc = subprocess.run(
        [tools.actionlint(), "-no-color", ".github/workflows/ci.yml", ".github/workflows/release.yml"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_act_workflow_passes_actionlint(tmp_path: Path) -> None:
    proc = _actionlint_project(tmp_path, (REPO_ROOT / "tests" / "ci" / "act" / "workflow.yml").read_text())
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_catches_a_bad_expression_in_the_release_workflow(tmp_path: Path) -> None:
    text = (REPO_ROOT / ".github" / "workflows" / "release.yml").read_text()
    (tmp_path / ".git").mkdir()
    (tmp_path / "release.yml").write_text(
        text.replace("steps.build.outputs.digest }}", "steps.build.outputs.digest }", 1)
    )
    proc = subprocess.run([tools.actionlint(), "-no-color", "release.yml"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 1 and "release.yml:" in proc.stdout


def test_release_moves_v1_only_for_a_final_1x_tag() -> None:
    doc = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "release.yml").read_text())
    assert doc[True] == {"push": {"tags": ["v*"]}}  # `on:` is YAML 1.1's True
    steps = doc["jobs"]["pin"]["steps"]
    script = next(s["run"] for s in steps if "git tag -f v1" in s.get("run", ""))
    rule = re.search(r"\[\[ \$TAG =~ (\S+) \]\]", script)
    assert rule is not None
    pattern = re.compile(rule.group(1))
    assert [t for t in ("v1.0.0", "v1.12.3", "v1.2.0-rc1", "v2.0.0", "v1", "xv1.0.0") if pattern.search(t)] == [
        "v1.0.0",
        "v1.12.3",
    ]
    assert "python3 scripts/pin_image.py" in str(steps)
    assert doc["permissions"] == {} and doc["jobs"]["pypi"]["permissions"]["id-token"] == "write"


# -- README's GitHub snippets (the section "CI integration"; GitLab and Jenkins ones are tests/ci/test_tutorials.py's)


def readme_github_blocks() -> list[Block]:
    out = []
    for b in blocks(REPO_ROOT / "README.md"):
        if b.section == "CI integration" and b.lang != "groovy" and not re.search(r"gitlab|\binclude:", b.text):
            out.append(b)
    return out


def test_readme_github_steps_pass_actionlint_against_this_action(tmp_path: Path) -> None:
    """The steps as a job in a repository holding this action (`uses: ./`): actionlint checks every input."""
    (steps_block,) = [b for b in readme_github_blocks() if "ci-github-steps" in b.markers]
    assert "uses: <owner>/sigverify@v1" in steps_block.text
    steps = yaml.safe_load(steps_block.text.replace("<owner>/sigverify@v1", "./"))
    workflow = {"name": "doc", "on": "push", "jobs": {"verify": {"runs-on": "ubuntu-latest", "steps": steps}}}
    text = yaml.safe_dump(workflow, sort_keys=False)
    proc = _actionlint_project(tmp_path, text)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    path = tmp_path / "doc.yml"
    path.write_text(text)
    schema = check_jsonschema("vendor.github-workflows", path)
    assert schema.returncode == 0, schema.stdout + schema.stderr


def test_readme_shows_the_verify_sigverify_policy_as_shipped() -> None:
    shown = [b for b in readme_github_blocks() if b.lang == "yaml" and "sigverify-release-workflow" in b.text]
    assert len(shown) == 1
    assert yaml.safe_load(shown[0].text) == yaml.safe_load(
        (REPO_ROOT / "examples" / "verify-sigverify.yaml").read_text()
    )
    (command,) = [b for b in readme_github_blocks() if b.lang == "console"]
    assert "--config examples/verify-sigverify.yaml" in command.text


def test_action_installs_only_from_the_hash_locked_requirements() -> None:
    doc = yaml.safe_load(ACTION.read_text())
    steps = {s.get("id"): s for s in doc["runs"]["steps"]}
    install = steps["install"]["run"]
    assert "pip install --quiet --require-hashes --no-deps --only-binary ':all:'" in install
    assert '-r "$SIGVERIFY_ACTION_PATH/requirements/runtime.txt"' in install
    assert "pip install --quiet --no-deps --no-build-isolation --no-index" in install
    assert "requirements/runtime.txt" in steps["prepare"]["run"]  # the cache key is the lock's hash
    assert [s["uses"].split("@")[0] for s in doc["runs"]["steps"] if "uses" in s] == [
        "actions/setup-python",
        "actions/cache",
    ]
    assert steps["setup-python"]["if"] == "steps.env.outputs.python == ''"
