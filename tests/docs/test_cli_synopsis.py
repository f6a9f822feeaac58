"""README's "Command line" synopsis and ``--help`` of every subcommand agree, both ways."""

from __future__ import annotations

import re

import pytest

from tests.docs.mdblocks import REPO, blocks, help_flags, help_text, subcommands

_FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def synopsis() -> dict[str, set[str]]:
    """Flags per subcommand in README's "Command line" text block.

    A line ``sigverify SUB ...`` starts SUB's part (``sigverify --version`` is the top level); a line at the left
    margin ending in ``:`` with subcommand names in parentheses, e.g. ``report options (verify and merge):``,
    starts a part shared by those subcommands. Indented lines belong to the part above them."""
    section = [b for b in blocks(REPO / "README.md") if b.section == "Command line" and b.lang == "text"]
    assert len(section) == 1, "README's Command line section has one ```text synopsis block"
    known = subcommands()
    out: dict[str, set[str]] = {s: set() for s in [*known, ""]}
    current: list[str] = []
    for line in section[0].text.split("\n"):
        if not line.strip():
            continue
        if line.startswith("sigverify "):
            words = line.split()
            current = [words[1]] if words[1] in known else [""]
            rest = " ".join(words[2:]) if current != [""] else " ".join(words[1:])
        elif not line[0].isspace() and line.rstrip().endswith(":"):
            named = re.search(r"\(([^)]*)\)", line)
            current = [w for w in re.findall(r"[\w-]+", named.group(1) if named else "") if w in known]
            assert current, f"README synopsis line {line!r} names no subcommand in parentheses"
            rest = ""
        else:
            rest = line
        for sub in current:
            out.setdefault(sub, set()).update(_FLAG.findall(rest))
    return out


def test_every_subcommand_is_in_the_synopsis() -> None:
    documented = synopsis()
    missing = [s for s in subcommands() if not documented.get(s)]
    assert not missing, f"subcommands in `sigverify --help` but not in README's synopsis: {missing}"
    assert set(documented) - {""} <= set(subcommands()), "README's synopsis names a subcommand that does not exist"


@pytest.mark.parametrize("sub", subcommands())
def test_synopsis_matches_help(sub: str) -> None:
    documented = synopsis()[sub] - {"-h", "--help"}
    actual = help_flags(sub)
    assert not actual - documented, f"`sigverify {sub} --help` options not in README: {sorted(actual - documented)}"
    assert not documented - actual, f"README documents options `sigverify {sub}` lacks: {sorted(documented - actual)}"


def test_top_level_options() -> None:
    documented = synopsis()[""]
    actual = set(_FLAG.findall(help_text().split("\n\n", 1)[0])) - {"-h", "--help"}
    assert documented == actual

