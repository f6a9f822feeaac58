"""The config builder's base: where problems are collected, and the helpers every section's checks share."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from sigverify.errors import ConfigProblem
from sigverify.policy.model import Location
from sigverify.policy.yamlstrict import KeyPath, YamlDoc, format_path


class BuilderBase:
    """Turns schema-shaped data into typed objects; runs the checks JSON Schema cannot express.

    Tolerant of shape errors (the schema reports those): anything malformed is skipped, never guessed.
    """

    def __init__(self, doc: YamlDoc, filename: str, base_dir: Path) -> None:
        self.doc = doc
        self.filename = filename
        self.base_dir = base_dir
        self.problems: list[ConfigProblem] = []

    # -- helpers ---------------------------------------------------------------------------------
    def err(
        self, path: KeyPath, message: str, *, key: bool = False, expected: str | None = None, found: str | None = None
    ) -> None:
        self.problems.append(
            ConfigProblem(self.filename, self.doc.line(path, key=key), format_path(path), message, expected, found)
        )

    def loc(self, path: KeyPath) -> Location:
        return Location(self.filename, self.doc.line(path))

    def resolve(self, value: str) -> Path:
        return Path(os.path.normpath(self.base_dir / os.path.expanduser(value)))

    def existing(self, path: KeyPath, value: str, kind: Literal["file", "dir", "any"], what: str) -> str | None:
        resolved = self.resolve(value)
        ok = resolved.is_file() if kind == "file" else resolved.is_dir() if kind == "dir" else resolved.exists()
        if not ok:
            expected = {
                "file": "an existing file",
                "dir": "an existing directory",
                "any": "an existing file or directory",
            }[kind]
            state = (
                "does not exist" if not resolved.exists() else f"is not a {'file' if kind == 'file' else 'directory'}"
            )
            self.err(path, f"{what} {value!r} {state} (resolved to {resolved})", expected=expected, found=str(resolved))
            return None
        return str(resolved)

    def regexp(self, path: KeyPath, expr: str) -> re.Pattern[str] | None:
        try:
            return re.compile(expr)
        except re.error as exc:
            self.err(
                path,
                f"invalid regular expression: {exc.msg} at position {exc.pos}",
                expected="a Python regular expression (matched against the whole string)",
                found=repr(expr),
            )
            return None


def one_of(items: Sequence[str]) -> str:
    items = list(dict.fromkeys(items))
    return "one of: " + ", ".join(items) if items else "(none defined)"


def str_or_none(v: object) -> str | None:
    return v if isinstance(v, str) else None
