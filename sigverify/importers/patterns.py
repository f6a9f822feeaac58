"""Image patterns and identity matchers of other tools, translated exactly into sigverify's, or refused with why.

sigverify matches normalised image *names* (``registry/repository``, no tag or digest). policy-controller and
Kyverno match the whole *reference*, tag or digest included, with their own wildcards:

* policy-controller (``images[].glob``): ``*`` is any run without ``/`` (it also crosses ``:`` into the tag),
  ``**`` is any run at all; Docker Hub is ``index.docker.io``; ``*`` alone means ``index.docker.io/library/*``.
* Kyverno (``imageReferences``): ``*`` is any run (``/`` too), ``?`` one character; Docker Hub official images
  are ``docker.io/<name>`` or ``docker.io/library/<name>`` depending on how the pod spec wrote them.

A pattern is translated only when, for every image name, it matches all of that name's references or none of them
(then the name-level pattern is exact); otherwise it is refused with the reason and what to write instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sigverify.reference import DOCKER_HUB, HostError, normalise_host

_PC_VALID = re.compile(r"[a-zA-Z0-9\-_:/*.]+")
_PC_DOCKER_HUB = "index.docker.io"
_HOSTLIKE = re.compile(r"[^/]*[.:][^/]*|localhost(?::\d+)?")
_ANY = "(?s:.*)"


class Untranslatable(ValueError):
    """A pattern with no exact sigverify equivalent: ``reason`` says why, ``tip`` what to write instead."""

    def __init__(self, reason: str, tip: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tip = tip


@dataclass(frozen=True)
class Match:
    """A sigverify ``match:`` item: a glob string, or a regexp (written ``{regexp: ...}``)."""

    value: str
    regexp: bool = False

    def to_yaml(self) -> str | dict[str, str]:
        return {"regexp": self.value} if self.regexp else self.value


# -- tokens ------------------------------------------------------------------------------------------------------


def _tokens(pattern: str, wildcards: dict[str, str]) -> list[tuple[str, str]]:
    """Split into ("lit", text) and ("wild", token) parts; longest wildcard token first."""
    out: list[tuple[str, str]] = []
    i = 0
    keys = sorted(wildcards, key=len, reverse=True)
    while i < len(pattern):
        for k in keys:
            if pattern.startswith(k, i):
                out.append(("wild", k))
                i += len(k)
                break
        else:
            if out and out[-1][0] == "lit":
                out[-1] = ("lit", out[-1][1] + pattern[i])
            else:
                out.append(("lit", pattern[i]))
            i += 1
    return out


def _check_suffix_free(tokens: list[tuple[str, str]], original: str, tool: str) -> None:
    """The exactness conditions shared by both tools (see the module docstring)."""
    if not tokens or tokens[-1][0] != "wild" or tokens[-1][1] == "?":
        raise Untranslatable(
            f"{tool} matches {original!r} against whole references (name:tag or name@digest), so without a "
            "trailing wildcard it selects one tag (or none); sigverify policies apply to image names",
            tip=f"match the repository, {_name_hint(original)}, to require this for every tag and digest",
        )
    host_end = _host_end(tokens)
    seen_wild = False
    for kind, text in tokens[:-1]:
        if kind == "wild":
            seen_wild = True
            continue
        rest = text[host_end:] if host_end is not None and not seen_wild else text
        host_end = None
        if ":" in rest or "@" in rest:
            raise Untranslatable(
                f"{original!r} names a tag or digest (':' or '@' after the registry): it selects references, "
                "not images, and sigverify policies apply to every reference of an image",
                tip=f"match the repository instead: {_name_hint(original)}",
            )
        if seen_wild and "/" not in text:
            raise Untranslatable(
                f"in {original!r} a wildcard is followed by {text!r} without a '/', which {tool} may match inside "
                "the tag or digest: whether an image is covered would depend on how it is referenced",
                tip="end the pattern with the wildcard, or put a '/' between the wildcard and the literal text",
            )


def _host_end(tokens: list[tuple[str, str]]) -> int | None:
    """Where the registry host ends in the first literal (None when the host contains a wildcard)."""
    if not tokens or tokens[0][0] != "lit" or "/" not in tokens[0][1]:
        return None
    return tokens[0][1].index("/")


def _name_hint(pattern: str) -> str:
    """The image name a tag- or digest-selecting pattern is about: what to write in match: instead."""
    head, _, last = pattern.rpartition("/")
    last = re.split(r"[:@*?]", last, maxsplit=1)[0]
    return f"{head}/{last}" if head and last else pattern


def _host(tokens: list[tuple[str, str]], original: str, tool: str, hub_aliases: tuple[str, ...],
          hub_ok: bool = False) -> str | None:
    """The normalised literal host, or None when the host part holds a wildcard (then checked against Docker Hub).
    ``hub_ok``: the caller has checked that the tool's own Docker Hub spelling is exact."""
    first = tokens[0][1] if tokens and tokens[0][0] == "lit" else ""
    if "/" not in first:
        return None
    host = first.split("/", 1)[0]
    if not _HOSTLIKE.fullmatch(host):
        raise Untranslatable(
            f"{original!r} does not start with a registry host, so {tool} matches it only against the "
            "reference as the pod spec wrote it; sigverify matches normalised names",
            tip=f"write the registry: {DOCKER_HUB}/{first}... for Docker Hub images",
        )
    if host == _PC_DOCKER_HUB and tool == "policy-controller":
        if hub_ok:
            return DOCKER_HUB
        raise Untranslatable(
            f"policy-controller also compares references as written, so {original!r} covers an official image "
            f"written {_PC_DOCKER_HUB}/<name> but not the same image written <name>: whether an image is covered "
            "would depend on how it is written",
            tip=f"write {_PC_DOCKER_HUB}/library/<name>, {_PC_DOCKER_HUB}/<namespace>/... or {_PC_DOCKER_HUB}/**",
        )
    if host in hub_aliases or host in (DOCKER_HUB, "registry-1.docker.io"):
        raise Untranslatable(
            f"{original!r} is a Docker Hub pattern; {tool} names Docker Hub images differently from sigverify "
            f"({DOCKER_HUB}/library/<name> for official images), so the translation would not be exact",
            tip=f"write the sigverify pattern by hand, e.g. {DOCKER_HUB}/library/nginx or {DOCKER_HUB}/acme/**",
        )
    try:
        return normalise_host(host)
    except HostError as exc:
        raise Untranslatable(f"registry {host!r} in {original!r}: {exc.why}", tip=exc.tip) from None


def _regexp(tokens: list[tuple[str, str]], wild: dict[str, str], host: str | None) -> str:
    out: list[str] = []
    for i, (kind, text) in enumerate(tokens):
        if kind == "wild":
            out.append(wild[text])
            continue
        if i == 0 and host is not None:
            text = host + text[text.index("/") :]
        out.append(re.escape(text).replace("\\/", "/").replace("\\-", "-").replace("\\:", ":"))
    return "".join(out)


def _pc_hub_exact(glob: str) -> bool:
    """policy-controller names Docker Hub images ``index.docker.io/<namespace>/<name>`` (library/ for official
    ones), as sigverify does with docker.io; but it also compares the reference as written, where an official
    image may be ``index.docker.io/<name>``. Exact when the glob needs two path segments (a '/' after the
    registry) or is ``index.docker.io/**`` (every Docker Hub image, however written)."""
    if not glob.startswith(_PC_DOCKER_HUB + "/"):
        return False
    rest = glob[len(_PC_DOCKER_HUB) + 1 :]
    return rest == "**" or "/" in rest


def _pc_wild_host(glob: str, original: str) -> None:
    """A wildcard in policy-controller's registry part: exact only when it treats Docker Hub alike under both
    spellings and cannot meet a reference written without a registry (policy-controller also compares those as
    written)."""
    host_part = glob.split("/", 1)[0]
    if "**" in host_part:
        raise Untranslatable(f"the registry part of {original!r} holds '**', which also crosses '/'",
                             tip="name the registry, or a wildcard within it (*.example.com)")
    h = re.compile("".join("[^/]*" if c == "*" else re.escape(c) for c in host_part))
    if any(h.fullmatch(t) for t in _NAMESPACES):
        raise Untranslatable(
            f"the registry part of {original!r} also fits a Docker Hub namespace, and policy-controller compares "
            "references written without a registry (acme/app) as written: whether an image is covered would "
            "depend on how it is written", tip="name the registry, or a wildcard with a dot (*.example.com)")
    hub = h.fullmatch(_PC_DOCKER_HUB) is not None
    if hub and not _pc_hub_exact(_PC_DOCKER_HUB + glob[len(host_part) :]):
        raise Untranslatable(
            f"policy-controller also compares references as written, so {original!r} covers an official Docker Hub "
            "image written docker.io/<name> but not the same image written <name>: whether an image is covered "
            "would depend on how it is written", tip="put a '/' after the registry part (…/library/*, …/*/*)")
    if hub != (h.fullmatch(DOCKER_HUB) is not None):
        raise Untranslatable(
            f"the registry part of {original!r} is a wildcard that policy-controller and sigverify would apply "
            f"differently to Docker Hub images (policy-controller writes {_PC_DOCKER_HUB}, sigverify {DOCKER_HUB})",
            tip="name the registries explicitly, one pattern each")


# -- policy-controller -------------------------------------------------------------------------------------------

_PC_WILD = {"**": ".*", "*": "[^/]*"}
_NAMESPACES = ("acme", "library", "nginx", "x", "my-org", "a_b")  # first segments of Docker Hub short references


def policy_controller_glob(glob: str) -> Match:
    """An exact sigverify match for a ClusterImagePolicy ``images[].glob`` (raises Untranslatable)."""
    original = glob
    if glob == "*/*":
        glob = "index.docker.io/*/*"
    elif glob == "*":
        glob = "index.docker.io/library/*"
    if not _PC_VALID.fullmatch(glob):
        raise Untranslatable(f"{original!r} is not a valid policy-controller glob (letters, digits, -_:/*. only)")
    if glob == "**":
        return Match("**")
    tokens = _tokens(glob, _PC_WILD)
    _check_suffix_free(tokens, original, "policy-controller")
    host = _host(tokens, original, "policy-controller", (_PC_DOCKER_HUB,), hub_ok=_pc_hub_exact(glob))
    if host is None:
        _pc_wild_host(glob, original)
    if "**" not in glob:  # '*' within one segment: sigverify's glob means the same on names
        if host is not None:
            glob = host + glob[glob.index("/") :]
        return Match(glob)
    head = glob[: -len("/**")] if glob.endswith("/**") else None
    if head is not None and "**" not in head and host is not None:
        # 'P/**' needs at least one more segment: sigverify's 'P/*/**' (its 'P/**' would also match P itself)
        return Match(host + (head[head.index("/") :] if "/" in head else "") + "/*/**")
    return Match(_regexp(tokens, _PC_WILD, host), regexp=True)


# -- Kyverno -----------------------------------------------------------------------------------------------------

_KY_WILD = {"*": ".*", "?": "."}


def kyverno_image_pattern(pattern: str) -> Match:
    """An exact sigverify match for a Kyverno ``imageReferences`` entry (raises Untranslatable)."""
    if not pattern or pattern != pattern.strip():
        raise Untranslatable(f"{pattern!r}: an empty pattern or one with surrounding spaces")
    if set(pattern) <= {"*"}:
        return Match("**")
    tokens = _tokens(pattern, _KY_WILD)
    _check_suffix_free(tokens, pattern, "Kyverno")
    host = _host(tokens, pattern, "Kyverno", ())
    if host is None:
        raise Untranslatable(
            f"the registry part of {pattern!r} holds a wildcard: Kyverno's '*' also crosses '/', and Kyverno writes "
            f"official Docker Hub images {DOCKER_HUB}/<name> or {DOCKER_HUB}/library/<name> as the pod spec did, "
            "so whether an image is covered could depend on how it is written",
            tip="name the registry: one pattern per registry")
    if len(tokens) == 2 and tokens[0][1].endswith("/") and tokens[1] == ("wild", "*") and host is not None:
        # 'registry/path/*' (any depth below path): sigverify's 'registry/path/*/**'
        return Match(host + tokens[0][1][tokens[0][1].index("/") : -1] + "/*/**")
    return Match(_regexp(tokens, _KY_WILD, host), regexp=True)


def kyverno_wildcard(value: str) -> tuple[str, bool]:
    """A Kyverno keyless subject/issuer (``*`` any run, ``?`` one character): (text, is_regexp), exact."""
    if "*" not in value and "?" not in value:
        return value, False
    out = "".join(
        ".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in value
    )
    return out, True


def go_regexp(expr: str) -> str:
    """A Go (RE2) regexp used as cosign/policy-controller/Kyverno do (a match anywhere in the string), as a
    whole-string Python regexp. Raises Untranslatable when Python reads the syntax differently or not at all."""
    if re.search(r"\\[pPzC]|\[\[:|\(\?[a-zA-Z]*U", expr):
        raise Untranslatable(
            f"regexp {expr!r} uses RE2 syntax Python's re reads differently (\\p, \\z, [[:class:]], U flag)",
            tip="rewrite it with plain classes, or write the sigverify regexp by hand",
        )
    try:
        re.compile(expr)
    except re.error as exc:
        raise Untranslatable(f"regexp {expr!r} does not compile in Python: {exc}") from None
    inner = _dollar_is_end(expr)
    simple = "|" not in expr
    start, end = _ANY, _ANY
    if simple and inner.startswith("^"):
        inner, start = inner[1:], ""
    if simple and inner.endswith("\\Z") and not inner.endswith("\\\\Z"):
        inner, end = inner[: -len("\\Z")], ""
    # Go's \d, \w, \s and \b are ASCII; Python's are Unicode unless the pattern says (?a)
    ascii_flag = "(?a)" if re.search(r"\\[dDwWsSbB]", expr) else ""
    if not start and not end:
        return ascii_flag + inner
    return f"{ascii_flag}{start}(?:{inner}){end}"


def _dollar_is_end(expr: str) -> str:
    """Go's ``$`` (no m flag) is the end of the text; Python's also matches before a final newline: write ``\\Z``."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(expr):
        ch = expr[i]
        if ch == "\\" and i + 1 < len(expr):
            out.append(expr[i : i + 2])
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class:
            in_class = False
        out.append("\\Z" if ch == "$" and not in_class else ch)
        i += 1
    return "".join(out)
