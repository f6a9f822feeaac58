"""Required attestations: a verified attestation of this predicate type, from these authorities, whose predicate
meets every condition (JMESPath or dotted field; ``equals`` exact JSON equality, or whole-string ``regexp``)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sigverify.models import Code, Reason

if TYPE_CHECKING:
    from sigverify.models import SignatureCheck
    from sigverify.policy.model import AttestationRequirement

_MISSING = object()


def check_requirement(req: AttestationRequirement, checks: Sequence[SignatureCheck]) -> Reason | None:
    """None when a verified attestation of exactly ``req.predicate_type`` by one of ``req.authorities`` has a
    predicate meeting every condition; else ATTESTATION_MISSING or ATTESTATION_MISMATCH (expected vs found)."""
    label = req.name or req.predicate_type
    attestations = [c for c in checks if c.facts.kind == "attestation"]
    of_type = [c for c in attestations if c.facts.predicate_type == req.predicate_type]
    usable = [
        c for c in of_type
        if c.ok and c.authority in req.authorities and c.facts.statement_subject_ok
    ]
    if not usable:
        return Reason(
            Code.ATTESTATION_MISSING,
            f"required attestation {label!r} is missing",
            expected=f"a verified {req.predicate_type} attestation from {' or '.join(req.authorities)}",
            found=_describe_missing(req, attestations, of_type),
            authority=", ".join(req.authorities),
        )
    first_failure: tuple[Mapping[str, Any], str] | None = None
    for c in usable:
        failure = _first_failed_condition(req.conditions, c.facts.predicate)
        if failure is None:
            return None
        if first_failure is None:
            first_failure = failure
    assert first_failure is not None
    cond, found = first_failure
    n = len(usable)
    return Reason(
        Code.ATTESTATION_MISMATCH,
        f"required attestation {label!r}: the predicate does not meet a condition"
        + (f" (in any of {n} verified attestations)" if n > 1 else ""),
        expected=describe_condition(cond),
        found=found,
        authority=", ".join(req.authorities),
    )


def _describe_missing(req: AttestationRequirement, attestations: Sequence[SignatureCheck],
                      of_type: Sequence[SignatureCheck]) -> str:
    if not attestations:
        return "no attestations"
    parts: list[str] = []
    for c in of_type:
        if not c.ok:
            why = f"{c.reason.code}: {c.reason.message}" if c.reason else "not verified"
            parts.append(f"{req.predicate_type} for authority {c.authority}, not verified ({why})")
        elif c.authority not in req.authorities:
            parts.append(f"{req.predicate_type} verified by authority {c.authority} (not accepted here)")
    others = sorted({str(c.facts.predicate_type) for c in attestations} - {req.predicate_type})
    if others:
        parts.append("other predicate types: " + ", ".join(others))
    return "; ".join(parts) if parts else "no attestation of that type"


def describe_condition(cond: Mapping[str, Any]) -> str:
    where = f"jmespath {cond['jmespath']}" if "jmespath" in cond else f"field {cond.get('field')}"
    if "regexp" in cond:
        return f"{where} matches /{cond['regexp']}/"
    return f"{where} == {_show(cond.get('equals'))}"


def _show(value: Any) -> str:
    import json

    if value is _MISSING:
        return "(absent)"
    try:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 200 else text[:200] + "…"


def _first_failed_condition(
    conditions: Sequence[Mapping[str, Any]], predicate: Any
) -> tuple[Mapping[str, Any], str] | None:
    for cond in conditions:
        try:
            value = select(cond, predicate)
        except ValueError as e:
            return cond, str(e)
        if "regexp" in cond:
            if not isinstance(value, str) or re.fullmatch(str(cond["regexp"]), value) is None:
                return cond, _show(value)
        elif not json_equal(value, cond.get("equals")):
            return cond, _show(value)
    return None


def select(cond: Mapping[str, Any], predicate: Any) -> Any:
    """The value a condition looks at; ``_MISSING`` when a dotted field is absent. ValueError for a bad expression."""
    if "jmespath" in cond:
        import jmespath
        from jmespath.exceptions import JMESPathError

        try:
            return jmespath.search(str(cond["jmespath"]), predicate)
        except JMESPathError as e:
            raise ValueError(f"invalid JMESPath expression {cond['jmespath']!r}: {e}") from None
    path = str(cond.get("field", ""))
    value: Any = predicate
    for part in path.split(".") if path else []:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: booleans never equal numbers, 1 == 1.0, objects and arrays compared deeply."""
    if a is _MISSING or b is _MISSING:
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def condition_problems(cond: Mapping[str, Any]) -> list[str]:
    """Static checks the policy loader may call: one selector, one comparison, valid JMESPath / regexp."""
    problems = []
    if ("jmespath" in cond) == ("field" in cond):
        problems.append("a condition selects a value with exactly one of: jmespath, field")
    if ("equals" in cond) == ("regexp" in cond):
        problems.append("a condition compares with exactly one of: equals, regexp")
    if "jmespath" in cond:
        import jmespath
        from jmespath.exceptions import JMESPathError

        try:
            jmespath.compile(str(cond["jmespath"]))
        except JMESPathError as e:
            problems.append(f"invalid JMESPath expression: {e}")
    if "regexp" in cond:
        try:
            re.compile(str(cond["regexp"]))
        except re.error as e:
            problems.append(f"invalid regexp: {e}")
    return problems
