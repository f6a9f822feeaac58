"""Run GitLab pipelines with gitlab-ci-local (shell executor) in a directory standing for a user's repository,
with sigverify's GitLab files served over HTTP from 127.0.0.1 for `include: remote:`."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.ci import tools
from tests.ci.project import REPO_ROOT

GIT = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci", "-c", "commit.gpgsign=false"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_files(directory: Path, *names: str) -> Iterator[str]:
    """Serve copies of REPO_ROOT/<name> from ``directory`` on 127.0.0.1; yields the base URL."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / name, directory / name)
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def git_commit(root: Path) -> None:
    if not (root / ".git").exists():
        subprocess.run([*GIT, "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-q", "--allow-empty", "-m", "ci"], cwd=root, check=True)


def run(
    root: Path, ci: dict[str, Any] | str | None, *args: str, commit: bool = True
) -> subprocess.CompletedProcess[str]:
    """Write .gitlab-ci.yml (unless ``ci`` is None), commit, and run gitlab-ci-local with ``args``."""
    if ci is not None:
        text = ci if isinstance(ci, str) else yaml.safe_dump(ci, sort_keys=False)
        (root / ".gitlab-ci.yml").write_text(text)
    if commit:
        git_commit(root)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "CI_", "GITLAB_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # `sigverify` as in the image
    return subprocess.run(
        [tools.gitlab_ci_local(), "--force-shell-executor", "--no-color", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def artifact(root: Path, job: str, name: str) -> Path:
    """A file the job kept as an artifact under sigverify-reports/."""
    return root / ".gitlab-ci-local" / "artifacts" / job / "sigverify-reports" / name
