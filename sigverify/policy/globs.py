"""Image-name patterns: anchored globs (``*`` within a segment, ``**`` across segments) and regexps."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from sigverify.policy.model import Matcher
from sigverify.reference import DOCKER_HUB, DOCKER_HUB_ALIASES, HTTPS_PORT, MAX_PORT, HostError, normalise_host

__all__ = [
    "DOCKER_HUB",
    "DOCKER_HUB_ALIASES",
    "NormalisedPattern",
    "PatternError",
    "check_regexp_host",
    "compile_glob",
    "glob_matcher",
    "normalise_glob",
    "regexp_matcher",
]

OCI_PREFIX = "oci:"


class PatternError(ValueError):
    """A pattern that is malformed or can never match a normalised image name."""

    def __init__(self, message: str, *, tip: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.tip = tip


def compile_glob(pattern: str) -> re.Pattern[str]:
    """Translate an anchored glob into a regexp (use ``fullmatch``).

    ``*`` matches any run of characters except ``/``; ``?`` one character except ``/``; ``**`` (a whole
    path segment) any number of segments, including zero; everything else is literal.
    """
    segments: list[str] = []
    for seg in pattern.split("/"):
        if seg == "**" and segments and segments[-1] == "**":
            continue  # '**/**' is the same as '**'
        segments.append(seg)
    for seg in segments:
        if "**" in seg and seg != "**":
            raise PatternError(
                f"'**' must be a whole path segment, found {seg!r}",
                tip="use '*' to match part of one segment, '**' alone between slashes for any depth",
            )
    out: list[str] = []
    n = len(segments)
    for i, seg in enumerate(segments):
        last = i == n - 1
        if seg == "**":
            if n == 1:
                out.append(".+")
            elif last:
                # 'a/**' -> 'a' followed by zero or more '/segment'
                out.append("(?:/[^/]+)*")
            else:
                # '**/b' or 'a/**/b' -> zero or more 'segment/' before the rest
                out.append("(?:[^/]+/)*" if i == 0 else "/(?:[^/]+/)*")
            continue
        if i > 0 and segments[i - 1] != "**":
            out.append("/")
        out.append(_translate_segment(seg))
    return re.compile("".join(out))


def _translate_segment(seg: str) -> str:
    if seg == "*":
        return "[^/]+"  # a whole segment is never empty
    parts: list[str] = []
    for ch in seg:
        if ch == "*":
            parts.append("[^/]*")
        elif ch == "?":
            parts.append("[^/]")
        else:
            parts.append(re.escape(ch))
    return "".join(parts)


def _has_wildcard(s: str) -> bool:
    return "*" in s or "?" in s


def _is_host(segment: str) -> bool:
    """Like the distribution reference grammar: a domain has a '.' or a ':' port, or is 'localhost'."""
    return (
        "." in segment
        or ":" in segment
        or segment == "localhost"
        or segment.startswith("[")
        or segment.lower() != segment  # docker's splitDockerDomain: uppercase means a host
    )


@dataclass(frozen=True)
class NormalisedPattern:
    """A glob rewritten to match normalised names (Docker Hub aliases folded, oci: paths made absolute)."""

    pattern: str
    rewritten_from: str | None = None


def normalise_glob(pattern: str, base_dir: str) -> NormalisedPattern:
    """Check a glob can match a normalised image name and rewrite it to the normalised form."""
    if not pattern or pattern != pattern.strip():
        raise PatternError("a pattern must be non-empty and have no surrounding spaces", tip=None)
    if pattern.startswith(OCI_PREFIX):
        rest = pattern[len(OCI_PREFIX) :]
        if not rest:
            raise PatternError("an 'oci:' pattern needs a layout path, e.g. oci:layouts/app")
        if "@" in rest:
            raise PatternError(
                "patterns match image names without digest",
                tip=f"write {OCI_PREFIX}{rest.split('@', 1)[0]}",
            )
        head, sep, tail = rest.rpartition(":")
        if sep and head and "/" not in tail:  # like references: a trailing ':name' is a tag
            raise PatternError("patterns match layout names without tag", tip=f"write {OCI_PREFIX}{head}")
        absolute = os.path.normpath(os.path.join(base_dir, rest))
        return NormalisedPattern(OCI_PREFIX + absolute, None if absolute == rest else pattern)
    if "@" in pattern:
        raise PatternError(
            "patterns match image names without tag or digest: this one contains '@'",
            tip=f"write {pattern.split('@', 1)[0]}",
        )
    segments = pattern.split("/")
    first = segments[0]
    if not _has_wildcard(first) and not _is_host(first):
        suggestion = _docker_hub_form(segments)
        raise PatternError(
            f"the first segment {first!r} is not a registry host, so this pattern can never match: "
            "patterns match normalised names (registry/repository)",
            tip=f"write {suggestion}",
        )
    for seg in segments[1:]:
        if ":" in seg:
            raise PatternError(
                "patterns match image names without tag: this one contains ':' after the registry",
                tip=f"write {'/'.join([first, *[s.split(':', 1)[0] for s in segments[1:]]])}",
            )
        if seg == "":
            raise PatternError("a pattern must not contain an empty path segment ('//' or a trailing '/')")
        if seg != seg.lower():
            raise PatternError(
                "repository names are lowercase, so this pattern can never match",
                tip=f"write {'/'.join([first, *[s.lower() for s in segments[1:]]])}",
            )
    if len(segments) == 1 and first != "**":
        raise PatternError(
            "a pattern needs a repository after the registry host, so this one can never match",
            tip=f"write {first}/** for every repository of that registry, or ** for every image",
        )
    host = _normalise_pattern_host(first)
    new_segments = [host, *segments[1:]]
    if host == DOCKER_HUB and len(new_segments) == 2 and new_segments[1] != "**":
        new_segments.insert(1, "library")  # like references: official images live in library/
    new = "/".join(new_segments)
    return NormalisedPattern(new, None if new == pattern else pattern)


def _normalise_pattern_host(first: str) -> str:
    """The host segment of a glob in normal form (the same rules as references; wildcards kept)."""
    if first == "**":
        return first
    if not _has_wildcard(first):
        try:
            return normalise_host(first)
        except HostError as exc:
            raise PatternError(exc.why, tip=exc.tip) from None
    # A wildcard host: lower-case it and normalise a literal port; a wildcard port is kept as written.
    host = first.lower()
    name, sep, port = host.rpartition(":")
    if not sep or "]" in port or _has_wildcard(port):
        return host
    if not port.isascii() or not port.isdigit():
        raise PatternError(f"port {port!r} in {first!r} is not a number")
    number = int(port)
    if not 1 <= number <= MAX_PORT:
        raise PatternError(f"port {port} in {first!r} is out of range (1-{MAX_PORT})")
    return name if number == HTTPS_PORT else f"{name}:{number}"


def _docker_hub_form(segments: list[str]) -> str:
    if len(segments) == 1:
        return f"{DOCKER_HUB}/library/{segments[0]}"
    return "/".join([DOCKER_HUB, *segments])


def glob_matcher(pattern: str, base_dir: str) -> Matcher:
    """A Matcher for a glob written in the config (normalised first)."""
    norm = normalise_glob(pattern, base_dir)
    return Matcher(pattern=norm.pattern, compiled=compile_glob(norm.pattern), regexp=False)


_REGEXP_LITERAL_HOST = re.compile(r"(?:[A-Za-z0-9:-]|\\?\.)+(?=/)")


def check_regexp_host(expr: str) -> None:
    """Refuse a regexp whose literal host part is not in normal form: it could never match a normalised name.

    A regexp cannot be normalised; it is matched against the normalised name (``docker.io/library/nginx``,
    ``localhost:5000/app``). When the regexp starts with a literal host (letters, digits, ``-``, ``:``, ``.``
    or ``\\.``, up to the first ``/``), that host must already be in normal form.
    """
    m = _REGEXP_LITERAL_HOST.match(expr)
    if m is None:
        return
    written = m.group(0)
    literal = written.replace("\\.", ".")
    if "." not in literal and ":" not in literal and literal != "localhost" and literal.lower() == literal:
        return  # a repository path, not a host (docker.io's names never start without a host)
    try:
        normal = normalise_host(literal)
    except HostError as exc:
        raise PatternError(f"the regexp's host {literal!r} can never match: {exc.why}", tip=exc.tip) from None
    if normal != literal:
        escaped = re.escape(normal).replace("\\:", ":").replace("\\-", "-")
        raise PatternError(
            f"the regexp's host {literal!r} is not in normal form, so it can never match: regexps are matched "
            f"against normalised names, whose registry is written {normal!r}",
            tip=f"start the regexp with {escaped}/",
        )


def regexp_matcher(expr: str) -> Matcher:
    """A Matcher for ``{regexp: ...}``: the whole normalised name must match (raises re.error, PatternError)."""
    check_regexp_host(expr)
    return Matcher(pattern=expr, compiled=re.compile(expr), regexp=True)
