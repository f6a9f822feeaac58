"""The package passes its own linters: ruff and mypy --strict (configured in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("tool", [["ruff", "check", "sigverify", "entrypoint.py"], ["mypy"]],
                         ids=["ruff", "mypy"])
def test_linters_are_clean(tool: list[str]) -> None:
    exe = BIN / tool[0]
    if not exe.exists():
        from tests.fixtures.vectors import missing

        missing(f"`{tool[0]}`", "Install the test extra: pip install -e '.[test]'.")
    proc = subprocess.run([str(exe), *tool[1:]], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
