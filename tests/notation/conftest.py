"""Fixtures for the Notary Project verifier tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.vectors import vectors  # noqa: F401  (re-exported fixture)


@pytest.fixture(scope="session")
def notation_vectors(vectors: Path) -> Path:  # noqa: F811
    return vectors / "notation"
