"""Data-driven config tests: every positive example loads, every negative one fails with the expected text."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sigverify.errors import ConfigError
from sigverify.policy import load_config
from tests.policy.conftest import EXAMPLES

POSITIVE = sorted((EXAMPLES / "positive").glob("*.yaml"))
NEGATIVE = sorted((EXAMPLES / "negative").glob("*.yaml"))


def _directives(path: Path, name: str) -> list[str]:
    prefix = f"# {name}:"
    out = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        if line.startswith(prefix):
            out.append(line[len(prefix) :].strip())
    return out


def test_there_are_examples() -> None:
    assert len(POSITIVE) >= 8
    assert len(NEGATIVE) >= 40
    for path in NEGATIVE:
        assert _directives(path, "expect"), f"{path.name} has no '# expect:' line"


@pytest.mark.parametrize("example", POSITIVE, ids=[p.stem for p in POSITIVE])
def test_positive_example_loads(example: Path, config_dir: Path) -> None:
    target = config_dir / example.name
    shutil.copyfile(example, target)
    config = load_config(target)
    assert config.version == 1
    assert config.default == "allow" or config.policies


@pytest.mark.parametrize("example", NEGATIVE, ids=[p.stem for p in NEGATIVE])
def test_negative_example_fails(example: Path, config_dir: Path) -> None:
    target = config_dir / example.name
    shutil.copyfile(example, target)
    with pytest.raises(ConfigError) as info:
        load_config(target)
    rendered = str(info.value)
    for expected in _directives(example, "expect"):
        assert expected in rendered, f"expected {expected!r} in:\n{rendered}"
    for forbidden in _directives(example, "forbid"):
        assert forbidden not in rendered, f"{forbidden!r} must not appear in:\n{rendered}"
    assert all(p.file == str(target) for p in info.value.problems)
