"""entrypoint.py run the way GitHub runs a Docker action, against a real registry with real signatures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.ci.project import REPO_ROOT, Project, make_project, read_github_output
from tests.fixtures.registry import RegistryServer

ENTRYPOINT = REPO_ROOT / "entrypoint.py"
# action.yml passes every input, empty or not, as INPUT_<NAME> with `-` turned into `_`.
ALL_INPUTS = [n.upper().replace("-", "_") for n in yaml.safe_load((REPO_ROOT / "action.yml").read_text())["inputs"]]


class Action:
    """One Docker-action step: env as action.yml's `env:` block sets it, files as the runner provides them."""

    def __init__(self, tmp_path: Path, workspace: Path) -> None:
        self.workspace = workspace
        self.summary = tmp_path / "step_summary.md"
        self.output = tmp_path / "github_output"
        self.summary.touch()
        self.output.touch()

    def run(
        self, cwd: Path | None = None, argv: tuple[str, ...] = (), **inputs: str
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "SIGVERIFY_"))}
        env.pop("GITLAB_CI", None)
        env.update({f"INPUT_{name}": "" for name in ALL_INPUTS})  # action.yml passes every input, empty or not
        env.update({f"INPUT_{k.upper()}": v for k, v in inputs.items()})
        env.update(
            GITHUB_ACTIONS="true",
            GITHUB_WORKSPACE=str(self.workspace),
            GITHUB_STEP_SUMMARY=str(self.summary),
            GITHUB_OUTPUT=str(self.output),
        )
        return subprocess.run(
            [sys.executable, str(ENTRYPOINT), *argv],
            env=env,
            cwd=cwd or "/",  # the container's working directory is not the workspace: the entrypoint moves there
            capture_output=True,
            text=True,
            timeout=120,
        )

    def outputs(self) -> dict[str, str]:
        return read_github_output(self.output)


@pytest.fixture
def project(registry: RegistryServer, tmp_path: Path) -> Project:
    return make_project(registry, tmp_path / "workspace")


@pytest.fixture
def action(tmp_path: Path, project: Project) -> Action:
    return Action(tmp_path, project.root)


def commands(stdout: str) -> list[str]:
    return [ln for ln in stdout.splitlines() if ln.startswith("::")]


def test_failing_image_fails_the_step_with_annotation_summary_and_outputs(project: Project, action: Action) -> None:
    proc = action.run(
        config="sigverify.yaml",
        json_report="reports/sigverify.json",
        junit_report="reports/junit.xml",
        sarif_report="reports/sigverify.sarif",
    )
    assert proc.returncode == 1, proc.stderr
    cmds = commands(proc.stdout)
    token = cmds[0].removeprefix("::stop-commands::")
    assert cmds[0].startswith("::stop-commands::") and len(token) == 32
    assert cmds[1] == f"::{token}::"  # commands resume only for sigverify's own annotations
    errors = [c for c in cmds if c.startswith("::error ")]
    assert len(errors) == 1
    assert errors[0].startswith(f"::error file=sigverify.yaml,line={project.config_line(project.bad)},")
    assert "NO_SIGNATURE" in errors[0]

    outputs = action.outputs()
    assert outputs["result"] == "fail"
    assert json.loads(outputs["digests"]) == {project.good: project.good_digest}

    summary = action.summary.read_text()
    assert "❌ sigverify: verification failed" in summary and project.good_digest in summary
    assert "<details>" in summary and "NO_SIGNATURE" in summary

    reports = project.root / "reports"
    doc = json.loads((reports / "sigverify.json").read_text())
    assert [i["verdict"] for i in doc["images"]] == ["pass", "fail"]
    assert "<testsuite" in (reports / "junit.xml").read_text()
    assert json.loads((reports / "sigverify.sarif").read_text())["runs"][0]["results"][0]["ruleId"] == "NO_SIGNATURE"


def test_passing_images_pass_the_step(registry: RegistryServer, tmp_path: Path) -> None:
    project = make_project(registry, tmp_path / "ws", images=("good",))
    action = Action(tmp_path, project.root)
    proc = action.run()  # default config: ./sigverify.yaml in the workspace
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not [c for c in commands(proc.stdout) if c.startswith(("::error", "::warning"))]
    assert action.outputs()["result"] == "pass"
    assert json.loads(action.outputs()["digests"]) == {project.good: project.good_digest}
    assert "✅ sigverify: all images verified" in action.summary.read_text()


def test_images_input_adds_references_and_working_directory(registry: RegistryServer, tmp_path: Path) -> None:
    project = make_project(registry, tmp_path / "ws", sub="deploy/prod", images=())
    action = Action(tmp_path, project.root)
    proc = action.run(working_directory="deploy/prod", images=f"# the release\n{project.good}\n\n  {project.bad}  \n")
    assert proc.returncode == 1, proc.stderr
    assert json.loads(action.outputs()["digests"]) == {project.good: project.good_digest}
    errors = [c for c in commands(proc.stdout) if c.startswith("::error ")]
    # images from the input have no config line: the annotation points at the config file in the workspace
    assert len(errors) == 1 and errors[0].startswith("::error file=deploy/prod/sigverify.yaml,title=")


def test_fail_on_warn_input(registry: RegistryServer, tmp_path: Path) -> None:
    project = make_project(registry, tmp_path / "ws", images=("good", "bad"))
    text = project.config.read_text().replace("name: release\n", "name: release\n  mode: warn\n")
    project.config.write_text(text)
    action = Action(tmp_path, project.root)
    relaxed = action.run()
    assert relaxed.returncode == 0, relaxed.stdout + relaxed.stderr
    assert [c.split(" ")[0] for c in commands(relaxed.stdout)][2:] == ["::warning"]
    strict = action.run(fail_on_warn="true")
    assert strict.returncode == 1
    assert [c.split(" ")[0] for c in commands(strict.stdout)][2:] == ["::error"]


def test_bad_boolean_is_a_usage_error(action: Action) -> None:
    proc = action.run(fail_on_warn="maybe")
    assert proc.returncode == 2
    assert "input `fail-on-warn`: expected true or false" in proc.stderr
    assert action.output.read_text() == ""


def test_missing_working_directory_is_a_usage_error(action: Action) -> None:
    proc = action.run(working_directory="nope")
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_config_error_exits_2(action: Action, project: Project) -> None:
    project.config.write_text("version: 1\nimages: []\npolicies: []\nbogus: 1\n")
    proc = action.run()
    assert proc.returncode == 2, proc.stdout + proc.stderr


def test_args_passthrough_and_shards_merge(registry: RegistryServer, tmp_path: Path) -> None:
    project = make_project(registry, tmp_path / "ws", images=("good", "bad"))
    action = Action(tmp_path, project.root)
    for i in (1, 2):
        proc = action.run(shard=f"{i}/2", json_report=f"shards/{i}.json", args="--concurrency 2 --quiet")
        assert proc.returncode in (0, 1), proc.stderr
        assert "result:" not in proc.stdout  # --quiet reached the CLI
    action.output.write_text("")
    merged = action.run(merge="shards/*.json", junit_report="merged.xml")
    assert merged.returncode == 1, merged.stdout + merged.stderr
    assert action.outputs()["result"] == "fail"
    assert json.loads(action.outputs()["digests"]) == {project.good: project.good_digest}
    assert (project.root / "merged.xml").read_text().count("<testcase") == 2


def test_merge_refuses_verify_only_inputs(action: Action) -> None:
    proc = action.run(merge="a.json", config="sigverify.yaml")
    assert proc.returncode == 2 and "does not apply when `merge` is set" in proc.stderr


def test_plain_arguments_pass_through(project: Project, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    proc = subprocess.run(
        [sys.executable, str(ENTRYPOINT), "verify", "--config", str(project.config), "--ci", "none", project.good],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1  # the config's unsigned image fails
    assert "::" not in proc.stdout
    version = subprocess.run([sys.executable, str(ENTRYPOINT), "--version"], env=env, capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("sigverify ")


def test_runner_shell_command_is_executed(tmp_path: Path) -> None:
    """GitLab's Docker executor and Jenkins start the job container with a shell or `cat` as its command."""
    proc = subprocess.run(
        [sys.executable, str(ENTRYPOINT), "sh", "-c", "echo from-shell; exit 7"], capture_output=True, text=True
    )
    assert proc.returncode == 7 and proc.stdout == "from-shell\n"
