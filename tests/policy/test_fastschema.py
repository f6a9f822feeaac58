"""The jsonschema-free validity check agrees with jsonschema: never "valid" where jsonschema finds an error."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sigverify.policy.fastschema import is_valid
from sigverify.policy.schemacheck import _validator, load_schema
from sigverify.policy.yamlstrict import parse_strict
from tests.policy.conftest import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((EXAMPLES / "positive").glob("*.yaml")) + sorted((EXAMPLES / "negative").glob("*.yaml")) + sorted(
    (ROOT / "examples").glob("*.yaml")
)
SCHEMA = load_schema()
ODD_VALUES: list[object] = [None, True, 0, 1, 1.0, -1, "", "x", " x", "$bad", [], ["x"], {}, {"regexp": "a"}]


def _data(path: Path) -> object:
    doc, _problems = parse_strict(path.read_text(), str(path))
    return None if doc is None else doc.data


def _truth(data: object) -> bool:
    return not any(True for _ in _validator().iter_errors(data))


def _variants(data: object) -> Iterator[object]:
    """Every value replaced by each odd value, every key removed, one unknown key added, at every depth."""
    paths: list[tuple[object, ...]] = []

    def walk(node: object, path: tuple[object, ...]) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))

    walk(data, ())
    for path in paths[1:]:
        for odd in [*ODD_VALUES, "__delete__"]:
            new = copy.deepcopy(data)
            parent: object = new
            for step in path[:-1]:
                parent = parent[step]  # type: ignore[index]
            if odd == "__delete__":
                del parent[path[-1]]  # type: ignore[attr-defined]
            else:
                parent[path[-1]] = copy.deepcopy(odd)  # type: ignore[index]
            yield new
    for path in paths:
        new = copy.deepcopy(data)
        node: object = new
        for step in path:
            node = node[step]  # type: ignore[index]
        if isinstance(node, dict):
            node["unknown_key"] = 1
            yield new


def test_every_positive_example_is_answered_without_jsonschema() -> None:
    positive = [p for p in CONFIGS if "negative" not in p.parts]
    assert len(positive) >= 8
    for path in positive:
        assert is_valid(SCHEMA, _data(path)) is True, path.name


@pytest.mark.parametrize("path", CONFIGS, ids=[f"{p.parent.name}/{p.stem}" for p in CONFIGS])
def test_agrees_with_jsonschema_on_every_example_and_its_mutations(path: Path) -> None:
    data = _data(path)
    if data is None:
        return
    checked = 0
    for variant in [data, *_variants(data)]:
        fast = is_valid(SCHEMA, variant)
        if fast is not None:
            assert fast is _truth(variant), (path.name, variant)
            checked += 1
    assert checked > 0


def test_unknown_keywords_and_references_are_left_to_jsonschema() -> None:
    assert is_valid({"type": "string", "format": "email"}, "x") is None
    assert is_valid({"$ref": "https://example.com/s.json"}, "x") is None
    assert is_valid({"enum": [[1]]}, [1]) is None
    assert is_valid({"type": "integer"}, True) is False
    assert is_valid({"const": 1}, True) is False
    assert is_valid({"oneOf": [{"type": "string"}, {"minLength": 1}]}, "x") is False


def test_a_valid_config_run_does_not_import_jsonschema() -> None:
    code = (
        "import sys; from pathlib import Path; from sigverify.policy import load_config; "
        f"load_config(Path({str(ROOT / 'examples' / 'sigverify.yaml')!r})); "
        "print(sorted(m for m in ('jsonschema', 'referencing', 'requests') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
