"""README's Architecture section names every part of the package, in the layer order the import test enforces."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_architecture import LAYERS

ROOT = Path(__file__).resolve().parents[2]


def _tree() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Architecture\n(.*?)^## ", text, re.S | re.M)
    assert match, "README.md has no '## Architecture' section"
    block = re.search(r"```text\n(.*?)```", match.group(1), re.S)
    assert block, "the Architecture section has no ```text tree"
    return block.group(1)


def _parts() -> list[str]:
    """Top-level modules and packages of sigverify/, as the tree names them (`x.py` or `x/`)."""
    pkg = ROOT / "sigverify"
    names = [p.name + "/" for p in pkg.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    names += [p.name for p in pkg.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    return sorted(names)


def test_every_part_of_the_package_is_in_the_tree() -> None:
    tree = _tree()
    missing = [n for n in _parts() if not re.search(rf"(^|[\s,]){re.escape(n)}", tree, re.M)]
    assert missing == []


def test_the_tree_lists_the_layers_in_the_import_order() -> None:
    tree = _tree()
    order = []
    for layer in LAYERS[1:]:
        for prefix in layer:
            if prefix == "sigverify.__main__":
                continue
            name = prefix.split(".", 1)[1]
            pkg_dir = ROOT / "sigverify" / name
            shown = name + "/" if pkg_dir.is_dir() else name + ".py"
            order.append((tree.index(shown), shown))
    positions = [pos for pos, _ in order]
    assert positions == sorted(positions), [shown for _, shown in sorted(order)]
