"""Validate parsed YAML against the shipped JSON Schema and turn each failure into a located ConfigProblem."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

from sigverify.errors import ConfigProblem
from sigverify.policy.fastschema import is_valid
from sigverify.policy.yamlstrict import KeyPath, YamlDoc, format_path

_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a map",
    "array": "a list",
    "null": "null",
}


def load_schema() -> dict[str, Any]:
    """The configuration JSON Schema shipped in the package."""
    with open(os.path.join(os.path.dirname(__file__), "schema.json"), encoding="utf-8") as f:  # package data
        text = f.read()
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _schema() -> dict[str, Any]:
    return load_schema()


@functools.cache
def _validator() -> Any:
    # jsonschema costs ~0.2 s to import: only pay it when a config is actually loaded, once per process.
    import jsonschema
    from jsonschema import Draft202012Validator

    def is_integer(_checker: object, instance: object) -> bool:
        return isinstance(instance, int) and not isinstance(instance, bool)  # 1.0 is not an integer here

    type_checker = Draft202012Validator.TYPE_CHECKER.redefine("integer", is_integer)
    cls = jsonschema.validators.extend(Draft202012Validator, type_checker=type_checker)  # type: ignore[no-untyped-call]
    return cls(_schema())


def schema_problems(doc: YamlDoc, filename: str) -> list[ConfigProblem]:
    """Every schema violation in the document, each at its file:line with a key path."""
    if doc.data is None:
        return [
            ConfigProblem(
                filename, None, None, "the configuration is empty", expected="a map with version and policies"
            )
        ]
    if is_valid(_schema(), doc.data):  # the common case answered without importing jsonschema (~0.15 s)
        return []
    problems: list[ConfigProblem] = []
    for err in _validator().iter_errors(doc.data):
        problems.extend(_translate(err, doc, filename))
    return problems


def _messages(schema: object) -> Mapping[str, str]:
    if isinstance(schema, Mapping):
        msgs = schema.get("x-messages")
        if isinstance(msgs, Mapping):
            return msgs
    return {}


def describe_value(doc: YamlDoc, path: KeyPath, value: object) -> str:
    """A short description of a value as found in the file (never long, never a whole map)."""
    sc = doc.scalars.get(path)
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}" + (f" (written {sc.text})" if sc and sc.plain else "")
    if value is None:
        return "null (an empty value)"
    if isinstance(value, int | float):
        return f"number {sc.text if sc else value}"
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    if isinstance(value, Mapping):
        return "a map" if value else "an empty map"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    return type(value).__name__


def did_you_mean(word: str, choices: list[str]) -> str:
    """``; did you mean 'x'?`` for the closest of ``choices`` to a mistyped ``word``, or "" when none is close."""
    import difflib  # only when there is a word to suggest

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def quote_hint(doc: YamlDoc, path: KeyPath, value: object) -> str:
    """For an unquoted scalar YAML read as a non-string (yes/no/on/off, 1.10, null): how to quote it."""
    sc = doc.scalars.get(path)
    if sc is None or not sc.plain or isinstance(value, str):
        return ""
    kind = "a boolean" if isinstance(value, bool) else "null" if value is None else "a number"
    text = sc.text if sc.text else ""
    return f'; YAML reads the unquoted {text or "empty value"} as {kind}: quote it, e.g. "{text}"'


def _type_words(expected: object) -> str:
    if isinstance(expected, str):
        return _TYPE_WORDS.get(expected, expected)
    if isinstance(expected, list):
        return " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in expected)
    return str(expected)


def _alternatives(one_of: object, instance: object) -> str:
    names: list[str] = []
    if isinstance(one_of, list):
        for sub in one_of:
            if isinstance(sub, Mapping):
                names.extend(str(r) for r in sub.get("required", []))
    present = [n for n in names if isinstance(instance, Mapping) and n in instance]
    return ", ".join(present) if present else "none of them"


def _translate(err: Any, doc: YamlDoc, filename: str) -> Iterator[ConfigProblem]:
    path: KeyPath = tuple(err.absolute_path)
    v: str = err.validator
    vv: Any = err.validator_value
    inst: Any = err.instance
    custom = _messages(err.schema).get(v)

    def at(
        p: KeyPath, message: str, *, key: bool = False, expected: str | None = None, found: str | None = None
    ) -> ConfigProblem:
        return ConfigProblem(filename, doc.line(p, key=key), format_path(p), message, expected, found)

    if "propertyNames" in err.relative_schema_path and isinstance(inst, str):
        kp = (*path, inst)
        if v == "enum":
            hint = did_you_mean(inst, [str(x) for x in vv])
            yield at(kp, f"unknown key '{inst}'{hint}", key=True, expected="one of: " + ", ".join(map(str, vv)))
        else:
            yield at(kp, custom or f"invalid key '{inst}'", key=True, found=repr(inst))
        return
    if v == "additionalProperties" and isinstance(inst, Mapping):
        allowed = [str(k) for k in err.schema.get("properties", {})]
        for extra in [k for k in inst if k not in allowed]:
            hint = did_you_mean(str(extra), allowed)
            yield at((*path, extra), f"unknown key '{extra}'{hint}", key=True, expected="one of: " + ", ".join(allowed))
        return
    if v == "required" and isinstance(inst, Mapping):
        for k in vv:
            if k not in inst:
                yield at(path, f"missing required key '{k}'", expected=f"{format_path((*path, k))} to be set")
        return
    if v == "dependentRequired" and isinstance(inst, Mapping):
        for k, deps in vv.items():
            if k in inst:
                for d in deps:
                    if d not in inst:
                        yield at((*path, k), f"'{k}' needs '{d}' too", key=True, expected=f"both {k} and {d}")
        return
    if v == "type":
        want = _type_words(vv)
        yield at(
            path,
            f"expected {want}, found {describe_value(doc, path, inst)}"
            + (quote_hint(doc, path, inst) if "string" in str(vv) else ""),
            expected=want,
            found=describe_value(doc, path, inst),
        )
        return
    if v in ("enum", "const"):
        choices = [vv] if v == "const" else list(vv)
        expected = "one of: " + ", ".join(str(c) for c in choices) if len(choices) > 1 else str(choices[0])
        if path == ("version",):
            yield at(
                path,
                "unsupported configuration version; this sigverify reads version 1",
                expected="1",
                found=describe_value(doc, path, inst),
            )
            return
        close = did_you_mean(inst, [str(c) for c in choices]) if isinstance(inst, str) else ""
        hint = close or quote_hint(doc, path, inst)
        yield at(
            path,
            f"invalid value {describe_value(doc, path, inst)}{hint}",
            expected=expected,
            found=describe_value(doc, path, inst),
        )
        return
    if custom:
        found = _alternatives(vv, inst) if v == "oneOf" else describe_value(doc, path, inst)
        if v in ("minProperties", "maxProperties") and isinstance(inst, Mapping):
            found = ", ".join(map(str, inst)) if inst else "an empty map"
        yield at(path, custom, found=found)
        return
    if v in ("minItems", "minLength"):
        yield at(path, "must not be empty", found=describe_value(doc, path, inst))
        return
    if v == "minimum":
        yield at(path, f"must be at least {vv}", expected=f">= {vv}", found=describe_value(doc, path, inst))
        return
    if v == "maxLength":
        yield at(path, f"is longer than {vv} characters")
        return
    yield at(path, err.message)
