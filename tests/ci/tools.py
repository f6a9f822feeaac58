"""Locate the CI linters and runners the CI tests use; a missing one skips locally and fails under CI=true."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from tests.fixtures.vectors import missing

ACTIONLINT_VERSION = "v1.7.12"
GITLAB_CI_LOCAL_VERSION = "4.73.0"  # 4.75.1 crashes on Node 20
CACHE = Path(os.environ.get("SIGVERIFY_TOOL_CACHE", Path.home() / ".cache" / "sigverify"))


def _find(name: str, *candidates: Path) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    return None


def venv_tool(name: str, pip: str) -> str:
    path = _find(name, Path(sys.executable).parent / name)
    if path is None:
        missing(f"`{name}`", f"Install it with `pip install '{pip}'`.")
        raise AssertionError("unreachable")
    return path


def actionlint() -> str:
    gopath = Path(os.environ.get("GOPATH", Path.home() / "go"))
    path = _find(
        "actionlint", Path(os.environ.get("GOBIN", gopath / "bin")) / "actionlint", gopath / "bin" / "actionlint"
    )
    if path is None:
        missing(
            "`actionlint`",
            f"Install it with `go install github.com/rhysd/actionlint/cmd/actionlint@{ACTIONLINT_VERSION}`.",
        )
        raise AssertionError("unreachable")
    return path


def gitlab_ci_local() -> str:
    prefix = CACHE / "gitlab-ci-local"
    path = _find("gitlab-ci-local", prefix / "node_modules" / ".bin" / "gitlab-ci-local")
    if path is None:
        missing(
            "`gitlab-ci-local`",
            f"Install it with `npm install --prefix {prefix} gitlab-ci-local@{GITLAB_CI_LOCAL_VERSION}` "
            "and `apt-get install -y rsync`.",
        )
        raise AssertionError("unreachable")
    if shutil.which("rsync") is None:
        missing("`rsync` (gitlab-ci-local needs it)", "Install it with `apt-get install -y rsync`.")
    return path


NPM_GROOVY_LINT_VERSION = "15.2.2"


def npm_groovy_lint() -> str:
    """npm-groovy-lint (Jenkinsfile linter, CodeNarc) from the tool cache; it needs `java`."""
    prefix = CACHE / "npm-groovy-lint"
    path = _find("npm-groovy-lint", prefix / "node_modules" / ".bin" / "npm-groovy-lint")
    if path is None:
        missing(
            "`npm-groovy-lint`",
            f"Install it with `npm install --prefix {prefix} npm-groovy-lint@{NPM_GROOVY_LINT_VERSION}` "
            "(or run tests/ci/install_node_tools.sh).",
        )
        raise AssertionError("unreachable")
    if shutil.which("java") is None:
        missing("`java` (npm-groovy-lint needs it)", "Install a Java runtime, e.g. `apt-get install -y default-jre`.")
    return path
