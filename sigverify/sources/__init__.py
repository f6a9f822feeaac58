"""Images from where they are declared: Kubernetes manifests (also helm/kustomize output) and compose files."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from sigverify.errors import ConfigError, ConfigProblem
from sigverify.sources.manifests import DeclaredImage, Extracted, extract
from sigverify.sources.yamlstream import documents

__all__ = ["STDIN", "Declared", "DeclaredImage", "read_images"]

STDIN = "-"
STDIN_NAME = "<stdin>"
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_FILES = 10_000
YAML_SUFFIXES = (".yaml", ".yml")
TIP = (
    "Give --images-from rendered Kubernetes YAML (kubectl, helm template, kustomize build) or a compose file; "
    "nothing was verified."
)


@dataclass(frozen=True)
class Declared:
    """Every image read, in order, and the documents skipped because they declare no image (by kind)."""

    images: tuple[DeclaredImage, ...]
    skipped: Counter[str] = field(default_factory=Counter)
    files: int = 0

    def note(self) -> str | None:
        """The report note on skipped documents, or None when every document declared images."""
        total = sum(self.skipped.values())
        if not total:
            return None
        kinds = ", ".join(f"{kind} ({n})" for kind, n in sorted(self.skipped.items()))
        return f"--images-from: skipped {total} document(s) or service(s) that declare no image: {kinds}"


def read_images(paths: Sequence[str], *, stdin: TextIO | None = None) -> Declared:
    """Read every path (a file, a directory of *.yaml/*.yml, or ``-``). Raises ConfigError (exit 2) listing
    every problem with file:line; nothing is returned from a run with problems."""
    out = Extracted()
    problems: list[ConfigProblem] = []
    files = 0
    stdin_used = False
    for path in paths:
        if path == STDIN:
            if stdin_used:
                problems.append(ConfigProblem(STDIN_NAME, None, None, "standard input ('-') was given twice"))
                continue
            stdin_used = True
            text = (stdin or sys.stdin).read(MAX_FILE_BYTES + 1)
            if len(text) > MAX_FILE_BYTES:
                problems.append(ConfigProblem(STDIN_NAME, None, None, _too_large()))
                continue
            files += 1
            _read_text(text, STDIN_NAME, out)
            continue
        for file in _files(path, problems):
            files += 1
            if files > MAX_FILES:
                problems.append(ConfigProblem(path, None, None, f"more than {MAX_FILES} files to read"))
                break
            text_or_none = _read_file(file, problems)
            if text_or_none is not None:
                _read_text(text_or_none, file, out)
    problems.extend(out.problems)
    if problems:
        raise ConfigError(problems, tip=TIP)
    return Declared(images=tuple(out.images), skipped=out.skipped, files=files)


def _read_text(text: str, filename: str, out: Extracted) -> None:
    for doc, problems in documents(text.removeprefix("\ufeff"), filename):
        out.problems.extend(problems)
        if doc is not None and not problems:
            extract(doc, filename, out)


def _too_large() -> str:
    return f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"


def _files(path: str, problems: list[ConfigProblem]) -> list[str]:
    p = Path(path)
    if p.is_dir():
        found = sorted(
            str(f) for f in p.rglob("*") if f.suffix in YAML_SUFFIXES and f.is_file() and not _hidden(f, p)
        )
        if not found:
            problems.append(ConfigProblem(path, None, None, "the directory holds no .yaml or .yml file"))
        return found
    if not p.exists():
        problems.append(ConfigProblem(path, None, None, "no such file or directory"))
        return []
    return [path]


def _hidden(f: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in f.relative_to(root).parts)


def _read_file(file: str, problems: list[ConfigProblem]) -> str | None:
    try:
        if os.stat(file).st_size > MAX_FILE_BYTES:
            problems.append(ConfigProblem(file, None, None, _too_large()))
            return None
        with open(file, encoding="utf-8") as fh:
            return fh.read()
    except UnicodeDecodeError as exc:
        problems.append(ConfigProblem(file, None, None, f"not UTF-8 text (byte {exc.start})"))
    except OSError as exc:
        problems.append(ConfigProblem(file, None, None, f"cannot be read: {exc.strerror or exc}"))
    return None
