"""docs/ci.md and README's GitLab, Jenkins and sharding snippets, extracted and run as a reader would.

Every fenced block of docs/ci.md (and each such README block) carries one `<!-- doc-test: ci-* -->` marker that
says how it is checked, so a snippet that stops working fails here:
  ci-config           a sigverify.yaml: loaded by sigverify, then used by the runs below
  ci-config-fragment  a piece of sigverify.yaml: loaded inside a minimal config
  ci-run              shell, run in order in one workspace against the test registry (`exit N`: expected status)
  ci-shape            shell that needs the internet or a cloud account: syntax and sigverify options only
  ci-github           a GitHub workflow: GitHub's workflow schema, and actionlint
  ci-github-steps     GitHub steps: the same, inside a job
  ci-gitlab-run       a user's .gitlab-ci.yml: run by gitlab-ci-local, the template included over HTTP
  ci-gitlab           a GitLab fragment: GitLab's CI schema
  ci-jenkins          a Jenkinsfile: npm-groovy-lint, then its `sh` steps run
  ci-docker-config    a Docker config.json: used, with a stand-in credential helper, against an htpasswd registry
The only changes made to a snippet before it runs: the reader's registry (`ghcr.io/your-org`, the mirror
host) becomes the local test registry, which is marked `insecure` (plain HTTP) in the policy, and the places
where the reader hosts sigverify point to a local HTTP server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ci import gitlab_run, tools
from tests.ci.project import REPO_ROOT
from tests.ci.test_gitlab import component_repo, junit_cases
from tests.ci.test_gitlab_files import check_gitlab_schema
from tests.ci.test_jenkins import lint
from tests.docs.mdblocks import Block, blocks, commands, help_flags, is_sigverify
from tests.fixtures.cosign_sign import generate_key
from tests.fixtures.peers import find_peer, offline_env, require_peer
from tests.fixtures.registry import RegistryServer, unique_repo

DOC = REPO_ROOT / "docs" / "ci.md"
README = REPO_ROOT / "README.md"
KINDS = {
    "ci-config",
    "ci-config-fragment",
    "ci-run",
    "ci-shape",
    "ci-github",
    "ci-github-steps",
    "ci-gitlab-run",
    "ci-gitlab",
    "ci-jenkins",
    "ci-docker-config",
}
READER_REGISTRY = "ghcr.io/your-org"
TEMPLATE_URL = "https://<where you host sigverify>/gitlab-ci-template.yml"
COMPONENT = "$CI_SERVER_FQDN/<group>/sigverify/sigverify@<version>"


def readme_blocks() -> list[Block]:
    """README's snippets in these sections: all of the sharding section; the GitLab and Jenkins ones of the CI
    section (its GitHub snippet is checked with the action's tests)."""
    out = []
    for b in blocks(README):
        gitlab_or_jenkins = b.lang == "groovy" or re.search(r"gitlab|\binclude:", b.text) is not None
        if b.section == "Org scale: sharding and merge" or (b.section == "CI integration" and gitlab_or_jenkins):
            out.append(b)
    return out


ALL = blocks(DOC) + readme_blocks()


def kind(b: Block) -> str:
    found = b.markers & KINDS
    assert len(found) == 1, f"{b.id}: mark the block with one of {sorted(KINDS)} (found {sorted(found)})"
    return next(iter(found))


def of_kind(k: str) -> list[Block]:
    return [b for b in ALL if k in b.markers]


def ids(bs: list[Block]) -> list[str]:
    return [b.id for b in bs]


def test_every_ci_snippet_says_how_it_is_tested() -> None:
    assert len(blocks(DOC)) >= 15 and readme_blocks()
    for b in ALL:
        kind(b)


# -- the reader's workspace -------------------------------------------------------------------------------------


@dataclass
class Workspace:
    root: Path
    registry: RegistryServer
    repo: str  # the reader's `ghcr.io/your-org` in the test registry
    unsigned_digest: str

    @property
    def prefix(self) -> str:
        return f"{self.registry.host}/{self.repo}"

    def sub(self, text: str) -> str:
        return text.replace(READER_REGISTRY, self.prefix)

    def env(self) -> dict[str, str]:
        env = offline_env(self.root.parent / "home")
        env = {k: v for k, v in env.items() if not k.startswith(("GITHUB_", "INPUT_", "CI_", "GITLAB_"))}
        env["PATH"] = os.pathsep.join([str(self.root.parent / "bin"), str(Path(sys.executable).parent), env["PATH"]])
        return env


def tutorial_config() -> Block:
    (config,) = [b for b in of_kind("ci-config") if b.created_name == "sigverify.yaml"]
    return config


def make_workspace(registry: RegistryServer, tmp_path: Path, *, key: bool = True) -> Workspace:
    """The reader's repository: the tutorial's sigverify.yaml, their key, their unsigned image pushed."""
    repo = unique_repo("reader")
    digest, _ = registry.push_image(f"{repo}/app", "1.0")
    root = tmp_path / "user-repo"
    root.mkdir(parents=True)
    (tmp_path / "bin").mkdir()
    ws = Workspace(root, registry, repo, digest)
    doc = yaml.safe_load(ws.sub(tutorial_config().text))
    doc.setdefault("registries", {})[registry.host] = {"insecure": True}
    (root / "sigverify.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    if key:
        generate_key("p256").write_public(root, "cosign.pub")
    return ws


@pytest.fixture
def workspace(registry: RegistryServer, tmp_path: Path) -> Workspace:
    return make_workspace(registry, tmp_path)


# -- sigverify.yaml ---------------------------------------------------------------------------------------------


def load_config(path: Path) -> None:
    from sigverify.policy import load_config as load  # the real loader; imported late (a refactor may move it)

    load(str(path))


def test_tutorial_config_loads(workspace: Workspace) -> None:
    load_config(workspace.root / "sigverify.yaml")


@pytest.mark.parametrize("block", of_kind("ci-config-fragment"), ids=ids(of_kind("ci-config-fragment")))
def test_config_fragment_loads(block: Block, tmp_path: Path) -> None:
    fragment = yaml.safe_load(block.text)
    config = {"version": 1, **fragment, "policies": yaml.safe_load(tutorial_config().text)["policies"]}
    (tmp_path / "cosign.pub").write_bytes((REPO_ROOT / "examples" / "keys" / "cosign.pub").read_bytes())
    (tmp_path / "sigverify.yaml").write_text(yaml.safe_dump(config))
    load_config(tmp_path / "sigverify.yaml")


# -- shell ------------------------------------------------------------------------------------------------------


def check_shape(block: Block) -> None:
    proc = subprocess.run(["bash", "-n"], input=block.text, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, f"{block.id}: {proc.stderr}"
    for cmd in commands(block):
        if is_sigverify(cmd) and len(cmd) > 1:
            flags = {a.split("=", 1)[0] for a in cmd[2:] if a.startswith("-")}
            unknown = flags - help_flags(cmd[1])
            assert not unknown, f"{block.id}: `sigverify {cmd[1]}` has no option {sorted(unknown)}"


@pytest.mark.parametrize(
    "block", of_kind("ci-shape") + of_kind("ci-run"), ids=ids(of_kind("ci-shape") + of_kind("ci-run"))
)
def test_shell_snippet_shape(block: Block) -> None:
    check_shape(block)


def link_peers(bin_dir: Path, **names: str) -> None:
    """Put the pinned peer tools on the reader's PATH under the names the documents use."""
    for doc_name, peer in names.items():
        (bin_dir / doc_name).symlink_to(require_peer(peer))


def run_shell(block: Block, ws: Workspace, text: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", text], cwd=ws.root, env=ws.env(), capture_output=True, text=True, timeout=300
    )
    want = block.expected_exit()
    assert proc.returncode == want, f"{block.id}: exit {proc.returncode}, expected {want}\n{proc.stdout}{proc.stderr}"
    return proc


def test_zero_to_gate_shell_steps(registry: RegistryServer, tmp_path: Path) -> None:
    """The policy steps of the tutorial in order: make the key pair, then verify: FAIL with NO_SIGNATURE."""
    ws = make_workspace(registry, tmp_path, key=False)
    link_peers(tmp_path / "bin", cosign="cosign3" if find_peer("cosign3") else "cosign2")
    steps = [b for b in blocks(DOC) if "ci-run" in b.markers and b.section == "Zero to gate"]
    assert len(steps) == 2, ids(steps)
    run_shell(steps[0], ws, ws.sub(steps[0].text))
    assert (ws.root / "cosign.pub").is_file() and (ws.root / "cosign.key").is_file()
    proc = run_shell(steps[1], ws, ws.sub(steps[1].text))
    assert "NO_SIGNATURE" in proc.stdout and f"{ws.prefix}/app:1.0" in proc.stdout, proc.stdout
    assert "NO_SIGNATURE" in DOC.read_text()  # the document names the code the reader sees


def test_mirror_with_crane_keeps_the_digest(registry: RegistryServer, tmp_path: Path) -> None:
    ws = make_workspace(registry, tmp_path)
    link_peers(tmp_path / "bin", crane="crane")
    (block,) = [b for b in of_kind("ci-run") if "crane copy" in b.text]
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    source = unique_repo("sigverify-image")
    digest, _ = registry.push_image(source, version)
    mirror = unique_repo("mirror")
    text = block.text.replace("ghcr.io/sigverify/sigverify", f"{registry.host}/{source}")
    text = text.replace("registry.example.com/mirror", f"{registry.host}/{mirror}")
    assert text != block.text and f":{version}" in block.text, "the mirror example names this version"
    proc = run_shell(block, ws, text)
    assert proc.stdout.strip().splitlines()[-1] == digest
    assert registry.get_manifest(f"{mirror}/sigverify", version)


# -- GitHub -----------------------------------------------------------------------------------------------------


def github_workflow(block: Block) -> str:
    if "ci-github-steps" in block.markers:
        steps = yaml.safe_load(block.text)
        doc = {"name": "doc", "on": "push", "jobs": {"doc": {"runs-on": "ubuntu-latest", "steps": steps}}}
        return yaml.safe_dump(doc, sort_keys=False)
    return block.text


GITHUB = of_kind("ci-github") + of_kind("ci-github-steps")


@pytest.mark.parametrize("block", GITHUB, ids=ids(GITHUB))
def test_github_snippet_is_a_valid_workflow(block: Block, tmp_path: Path) -> None:
    path = tmp_path / ".github" / "workflows" / "doc.yml"
    path.parent.mkdir(parents=True)
    path.write_text(github_workflow(block).replace("<owner>/sigverify", "example/sigverify"))
    schema = subprocess.run(
        [
            tools.venv_tool("check-jsonschema", "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    lint_proc = subprocess.run(
        [tools.actionlint(), str(path)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert lint_proc.returncode == 0, lint_proc.stdout + lint_proc.stderr
    if block.file == "docs/ci.md":
        assert "<owner>/sigverify@v1" in block.text  # the documented way to use the action


# -- GitLab -----------------------------------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    with gitlab_run.serve_files(tmp_path / "served", "gitlab-ci-template.yml") as base:
        yield base


GITLAB_RUN = of_kind("ci-gitlab-run")


@pytest.mark.parametrize("block", GITLAB_RUN, ids=ids(GITLAB_RUN))
def test_gitlab_snippet_runs(block: Block, workspace: Workspace, served: str) -> None:
    """The reader's .gitlab-ci.yml is the snippet: the whole pipeline runs, and fails on the unsigned image."""
    text = workspace.sub(block.text).replace(TEMPLATE_URL, f"{served}/gitlab-ci-template.yml")
    commit = True
    if COMPONENT in text:
        text = text.replace(COMPONENT, component_repo(workspace.root))
        commit = False  # HEAD stays the commit the component reference names
    proc = gitlab_run.run(workspace.root, text, commit=commit)
    out = proc.stdout + proc.stderr
    assert (proc.returncode == 0) == (block.expected_exit() == 0), out
    assert "not found" not in out and "NO_SIGNATURE" in out, out
    reports = sorted((workspace.root / ".gitlab-ci-local" / "artifacts").glob("*/sigverify-reports/*.xml"))
    junit = [r for r in reports if r.name == "merged.xml"] or reports
    assert junit, out
    _, failed = junit_cases(junit[0])
    assert failed == [f"{workspace.prefix}/app:1.0"], out


@pytest.mark.parametrize("block", of_kind("ci-gitlab"), ids=ids(of_kind("ci-gitlab")))
def test_gitlab_fragment_is_valid(block: Block, tmp_path: Path) -> None:
    doc: dict[str, Any] = yaml.safe_load(block.text)
    doc.setdefault("doc-job", {"script": ["true"]})
    path = tmp_path / "fragment.yml"
    path.write_text(yaml.safe_dump(doc))
    proc = check_gitlab_schema(path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- Jenkins ----------------------------------------------------------------------------------------------------


JENKINS = of_kind("ci-jenkins")


@pytest.mark.parametrize("block", JENKINS, ids=ids(JENKINS))
def test_jenkinsfile_snippet_lints_and_its_steps_fail_on_the_unsigned_image(block: Block, workspace: Workspace) -> None:
    lint_dir = workspace.root.parent / "lint"
    lint_dir.mkdir()
    (lint_dir / "Jenkinsfile").write_text(block.text)
    proc = lint(lint_dir / "Jenkinsfile")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    for image in re.findall(r"image '([^']+)'", block.text):
        assert re.fullmatch(rf"ghcr\.io/sigverify/sigverify:{re.escape(version)}(@sha256:[0-9a-f]{{64}})?", image)
    steps = re.findall(r"sh '([^'\\]+)'", block.text)
    assert steps, block.text
    done = [
        subprocess.run(
            ["sh", "-xe", "-c", s], cwd=workspace.root, env=workspace.env(), capture_output=True, text=True, timeout=300
        )
        for s in steps
    ]
    assert done[-1].returncode == 1, done[-1].stdout + done[-1].stderr
    for report in re.findall(r"junit '([^']+)'", block.text):
        _, failed = junit_cases(workspace.root / report)
        assert failed == [f"{workspace.prefix}/app:1.0"]


# -- Docker config and credential helpers -----------------------------------------------------------------------


@pytest.mark.parametrize("block", of_kind("ci-docker-config"), ids=ids(of_kind("ci-docker-config")))
def test_docker_config_with_a_credential_helper_logs_in(
    block: Block, htpasswd_registry: RegistryServer, tmp_path: Path
) -> None:
    """The documented config.json, its registry host replaced by an htpasswd registry, and a stand-in for the
    helper it names (speaking the credential-helper protocol): sigverify gets in, and then finds no signature.
    Without the helper's answer the same run is an AUTH_ERROR, so the login is what made the difference."""
    config = json.loads(block.text)
    ((host, helper),) = config["credHelpers"].items()
    ws = make_workspace(htpasswd_registry, tmp_path)
    docker_dir = ws.root.parent / "home" / ".docker"
    docker_dir.mkdir(parents=True, exist_ok=True)
    (docker_dir / "config.json").write_text(block.text.replace(host, htpasswd_registry.host))
    fake = tmp_path / "bin" / f"docker-credential-{helper}"
    answer = {"ServerURL": htpasswd_registry.host, "Username": htpasswd_registry.username}
    answer["Secret"] = htpasswd_registry.password
    fake.write_text(f"#!/bin/sh\ncat >/dev/null\necho '{json.dumps(answer)}'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    verify = ["sigverify", "verify", "--config", "sigverify.yaml", "--ci", "none"]
    proc = subprocess.run(verify, cwd=ws.root, env=ws.env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "NO_SIGNATURE" in proc.stdout, proc.stdout + proc.stderr
    fake.unlink()
    shutil.copy("/bin/false", fake)
    proc = subprocess.run(verify, cwd=ws.root, env=ws.env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "AUTH_ERROR" in proc.stdout, proc.stdout + proc.stderr
