"""The only module that reads CI environment variables and writes CI files (GitHub, GitLab, Jenkins)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TextIO

from sigverify.models import RunResult


def publish(result: RunResult, *, mode: str = "auto", env: Mapping[str, str] | None = None,
            out: TextIO | None = None) -> None:
    """Write CI-native outputs for ``result`` (step summary, annotations, outputs). Placeholder until issue 4."""
    return None
