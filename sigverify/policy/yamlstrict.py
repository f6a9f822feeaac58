"""Strict YAML reading: JSON-like data plus the line of every key and value; duplicate/odd keys are errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from sigverify.errors import ConfigProblem

KeyPath = tuple[str | int, ...]

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_JSON_SCALARS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_TAG_NAMES = {
    "tag:yaml.org,2002:int": "an integer",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:null": "null (an empty value)",
    "tag:yaml.org,2002:timestamp": "a date/timestamp",
    "tag:yaml.org,2002:binary": "binary data",
}
MAX_NODES = 200_000  # alias expansion bound ("billion laughs")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Scalar:
    """How a scalar was written: its source text and whether it was quoted."""

    text: str
    plain: bool
    tag: str


@dataclass
class YamlDoc:
    """Parsed data plus, for every path, the line of its key and of its value (1-based)."""

    data: Any
    key_lines: dict[KeyPath, int] = field(default_factory=dict)
    value_lines: dict[KeyPath, int] = field(default_factory=dict)
    scalars: dict[KeyPath, Scalar] = field(default_factory=dict)

    def line(self, path: KeyPath, *, key: bool = False) -> int | None:
        """The line of a value (or of its key), falling back to the nearest enclosing value."""
        p = path
        if key and p in self.key_lines:
            return self.key_lines[p]
        while True:
            if p in self.value_lines:
                return self.value_lines[p]
            if p in self.key_lines:
                return self.key_lines[p]
            if not p:
                return None
            p = p[:-1]


def format_path(path: KeyPath) -> str:
    """``("policies", 0, "key", "path")`` -> ``policies[0].key.path``; odd keys are quoted."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out or "(top level)"


class _Composer:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.doc = YamlDoc(data=None)
        self.problems: list[ConfigProblem] = []
        self._constructor = SafeConstructor()
        self._budget = MAX_NODES
        self._stack: set[int] = set()

    def problem(self, line: int | None, path: KeyPath, message: str, *, found: str | None = None) -> None:
        self.problems.append(
            ConfigProblem(self.filename, line, format_path(path) if path else None, message, found=found)
        )

    def convert(self, node: yaml.Node, path: KeyPath) -> Any:
        self._budget -= 1
        if self._budget < 0:
            raise _TooLarge
        line = node.start_mark.line + 1
        self.doc.value_lines.setdefault(path, line)
        if id(node) in self._stack:
            self.problem(line, path, "recursive YAML alias: a value cannot contain itself")
            return None
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in (_MAP, _SEQ):
            self.problem(line, path, f"unsupported YAML tag {node.tag}: only plain lists and maps are allowed")
            return None
        if isinstance(node, yaml.MappingNode):
            self._stack.add(id(node))
            try:
                return self._mapping(node, path)
            finally:
                self._stack.discard(id(node))
        if isinstance(node, yaml.SequenceNode):
            self._stack.add(id(node))
            try:
                return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
            finally:
                self._stack.discard(id(node))
        assert isinstance(node, yaml.ScalarNode)
        if node.tag not in _JSON_SCALARS:
            what = _TAG_NAMES.get(node.tag, f"a value tagged {node.tag}")
            self.problem(
                line,
                path,
                f"unsupported YAML value: {what}; only strings, numbers, booleans, lists and maps are allowed"
                + (" (quote it to make it a string)" if not node.style else ""),
                found=_safe_text(node.value),
            )
            return str(node.value)  # already reported; the text avoids a second, misleading type error
        self.doc.scalars[path] = Scalar(str(node.value), not node.style, node.tag)
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:  # pragma: no cover - resolver and constructor agree for JSON tags
            self.problem(line, path, f"cannot read this value: {exc}")
            return None
        except ValueError:  # an integer past Python's 4300-digit conversion limit
            self.problem(line, path, "number too large: at most 4300 digits", found=f"{len(node.value)} characters")
            return None

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            kline = key_node.start_mark.line + 1
            if key_node.tag == _MERGE:
                self.problem(
                    kline,
                    path,
                    "YAML merge keys ('<<') are not allowed: they silently override values",
                    found="<<",
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR:
                if isinstance(key_node, yaml.ScalarNode):
                    what = _TAG_NAMES.get(key_node.tag, key_node.tag)
                    hint = f'; quote it: "{key_node.value}"' if not key_node.style else ""
                    self.problem(
                        kline,
                        path,
                        f"mapping keys must be strings, YAML read this key as {what}{hint}",
                        found=_safe_text(key_node.value),
                    )
                else:
                    self.problem(kline, path, "mapping keys must be strings, found a list or map as a key")
                continue
            key = str(key_node.value)
            if key in first_line:
                self.problem(
                    kline,
                    (*path, key),
                    f"duplicate key '{key}' (first written at line {first_line[key]}); "
                    "YAML would silently keep only one of them",
                )
                continue
            first_line[key] = kline
            self.doc.key_lines[(*path, key)] = kline
            out[key] = self.convert(value_node, (*path, key))
        return out


class _TooLarge(Exception):
    pass


def _safe_text(text: object) -> str:
    s = str(text)
    return s if len(s) <= 60 else s[:57] + "..."


def _loader() -> type[yaml.SafeLoader]:
    # CSafeLoader composes the same nodes (with marks) and is much faster when libyaml is present.
    loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return loader


def parse_strict(text: str, filename: str) -> tuple[YamlDoc | None, list[ConfigProblem]]:
    """Parse one YAML document strictly. Returns the document (None on a syntax error) and its problems."""
    try:
        root = yaml.compose(text, Loader=_loader())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        col = f"column {mark.column + 1}: " if mark is not None else ""
        problem = exc.problem or "invalid YAML"
        if "another document" in problem:
            message = f"{col}a second YAML document starts here ('---'); the file must hold exactly one"
            return None, [ConfigProblem(filename, line, None, message)]
        context = ""
        if exc.context:
            started = exc.context_mark
            at = f" started at line {started.line + 1}" if started is not None and started is not mark else ""
            context = f" ({exc.context}{at})"
        return None, [ConfigProblem(filename, line, None, f"{col}YAML syntax error: {problem}{context}")]
    except yaml.YAMLError as exc:
        return None, [ConfigProblem(filename, None, None, f"YAML syntax error: {exc}")]
    comp = _Composer(filename)
    if root is None:
        return comp.doc, []
    try:
        comp.doc.data = comp.convert(root, ())
    except _TooLarge:
        return None, [
            ConfigProblem(filename, None, None, f"the YAML expands to more than {MAX_NODES} values (alias bomb?)")
        ]
    except RecursionError:
        return None, [ConfigProblem(filename, None, None, "the YAML is nested too deeply")]
    return comp.doc, comp.problems
