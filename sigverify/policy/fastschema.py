"""An exact yes/no check of a config against the shipped schema, for the keywords it uses, without jsonschema.

A valid config (every run) needs no error messages, so it need not pay for importing jsonschema. ``is_valid``
returns True only when the document certainly has no schema error; on any keyword, reference or value type it does
not model exactly it answers None ("not sure"), and the caller runs jsonschema, which then reports every error as
before. The semantics follow jsonschema's Draft 2020-12 validator with the loader's ``integer`` (no floats).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples"})
_KEYWORDS = frozenset({
    "$ref", "type", "enum", "const", "required", "properties", "additionalProperties", "propertyNames",
    "dependentRequired", "minProperties", "maxProperties", "items", "minItems", "maxItems", "pattern",
    "minLength", "maxLength", "minimum", "maximum", "oneOf", "allOf",
})
_PATTERNS: dict[str, re.Pattern[str]] = {}


class _Unsure(Exception):
    """The document uses something this checker does not model exactly: let jsonschema decide."""


def is_valid(schema: Mapping[str, Any], instance: object) -> bool | None:
    """True if ``instance`` certainly satisfies ``schema``, False if it certainly does not, None if not sure."""
    try:
        return _valid(schema, instance, schema)
    except (_Unsure, RecursionError):
        return None


def _is_type(instance: object, name: object) -> bool:
    if name == "string":
        return isinstance(instance, str)
    if name == "object":
        return isinstance(instance, dict)
    if name == "array":
        return isinstance(instance, list)
    if name == "boolean":
        return isinstance(instance, bool)
    if name == "null":
        return instance is None
    if name == "integer":
        return isinstance(instance, int) and not isinstance(instance, bool)
    if name == "number":
        if isinstance(instance, bool):
            return False
        if isinstance(instance, int | float):
            return True
        if instance is None or isinstance(instance, str | dict | list):
            return False
        raise _Unsure  # another numbers.Number subclass?
    raise _Unsure


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float)  # bool is an int


def _equal(a: object, b: object) -> bool:
    if not (_scalar(a) and _scalar(b)):
        raise _Unsure
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return a == b  # numbers (1 == 1.0 as in jsonschema) or None


def _search(pattern: str, text: str) -> bool:
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        compiled = _PATTERNS[pattern] = re.compile(pattern)
    return compiled.search(text) is not None


def _resolve(root: Mapping[str, Any], ref: object) -> object:
    if not isinstance(ref, str) or not ref.startswith("#/"):
        raise _Unsure
    node: object = root
    for part in ref[2:].split("/"):
        if "~" in part or "%" in part or not isinstance(node, Mapping) or part not in node:
            raise _Unsure
        node = node[part]
    return node


def _valid(schema: object, instance: object, root: Mapping[str, Any]) -> bool:
    if schema is True:
        return True
    if schema is False:
        return False
    if not isinstance(schema, Mapping):
        raise _Unsure
    for key in schema:
        if key not in _KEYWORDS and key not in _ANNOTATIONS and not str(key).startswith("x-"):
            raise _Unsure
    ok = True
    if "$ref" in schema:
        ok = _valid(_resolve(root, schema["$ref"]), instance, root) and ok
    if "type" in schema:
        want = schema["type"]
        names = want if isinstance(want, list) else [want]
        ok = any(_is_type(instance, n) for n in names) and ok
    if "enum" in schema:
        values = schema["enum"]
        if not isinstance(values, list):
            raise _Unsure
        ok = any(_equal(v, instance) for v in values) and ok
    if "const" in schema:
        ok = _equal(instance, schema["const"]) and ok
    if isinstance(instance, dict):
        ok = _object(schema, instance, root) and ok
    if isinstance(instance, list):
        ok = _array(schema, instance, root) and ok
    if isinstance(instance, str):
        if "pattern" in schema:
            ok = _search(schema["pattern"], instance) and ok
        if "minLength" in schema:
            ok = len(instance) >= schema["minLength"] and ok
        if "maxLength" in schema:
            ok = len(instance) <= schema["maxLength"] and ok
    if _is_type(instance, "number"):
        if "minimum" in schema:
            ok = instance >= schema["minimum"] and ok
        if "maximum" in schema:
            ok = instance <= schema["maximum"] and ok
    if "allOf" in schema:
        ok = all([_valid(s, instance, root) for s in schema["allOf"]]) and ok
    if "oneOf" in schema:
        ok = sum(_valid(s, instance, root) for s in schema["oneOf"]) == 1 and ok
    return ok


def _object(schema: Mapping[str, Any], instance: dict[Any, Any], root: Mapping[str, Any]) -> bool:
    ok = True
    props = schema.get("properties", {})
    if not isinstance(props, Mapping):
        raise _Unsure
    for name, sub in props.items():
        if name in instance:
            ok = _valid(sub, instance[name], root) and ok
    if "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        extras = [k for k in instance if k not in props]
        if isinstance(extra, Mapping):
            ok = all([_valid(extra, instance[k], root) for k in extras]) and ok
        elif extra is False:
            ok = not extras and ok
        elif extra is not True:
            raise _Unsure
    if "propertyNames" in schema:
        ok = all([_valid(schema["propertyNames"], k, root) for k in instance]) and ok
    if "required" in schema:
        ok = all(k in instance for k in schema["required"]) and ok
    if "dependentRequired" in schema:
        for name, deps in schema["dependentRequired"].items():
            if name in instance:
                ok = all(d in instance for d in deps) and ok
    if "minProperties" in schema:
        ok = len(instance) >= schema["minProperties"] and ok
    if "maxProperties" in schema:
        ok = len(instance) <= schema["maxProperties"] and ok
    return ok


def _array(schema: Mapping[str, Any], instance: list[Any], root: Mapping[str, Any]) -> bool:
    ok = True
    if "items" in schema:
        ok = all([_valid(schema["items"], item, root) for item in instance]) and ok
    if "minItems" in schema:
        ok = len(instance) >= schema["minItems"] and ok
    if "maxItems" in schema:
        ok = len(instance) <= schema["maxItems"] and ok
    return ok
