"""The composite action under nektos/act on the runner itself (``-P ubuntu-latest=-self-hosted``): a passing job, a
failing job (exit, ::error annotation, step summary), credentials from a Docker config written by an earlier step
(htpasswd registry), and a later step reading ``digests`` with ``fromJSON``.

act is pointed only at 127.0.0.1: no cache or artifact server, no Docker socket, actions/checkout skipped (act
copies the local tree), actions/setup-python and actions/cache replaced by the local stand-ins in
tests/ci/act/standins through ``--local-repository owner/repo@sha=DIR`` (act cannot clone them offline). pip
installs the hash-locked requirements from a wheel directory filled once from PyPI (``pip download
--require-hashes``, cached in ~/.cache/sigverify/wheels), with ``PIP_NO_INDEX``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.ci.project import REPO_ROOT, push_signed
from tests.fixtures.cosign_sign import KeyPair, generate_key
from tests.fixtures.registry import RegistryServer, unique_repo
from tests.fixtures.vectors import missing

ACT_VERSION = "v0.2.89"
PEERS_BIN = Path(os.environ.get("SIGVERIFY_PEERS_DIR", Path.home() / ".cache" / "sigverify" / "peers")) / "bin"
WHEELS = Path(os.environ.get("SIGVERIFY_WHEEL_CACHE", Path.home() / ".cache" / "sigverify" / "wheels"))
ACTION_FILES = ("action.yml", "entrypoint.py", "pyproject.toml", "README.md", "requirements", "sigverify")
LOCKS = ("requirements/runtime.txt", "requirements/build.txt")


def act_binary() -> str:
    found = shutil.which("act") or (str(PEERS_BIN / "act") if (PEERS_BIN / "act").is_file() else None)
    if found is None:
        missing(
            "`act` (nektos/act)",
            f"Build it with tests/peers/install.sh (go install github.com/nektos/act@{ACT_VERSION}).",
        )
        raise AssertionError("unreachable")
    return found


def uses_pins(path: Path) -> dict[str, str]:
    """``owner/repo`` -> SHA of every remote ``uses:`` in a workflow or composite action."""
    pins = {}
    for m in re.finditer(r"uses:\s*([\w.-]+/[\w.-]+)(?:/[\w./-]+)?@([0-9a-f]{40})\b", path.read_text()):
        pins[m.group(1)] = m.group(2)
    return pins


def fill_wheels() -> Path:
    """Every locked wheel for this Python, downloaded once (hash-checked by pip) into the wheel cache."""
    marker = WHEELS / ("complete-" + _lock_hash())
    if not marker.exists():
        WHEELS.mkdir(parents=True, exist_ok=True)
        args = [a for lock in LOCKS for a in ("-r", str(REPO_ROOT / lock))]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--disable-pip-version-check",
                "--require-hashes",
                "--no-deps",
                "--only-binary",
                ":all:",
                "-d",
                str(WHEELS),
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        marker.touch()
    return WHEELS


def _lock_hash() -> str:
    import hashlib

    h = hashlib.sha256()
    for lock in LOCKS:
        h.update((REPO_ROOT / lock).read_bytes())
    return h.hexdigest()[:16]


@dataclass
class ActRun:
    returncode: int
    out: str

    def job(self, name: str) -> str:
        """The log lines of one job (act prefixes each with ``[workflow/job   ]``)."""
        prefix = re.compile(rf"^\[[^/\]]+/{re.escape(name)}\s*\]")
        return "\n".join(ln for ln in self.out.splitlines() if prefix.match(ln))

    def marker(self, job: str, name: str) -> list[str]:
        return re.findall(rf"{name}=([^\n]*)", self.job(job))


@dataclass
class Scratch:
    repo: Path
    home: Path
    env: dict[str, str]
    secrets: dict[str, str]
    good_ref: str
    good_digest: str
    bad_ref: str
    auth_ref: str
    auth_digest: str


def _policy(registry: RegistryServer, images: list[str]) -> dict[str, object]:
    return {
        "version": 1,
        "images": images,
        "registries": {registry.host: {"insecure": True}},
        "policies": [
            {
                "name": "release",
                "match": [f"{registry.host}/**"],
                "authorities": [{"name": "release-key", "key": {"path": "keys/cosign.pub"}, "tlog": "ignore"}],
            }
        ],
    }


def make_scratch(root: Path, registry: RegistryServer, auth_registry: RegistryServer) -> Scratch:
    """A user's repository: the action (as `uses: ./` sees it), the test workflow, three policy files, a key."""
    repo = root / "repo"
    repo.mkdir(parents=True)
    for name in ACTION_FILES:
        src = REPO_ROOT / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, repo / name)
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "tests" / "ci" / "act" / "workflow.yml", repo / ".github" / "workflows" / "verify.yml")
    key: KeyPair = generate_key("p256")
    (repo / "keys").mkdir()
    key.write_public(repo / "keys", "cosign.pub")
    name = unique_repo("act")
    good, good_digest = push_signed(registry, name, "1.0", key)
    bad, _ = push_signed(registry, name, "unsigned", None)
    auth, auth_digest = push_signed(auth_registry, name, "1.0", key)
    (repo / "pass.yaml").write_text(yaml.safe_dump(_policy(registry, [good]), sort_keys=False))
    (repo / "fail.yaml").write_text(yaml.safe_dump(_policy(registry, [good, bad]), sort_keys=False))
    (repo / "auth.yaml").write_text(yaml.safe_dump(_policy(auth_registry, [auth]), sort_keys=False))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@127.0.0.1", "-C", str(repo)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "scratch"], check=True)
    home = root / "home"
    home.mkdir()
    env = {"GOOD_REF": good, "AUTH_REF": auth, "AUTH_REGISTRY": auth_registry.host}
    secrets = {"REG_USER": auth_registry.username, "REG_PASSWORD": auth_registry.password}
    return Scratch(repo, home, env, secrets, good, good_digest, bad, auth, auth_digest)


def run_act(scratch: Scratch, *, pip_cache: Path, job: str | None = None, wheels: Path | None = None) -> ActRun:
    standins = REPO_ROOT / "tests" / "ci" / "act" / "standins"
    pins = uses_pins(REPO_ROOT / "action.yml")
    cmd = [
        act_binary(),
        "push",
        "-P",
        "ubuntu-latest=-self-hosted",
        "--no-cache-server",
        "--container-daemon-socket",
        "-",
        "--action-offline-mode",
        "--concurrent-jobs",
        "1",
        "--local-repository",
        f"actions/setup-python@{pins['actions/setup-python']}={standins / 'setup-python'}",
        "--local-repository",
        f"actions/cache@{pins['actions/cache']}={standins / 'cache'}",
        "-W",
        ".github/workflows/verify.yml",
    ]
    if job:
        cmd += ["-j", job]
    for k, v in scratch.env.items():
        cmd += ["--env", f"{k}={v}"]
    for k, v in scratch.secrets.items():
        cmd += ["-s", f"{k}={v}"]
    env = {
        "HOME": str(scratch.home),
        "SIGVERIFY_ACTION_CACHE": str(pip_cache),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    env["PATH"] = os.environ["PATH"]  # the runner's own python3 (>= 3.11), as on a hosted runner
    if wheels is not None:
        env |= {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)}
    for k in (
        "SSL_CERT_FILE",
        "REQUESTS_CA_BUNDLE",
        "PIP_CERT",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ):
        if k in os.environ and wheels is None:
            env[k] = os.environ[k]
    proc = subprocess.run(
        cmd, cwd=scratch.repo, env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL
    )
    return ActRun(proc.returncode, proc.stdout + proc.stderr)


# ---- the tests ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def act_run(
    tmp_path_factory: pytest.TempPathFactory, registry: RegistryServer, htpasswd_registry: RegistryServer
) -> Iterator[tuple[Scratch, ActRun]]:
    act_binary()
    root = tmp_path_factory.mktemp("act")
    scratch = make_scratch(root, registry, htpasswd_registry)
    yield scratch, run_act(scratch, pip_cache=root / "pip-cache", wheels=fill_wheels())


def test_pass_job_deploys_the_verified_digest(act_run: tuple[Scratch, ActRun]) -> None:
    scratch, run = act_run
    log = run.job("pass")
    assert "🏁  Job succeeded" in log, run.out[-5000:]
    repo = scratch.good_ref.rsplit(":", 1)[0]
    assert run.marker("pass", "SIGVERIFY_ACT_DEPLOY") == [f"pass 1 {repo}@{scratch.good_digest}"]
    # the runner's python3 was used: the setup-python stand-in never ran; the cache key names the lock
    assert "SIGVERIFY_ACT_SETUP_PYTHON_STANDIN" not in run.out
    (key,) = set(re.findall(r"\| SIGVERIFY_ACT_CACHE key=(\S+)", log))
    assert re.fullmatch(r"sigverify-pip-Linux-\w+-py3\.\d+-[0-9a-f]{32}", key)


def test_fail_job_fails_with_annotation_and_step_summary(act_run: tuple[Scratch, ActRun]) -> None:
    scratch, run = act_run
    assert run.returncode != 0
    log = run.job("fail")
    assert "🏁  Job failed" in log and "SIGVERIFY_ACT_UNREACHABLE" not in log
    errors = [ln.split("::error ", 1)[1] for ln in log.splitlines() if "::error " in ln]
    assert len(errors) == 1 and errors[0].startswith("file=fail.yaml,line=4,title=sigverify NO_SIGNATURE%3A ")
    assert "Summary - ### ❌ sigverify: verification failed" in log
    (failed,) = run.marker("fail", "SIGVERIFY_ACT_FAILED")
    result, digests = failed.split(" ", 1)
    assert result == "fail" and json.loads(digests) == {scratch.good_ref: scratch.good_digest}
    assert run.marker("fail", "SIGVERIFY_ACT_SUMMARY") == ["NO_SIGNATURE"]


def test_credentials_from_the_docker_config_written_by_an_earlier_step(act_run: tuple[Scratch, ActRun]) -> None:
    scratch, run = act_run
    log = run.job("credentials")
    assert "🏁  Job succeeded" in log, log[-5000:]
    assert run.marker("credentials", "SIGVERIFY_ACT_AUTH") == [f"pass {scratch.auth_digest}"]
    assert scratch.secrets["REG_PASSWORD"] not in run.out  # act masks the secret; sigverify never prints it


def test_without_the_docker_config_the_protected_registry_fails(
    tmp_path: Path, registry: RegistryServer, htpasswd_registry: RegistryServer
) -> None:
    """The credentials test can fail: with a wrong password the same job fails closed."""
    scratch = make_scratch(tmp_path, registry, htpasswd_registry)
    scratch.secrets["REG_PASSWORD"] = "wrong-" + scratch.secrets["REG_PASSWORD"]
    run = run_act(scratch, pip_cache=tmp_path / "pip-cache", job="credentials", wheels=fill_wheels())
    assert run.returncode != 0 and "🏁  Job failed" in run.job("credentials")
    assert re.search(r"::error .*(AUTH|UNAUTHORIZED|CREDENTIAL)", run.job("credentials")), run.out[-4000:]
    assert run.marker("credentials", "SIGVERIFY_ACT_AUTH") == []


def _action_step(step_id: str) -> str:
    doc = yaml.safe_load((REPO_ROOT / "action.yml").read_text())
    (step,) = [s for s in doc["runs"]["steps"] if s.get("id") == step_id]
    return str(step["run"])


def test_windows_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.touch()
    proc = subprocess.run(
        ["bash", "-c", _action_step("env")],
        env={**os.environ, "RUNNER_OS": "Windows", "GITHUB_OUTPUT": str(out)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout.startswith("::error title=sigverify::sigverify's action runs on Linux and macOS runners only")
    assert out.read_text() == ""


def test_a_runner_without_python_311_leaves_python_to_setup_python(tmp_path: Path) -> None:
    """No python3 >= 3.11 on PATH: the step outputs an empty `python`, so actions/setup-python runs."""
    out = tmp_path / "out"
    out.touch()
    bindir = tmp_path / "bin"
    bindir.mkdir()
    old = bindir / "python3"
    old.write_text("#!/bin/sh\nexit 1\n")  # a python3 that is too old (fails the version check)
    old.chmod(0o755)
    proc = subprocess.run(
        ["/bin/bash", "-c", _action_step("env")],
        env={"PATH": str(bindir), "RUNNER_OS": "Linux", "GITHUB_OUTPUT": str(out)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == "python=\n"
