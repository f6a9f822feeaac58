"""The package's shape: imports flow one way through the layers below, without cycles; modules stay small; the
formats are listed in one table only. Every import counts (module level, inside functions, TYPE_CHECKING)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sigverify"

# Lowest first. A module may import its own layer or a lower one, never a higher one. Written once, here.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("sigverify", "sigverify.errors", "sigverify.models"),  # vocabulary: reason codes, values, error types
    ("sigverify.kms",),  # public keys named by URI
    ("sigverify.crypto",),  # signatures, certificates, logs, trust roots: no format or policy knowledge
    ("sigverify.reference",),  # image references
    ("sigverify.policy",),  # the YAML trust policy
    ("sigverify.sources", "sigverify.importers"),  # images from manifests; other tools' policies to a config
    ("sigverify.registry",),  # registries and OCI layouts (untrusted content sources)
    ("sigverify.formats",),  # one module per stored signature format, and THE table of formats
    ("sigverify.discovery",),  # find the stored candidates of the wanted formats
    ("sigverify.evaluate",),  # checks -> policy results -> verdicts
    ("sigverify.gate",),  # run the stages for every image
    ("sigverify.report", "sigverify.merge"),  # render results; merge shard reports
    ("sigverify.ci",),  # CI integrations (step summary, annotations)
    ("sigverify.cli", "sigverify.__main__"),  # the command line
)

MAX_LINES = 500  # every module, no exception
FORMATS_TABLE = "sigverify.formats"
FORMAT_NAMES_DECLARED = "sigverify.models"  # the enum of names (values appear in reports); no facts about them
AMBIGUOUS = frozenset({"notation", "unknown"})  # format values that are also ordinary words (an authority kind)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[str]:
    """Every sigverify module that ``name`` imports (``from pkg import mod`` names the module mod)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target.startswith("sigverify") and target != name:
                yield target


GRAPH: dict[str, set[str]] = {name: set(_imports(name, path)) for name, path in MODULES.items()}


def _layer(name: str) -> int:
    best, layer = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or (name.startswith(prefix + ".") and prefix != "sigverify")) and len(prefix) > best:
                best, layer = len(prefix), i
    return layer


def test_every_module_has_a_layer() -> None:
    assert [m for m in MODULES if _layer(m) < 0] == []


def test_no_import_runs_up_the_layers() -> None:
    upward = sorted(
        f"{a} (layer {_layer(a)}) imports {b} (layer {_layer(b)})"
        for a, targets in GRAPH.items() for b in targets if _layer(b) > _layer(a)
    )
    assert upward == []


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle() -> None:
    assert _cycles() == []


def test_the_graph_sees_imports_inside_functions() -> None:
    # The format table loads verifiers by name; evaluation imports the attestation checks lazily.
    assert "sigverify.evaluate.attestations" in GRAPH["sigverify.evaluate"]
    assert "sigverify.crypto.sigstore_adapter" in GRAPH["sigverify.crypto.certificates"]
    assert "sigverify.crypto.sigstore_adapter.package" in GRAPH["sigverify.crypto.trustroot"]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_small(name: str) -> None:
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines (at most {MAX_LINES})"


def test_no_package_holds_a_quarter_of_the_code() -> None:
    sizes: dict[str, int] = {}
    for name, path in MODULES.items():
        top = ".".join(name.split(".")[:2])
        sizes[top] = sizes.get(top, 0) + len(path.read_text().splitlines())
    total = sum(sizes.values())
    biggest = max(sizes, key=lambda k: sizes[k])
    assert sizes[biggest] < total / 4, f"{biggest}: {sizes[biggest]} of {total} lines"


def _format_values() -> dict[str, str]:
    tree = ast.parse(MODULES[FORMAT_NAMES_DECLARED].read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Format":
            return {
                stmt.targets[0].id: stmt.value.value
                for stmt in node.body
                if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)
                and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)
            }
    raise AssertionError("models.Format not found")


def test_only_the_table_lists_formats() -> None:
    """Outside the table, a module may name one format (its own), never several: no second list of formats."""
    values = _format_values()
    assert len(values) >= 4
    listing: dict[str, list[str]] = {}
    for name, path in MODULES.items():
        if name in (FORMATS_TABLE, FORMAT_NAMES_DECLARED):
            continue
        named: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Format":
                named.add(node.attr)
            elif isinstance(node, ast.Constant) and node.value in values.values() and node.value not in AMBIGUOUS:
                named.add(str(node.value))
        if len(named) > 1:
            listing[name] = sorted(named)
    assert listing == {}


def test_the_table_names_a_verifier_module_that_exists() -> None:
    from sigverify import formats

    for (fmt, kind), target in formats.VERIFIERS.items():
        module, _, attr = target.partition(":")
        assert module in MODULES, (fmt, kind, target)
        assert attr == "VERIFIER"
    assert set(formats.SPEC) == {v for k, v in _format_values().items() if k != "UNKNOWN"}
