"""The ``policies:`` section: image patterns, platforms, threshold, authorities and attestation requirements."""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from typing import Any, Literal, cast

from sigverify.policy.authorities import AuthoritiesBuilder
from sigverify.policy.builder import one_of
from sigverify.policy.globs import PatternError, glob_matcher, regexp_matcher
from sigverify.policy.model import AttestationRequirement, Matcher, Policy
from sigverify.policy.platforms import normalise_platform
from sigverify.policy.schemacheck import did_you_mean
from sigverify.policy.yamlstrict import KeyPath

_FIELD_PATH = re.compile(r"[^.]+(?:\.[^.]+)*")


class PoliciesBuilder(AuthoritiesBuilder):
    """The policies, each with its authorities and attestation requirements."""

    def policies(self, value: object) -> tuple[Policy, ...]:
        if not isinstance(value, list):
            return ()
        out: list[Policy] = []
        names: dict[str, int | None] = {}
        for i, pol in enumerate(value):
            path: KeyPath = ("policies", i)
            if not isinstance(pol, dict):
                continue
            name = pol.get("name")
            if isinstance(name, str):
                if name in names:
                    self.err((*path, "name"), f"duplicate policy name '{name}' (first used at line {names[name]})")
                else:
                    names[name] = self.doc.line((*path, "name"))
            built = self.policy(path, pol)
            if built is not None:
                out.append(built)
        return tuple(out)

    def policy(self, path: KeyPath, pol: dict[str, Any]) -> Policy | None:
        matchers = self.matchers((*path, "match"), pol.get("match"))
        authorities = self.authorities((*path, "authorities"), pol.get("authorities"))
        raw_auth = pol.get("authorities")
        threshold = pol.get("threshold", 1)
        if (
            isinstance(threshold, int)
            and not isinstance(threshold, bool)
            and threshold >= 1
            and isinstance(raw_auth, list)
            and raw_auth
            and threshold > len(raw_auth)
        ):
            self.err(
                (*path, "threshold"),
                f"threshold {threshold} is above the number of authorities ({len(raw_auth)}): no image could ever pass",
                expected=f"1 to {len(raw_auth)}",
                found=str(threshold),
            )
        auth_names = [a.get("name") for a in raw_auth if isinstance(a, dict)] if isinstance(raw_auth, list) else []
        attestations = self.attestations(
            (*path, "attestations"), pol.get("attestations"), [n for n in auth_names if isinstance(n, str)]
        )
        name, mode = pol.get("name"), pol.get("mode", "enforce")
        platforms = self.platforms((*path, "platforms"), pol.get("platforms", "index"))
        if (
            platforms is None
            or not isinstance(name, str)
            or mode not in ("enforce", "warn")
            or not isinstance(threshold, int)
            or matchers is None
            or authorities is None
            or attestations is None
        ):
            return None
        return Policy(
            name=name,
            match=matchers,
            authorities=authorities,
            location=self.loc(path),
            mode=cast(Literal["enforce", "warn"], mode),
            threshold=threshold,
            attestations=attestations,
            platforms=platforms,
            require_digest=pol.get("require_digest") is True,
        )

    def platforms(self, path: KeyPath, value: object) -> str | tuple[str, ...] | None:
        """``index``, ``all``, or a list of ``os/arch[/variant]`` in one spelling (each once)."""
        if value in ("index", "all"):
            return value
        if not isinstance(value, list) or not value:
            return None  # the schema reports it
        out: dict[str, int] = {}
        for i, item in enumerate(value):
            name = normalise_platform(item) if isinstance(item, str) else None
            if name is None:
                self.err((*path, i), f"not a platform: {item!r}", expected="os/arch or os/arch/variant in lower "
                         "case, e.g. linux/amd64, linux/arm64, linux/arm/v7", found=str(item))
                return None
            if name in out:
                self.err((*path, i), f"platform {item!r} is listed twice (as {value[out[name]]!r})",
                         expected="each platform once", found=str(item))
                return None
            out[name] = i
        return tuple(out)

    def matchers(self, path: KeyPath, value: object) -> tuple[Matcher, ...] | None:
        if not isinstance(value, list) or not value:
            return None
        out: list[Matcher] = []
        ok = True
        for i, item in enumerate(value):
            ipath: KeyPath = (*path, i)
            if isinstance(item, str):
                try:
                    out.append(glob_matcher(item, str(self.base_dir)))
                except PatternError as exc:
                    tip = f"; tip: {exc.tip}" if exc.tip else ""
                    self.err(ipath, f"bad image pattern {item!r}: {exc.message}{tip}")
                    ok = False
            elif isinstance(item, dict) and isinstance(item.get("regexp"), str):
                rpath = (*ipath, "regexp")
                if self.regexp(rpath, item["regexp"]) is None:
                    ok = False
                else:
                    try:
                        out.append(regexp_matcher(item["regexp"]))
                    except PatternError as exc:
                        tip = f"; tip: {exc.tip}" if exc.tip else ""
                        self.err(rpath, f"bad image regexp {item['regexp']!r}: {exc.message}{tip}")
                        ok = False
            else:
                ok = False
        return tuple(out) if ok else None

    # -- attestations ----------------------------------------------------------------------------
    def attestations(
        self, path: KeyPath, value: object, authority_names: list[str]
    ) -> tuple[AttestationRequirement, ...] | None:
        if value is None:
            return ()
        if not isinstance(value, list):
            return None
        out: list[AttestationRequirement] = []
        ok = True
        for i, att in enumerate(value):
            apath: KeyPath = (*path, i)
            if not isinstance(att, dict):
                ok = False
                continue
            names = att.get("authorities")
            if isinstance(names, list):
                for j, n in enumerate(names):
                    if isinstance(n, str) and n not in authority_names:
                        hint = did_you_mean(n, authority_names)
                        self.err(
                            (*apath, "authorities", j),
                            f"unknown authority '{n}' in this policy{hint}",
                            expected=one_of(authority_names),
                        )
                        ok = False
            conditions = self.conditions((*apath, "conditions"), att.get("conditions", []))
            ptype = att.get("predicate_type")
            name = att.get("name", ptype)
            if (
                conditions is None
                or not isinstance(ptype, str)
                or not isinstance(name, str)
                or not isinstance(names, list)
                or not all(isinstance(n, str) for n in names)
            ):
                ok = False
                continue
            out.append(
                AttestationRequirement(
                    name=name,
                    predicate_type=ptype,
                    authorities=tuple(names),
                    conditions=conditions,
                    location=self.loc(apath),
                )
            )
        return tuple(out) if ok else None

    def conditions(self, path: KeyPath, value: object) -> tuple[Mapping[str, Any], ...] | None:
        if not isinstance(value, list):
            return None
        ok = True
        for i, cond in enumerate(value):
            cpath: KeyPath = (*path, i)
            if not isinstance(cond, dict):
                ok = False
                continue
            rx = cond.get("regexp")
            if isinstance(rx, str) and self.regexp((*cpath, "regexp"), rx) is None:
                ok = False
            field = cond.get("field")
            if isinstance(field, str) and not _FIELD_PATH.fullmatch(field):
                self.err(
                    (*cpath, "field"),
                    "malformed field path",
                    expected="dot-separated keys in the predicate (list indexes as numbers), "
                    "e.g. buildDefinition.buildType",
                    found=repr(field),
                )
                ok = False
            expr = cond.get("jmespath")
            if isinstance(expr, str):
                problem = jmespath_problem(expr)
                if problem:
                    self.err((*cpath, "jmespath"), f"invalid JMESPath expression: {problem}", found=repr(expr))
                    ok = False
        return tuple(dict(c) for c in value if isinstance(c, dict)) if ok else None


def jmespath_problem(expr: str) -> str | None:
    """The parse error of a JMESPath expression, or None (also None when jmespath is not installed)."""
    try:
        jmespath: Any = importlib.import_module("jmespath")
    except ImportError:
        return None
    try:
        jmespath.compile(expr)
    except Exception as exc:  # jmespath raises its own ParseError/LexerError hierarchy
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None
