"""Fenced code blocks of README.md and docs/*.md, with their doc-test markers and section (see __init__.py)."""

from __future__ import annotations

import itertools
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Checked elsewhere (tests/ci): the CI document and README's CI sections.
SIGVERIFY = Path(sys.executable).parent / "sigverify"
OTHER_OWNER_FILES = {"docs/ci.md"}
OTHER_OWNER_SECTIONS = {"CI integration", "Org scale: sharding and merge"}

_FENCE = re.compile(r"^(\s*)(`{3,})(\S*)\s*$")
_MARKER = re.compile(r"<!--\s*doc-test:\s*(.*?)\s*-->")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, text (dedented by the fence's indent) and markers."""

    file: str
    line: int
    lang: str
    text: str
    section: str
    markers: frozenset[str] = field(default_factory=frozenset)

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}"

    def marked(self, name: str) -> bool:
        return name in self.markers

    def expected_exit(self) -> int:
        for m in self.markers:
            if m.startswith("exit "):
                return int(m.split()[1])
        return 0

    @property
    def created_name(self) -> str | None:
        """``# name.yaml`` on the first line: the document tells the reader to save the block as that file."""
        first = self.text.lstrip("\n").split("\n", 1)[0].strip()
        m = re.fullmatch(r"#\s*([\w./-]+\.ya?ml)", first)
        return m.group(1) if m else None


def doc_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def blocks(path: Path) -> list[Block]:
    """Every fenced block of one Markdown file."""
    rel = path.relative_to(REPO).as_posix()
    lines = path.read_text(encoding="utf-8").split("\n")
    out: list[Block] = []
    section = ""
    i = 0
    while i < len(lines):
        h = _HEADING.match(lines[i])
        if h and len(h.group(1)) == 2:
            section = h.group(2)
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m.group(1), m.group(2), m.group(3)
        markers: set[str] = set()
        k = i - 1
        while k >= 0 and (not lines[k].strip() or _MARKER.search(lines[k])):
            for mk in _MARKER.finditer(lines[k]):
                markers.update(x.strip() for x in mk.group(1).split(",") if x.strip())
            k -= 1
        j = i + 1
        while j < len(lines) and not (lines[j].strip().startswith(fence) and lines[j].strip().strip("`") == ""):
            j += 1
        body = [ln[len(indent):] if ln.startswith(indent) else ln.lstrip() for ln in lines[i + 1 : j]]
        out.append(Block(rel, i + 1, lang, "\n".join(body) + "\n", section, frozenset(markers)))
        i = j + 1
    return out


def checked_blocks(lang: set[str]) -> list[Block]:
    """Blocks of the given languages that tests/docs checks (not those another test folder owns)."""
    return [
        b
        for f in doc_files()
        for b in blocks(f)
        if b.lang in lang
        and b.file not in OTHER_OWNER_FILES
        and not (b.file == "README.md" and b.section in OTHER_OWNER_SECTIONS)
        and not b.marked("ci")
    ]


def commands(block: Block) -> list[list[str]]:
    """The simple commands of a console/sh block: prompts, continuations, comments and chains understood.

    A redirection stays in the token list (``>``, then the file)."""
    raw = block.text.split("\n")
    if block.lang == "console":
        raw = [ln[2:] for ln in raw if ln.startswith("$ ")]
    logical: list[str] = []
    buf = ""
    for ln in raw:
        if ln.rstrip().endswith("\\"):
            buf += ln.rstrip()[:-1] + " "
            continue
        logical.append(buf + ln)
        buf = ""
    if buf:
        logical.append(buf)
    out: list[list[str]] = []
    for line in logical:
        lex = shlex.shlex(line, posix=True, punctuation_chars=";&|>")
        lex.whitespace_split = True
        lex.commenters = "#"
        current: list[str] = []
        for tok in lex:
            if tok in ("&&", "||", ";", "|"):
                if current:
                    out.append(current)
                current = []
            else:
                current.append(tok)
        if current:
            out.append(current)
    return out


def is_sigverify(cmd: list[str]) -> bool:
    return bool(cmd) and cmd[0] in ("sigverify", ".venv/bin/sigverify")


def redirect_target(cmd: list[str]) -> str | None:
    """The file a ``> FILE`` redirection writes, if any."""
    for a, b in itertools.pairwise(cmd):
        if a in (">", ">>"):
            return b
    return None


def without_redirect(cmd: list[str]) -> list[str]:
    for i, tok in enumerate(cmd):
        if tok in (">", ">>"):
            return cmd[:i]
    return cmd


@cache
def help_text(*args: str) -> str:
    """``sigverify ARGS --help`` from the installed console script."""
    proc = subprocess.run([str(SIGVERIFY), *args, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def subcommands() -> list[str]:
    """The subcommands ``sigverify --help`` lists."""
    text = help_text()
    section = text.split("positional arguments:", 1)[1].split("options:", 1)[0]
    return [m.group(1) for m in re.finditer(r"^    (\w[\w-]*)", section, re.M)]


def help_flags(sub: str) -> set[str]:
    """Every option string of a subcommand's ``--help`` (the option list, so aliases count; not -h/--help)."""
    flags: set[str] = set()
    for line in help_text(sub).split("\n"):
        if re.match(r"^  -", line):
            names = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
            flags |= set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", names))
    return flags - {"-h", "--help"}
