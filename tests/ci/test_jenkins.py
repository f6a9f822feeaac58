"""examples/Jenkinsfile: linted with npm-groovy-lint, and its `sh` steps run in order, as the docker agent would,
against the test registry: verify, extract the verified digests from the JSON report, deploy by digest."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.ci import tools
from tests.ci.project import REPO_ROOT, make_project
from tests.fixtures.registry import RegistryServer

JENKINSFILE = REPO_ROOT / "examples" / "Jenkinsfile"


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tools.npm_groovy_lint(), "--noserver", "--failon", "warning", "--loglevel", "warning", path.name],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )


def sh_steps(text: str) -> list[str]:
    """The `sh '''...'''` scripts of a Jenkinsfile, as Jenkins runs them (`.stripIndent()` applied)."""
    steps = []
    for m in re.finditer(r"sh '''\n(.*?)'''(\.stripIndent\(\))?", text, re.S):
        body = m.group(1)
        if m.group(2):
            # Java's String.stripIndent() (which a Jenkins on Java 17 may call) counts the closing line's
            # indentation, Groovy's does not: with the closing quotes at the script's indentation both agree.
            lines = body.split("\n")
            content = [ln for ln in lines[:-1] if ln.strip()]
            indent = min(len(ln) - len(ln.lstrip(" ")) for ln in content)
            assert lines[-1] == " " * indent, f"closing quotes at column {len(lines[-1])}, the script at {indent}"
        # Groovy escapes: only a backslash before a newline (a line continuation for Groovy and sh alike)
        assert "\\" not in body.replace("\\\n", ""), body
        steps.append(textwrap.dedent(body) if m.group(2) else body)
    return steps


def run_steps(steps: list[str], workspace: Path) -> list[subprocess.CompletedProcess[str]]:
    """Run the steps like Jenkins' `sh` (`sh -xe`), stopping at the first that fails."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "CI_", "GITLAB_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # `sigverify` and `python` as in the image
    done = []
    for step in steps:
        proc = subprocess.run(
            ["sh", "-xe", "-c", step], cwd=workspace, env=env, capture_output=True, text=True, timeout=300
        )
        done.append(proc)
        if proc.returncode != 0:
            break
    return done


def test_jenkinsfile_passes_the_linter(tmp_path: Path) -> None:
    copy = tmp_path / "Jenkinsfile"
    copy.write_text(JENKINSFILE.read_text())
    proc = lint(copy)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_linter_rejects_a_broken_jenkinsfile(tmp_path: Path) -> None:
    """The lint test above can fail: an unbalanced brace is an error."""
    broken = tmp_path / "Jenkinsfile"
    broken.write_text(JENKINSFILE.read_text().replace("    stage('Deploy') {\n", "    stage('Deploy') {{\n", 1))
    proc = lint(broken)
    assert proc.returncode != 0, proc.stdout + proc.stderr


def test_jenkins_steps_deploy_exactly_the_verified_digest(registry: RegistryServer, tmp_path: Path) -> None:
    project = make_project(registry, tmp_path / "workspace", images=("good",))
    steps = sh_steps(JENKINSFILE.read_text())
    assert len(steps) == 3, steps  # verify, extract the digests, deploy
    procs = run_steps(steps, project.root)
    assert [p.returncode for p in procs] == [0, 0, 0], [p.stdout + p.stderr for p in procs]
    repo = project.good.rsplit(":", 1)[0]
    verified = (project.root / "reports" / "verified-digests.txt").read_text()
    assert verified == f"{repo}@{project.good_digest}\n"
    assert f"deploying {repo}@{project.good_digest}" in procs[2].stdout
    assert (project.root / "reports" / "sigverify.xml").is_file()


def test_jenkins_steps_deploy_nothing_from_a_failed_report(registry: RegistryServer, tmp_path: Path) -> None:
    """The verify step fails the build; even a report with a failed image run through the digest step directly
    (as a careless `catchError` would allow) yields no digests to deploy."""
    project = make_project(registry, tmp_path / "workspace", images=("good", "bad"))
    verify, extract, deploy = sh_steps(JENKINSFILE.read_text())
    procs = run_steps([verify], project.root)
    assert procs[0].returncode == 1, procs[0].stdout + procs[0].stderr
    (extracted,) = run_steps([extract], project.root)
    assert extracted.returncode != 0 and f"not verified, nothing is deployed: {project.bad}" in extracted.stderr
    assert not (project.root / "reports" / "verified-digests.txt").exists()
    (deployed,) = run_steps([deploy], project.root)
    assert deployed.returncode != 0 and "nothing to deploy" in deployed.stderr
    assert "deploying" not in deployed.stdout


@pytest.mark.parametrize("reference", ["localhost:5000/team/app:1.0", "localhost:5000/team/app:1.0@sha256:" + "a" * 64])
def test_digest_step_strips_tag_but_keeps_registry_port(tmp_path: Path, reference: str) -> None:
    """A registry port is not a tag: `host:port/repo:tag` deploys as `host:port/repo@digest`."""
    digest = "sha256:" + "b" * 64
    report = {
        "images": [
            {
                "reference": reference,
                "verdict": "pass",
                "digest": digest,
                "policies": [{"passed": True, "verified_by": ["k"]}],
            }
        ]
    }
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "sigverify.json").write_text(json.dumps(report))
    _, extract, _ = sh_steps(JENKINSFILE.read_text())
    (proc,) = run_steps([extract], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "reports" / "verified-digests.txt").read_text() == f"localhost:5000/team/app@{digest}\n"
