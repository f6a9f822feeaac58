"""Image-pattern translation is exact or refused: checked against an oracle of each tool's documented matching
(policy-controller globs and Kyverno wildcards compared with whole references, tag or digest included)."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigverify.importers.patterns import (
    Match,
    Untranslatable,
    go_regexp,
    kyverno_image_pattern,
    kyverno_wildcard,
    policy_controller_glob,
)
from sigverify.policy import glob_matcher, regexp_matcher

DIGEST = "sha256:" + "ab" * 32


def _pc_oracle(glob: str) -> re.Pattern[str]:
    """policy-controller's documented glob: '.' literal, '**' any run, '*' a run without '/', whole string."""
    if glob == "*":
        glob = "index.docker.io/library/*"
    elif glob == "*/*":
        glob = "index.docker.io/*/*"
    body = glob.replace(".", r"\.").replace("**", "\0").replace("*", "[^/]*").replace("\0", ".*")
    return re.compile(f"^{body}$")


def _kyverno_oracle(pattern: str) -> re.Pattern[str]:
    """Kyverno's wildcard: '*' any run ('/' too), '?' one character, everything else literal."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


def _ours(m: Match) -> re.Pattern[str]:
    return (regexp_matcher(m.value) if m.regexp else glob_matcher(m.value, "/")).compiled


def _references(name: str, tag: str) -> list[str]:
    return [f"{name}:{tag}", f"{name}@{DIGEST}"]


def _pc_covers(glob: str, name: str, tag: str) -> list[bool]:
    """policy-controller's decision for every way of writing a reference to ``name``: it compares the fully
    qualified reference (Docker Hub as index.docker.io), and, when that does not match, the reference as written."""
    oracle = _pc_oracle(glob)
    if not name.startswith("docker.io/"):
        return [oracle.fullmatch(r) is not None for r in _references(name, tag)]
    path = name.removeprefix("docker.io/")
    official = path.startswith("library/") and path.count("/") == 1  # nginx is library/nginx, and only then
    paths = [path, *([path.removeprefix("library/")] if official else [])]
    written = [f"{host}{p}" for host in ("", "docker.io/", "index.docker.io/") for p in paths]
    out = []
    for suffix in (f":{tag}", f"@{DIGEST}"):
        full = oracle.fullmatch(f"index.docker.io/{path}{suffix}") is not None
        out += [full or oracle.fullmatch(f"{w}{suffix}") is not None for w in written]
    return out


def _kyverno_covers(pattern: str, name: str, tag: str) -> list[bool]:
    """Kyverno's decision for every way of writing a reference: official Docker Hub images keep the path as the
    pod spec wrote it (docker.io/nginx or docker.io/library/nginx)."""
    oracle = _kyverno_oracle(pattern)
    names = [name]
    if name.startswith("docker.io/library/") and name.count("/") == 2:
        names.append("docker.io/" + name.removeprefix("docker.io/library/"))
    return [oracle.fullmatch(r) is not None for n in names for r in _references(n, tag)]


@pytest.mark.parametrize(
    ("glob", "expected"),
    [
        ("**", Match("**")),
        ("ghcr.io/acme/**", Match("ghcr.io/acme/*/**")),  # sigverify's ghcr.io/acme/** would also match ghcr.io/acme
        ("ghcr.io/acme/*", Match("ghcr.io/acme/*")),
        ("ghcr.io/acme/app*", Match("ghcr.io/acme/app*")),
        ("GHCR.IO:443/acme/*", Match("ghcr.io/acme/*")),  # registries are normalised as in sigverify's own patterns
        ("ghcr.io/**/app*", Match(r"ghcr\.io/.*/app[^/]*", regexp=True)),
        ("*.gcr.io/**", Match(r"[^/]*\.gcr\.io/.*", regexp=True)),
        ("*", Match("docker.io/library/*")),  # policy-controller reads '*' as index.docker.io/library/*
        ("*/*", Match("docker.io/*/*")),
        ("index.docker.io/acme/*", Match("docker.io/acme/*")),
        ("index.docker.io/**", Match("docker.io/*/**")),
    ],
)
def test_policy_controller_globs_translated(glob: str, expected: Match) -> None:
    assert policy_controller_glob(glob) == expected


@pytest.mark.parametrize(
    ("glob", "reason"),
    [
        ("ghcr.io/acme/app", "selects one tag"),  # matches only references written without tag or digest
        ("ghcr.io/acme/app:**", "names a tag or digest"),  # tagged references only: digest references escape it
        ("ghcr.io/acme/*-svc*", "may match inside the tag or digest"),
        ("index.docker.io/*", "covers an official image written index.docker.io/<name>"),
        ("index.docker.io/ngin*", "would depend on how it is written"),
        ("docker.io/library/*", "Docker Hub pattern"),  # policy-controller spells Docker Hub index.docker.io
        ("*.docker.io/**", "apply differently to Docker Hub images"),
        ("*/**", "also fits a Docker Hub namespace"),  # acme/app written short is compared as written
        ("**.io/**", "holds '**'"),
        ("acme/**", "does not start with a registry host"),
        ("ghcr.io/acme/[ab]*", "not a valid policy-controller glob"),
    ],
)
def test_policy_controller_globs_refused_with_reason(glob: str, reason: str) -> None:
    with pytest.raises(Untranslatable) as exc:
        policy_controller_glob(glob)
    assert reason in exc.value.reason


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("*", Match("**")),
        ("ghcr.io/*", Match("ghcr.io/*/**")),  # Kyverno's '*' crosses '/'
        ("ghcr.io/kyverno/test-verify-image*", Match(r"ghcr\.io/kyverno/test-verify-image.*", regexp=True)),
        ("localhost:5000/team/*", Match("localhost:5000/team/*/**")),
    ],
)
def test_kyverno_patterns_translated(pattern: str, expected: Match) -> None:
    assert kyverno_image_pattern(pattern) == expected


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("ghcr.io/kyverno/test-verify-image:signed-keyless", "selects one tag"),
        ("ghcr.io/acme/app:v1*", "names a tag or digest"),
        ("ghcr.io/acme/*x*", "may match inside the tag or digest"),
        ("docker.io/nginx*", "Docker Hub pattern"),  # Kyverno writes docker.io/nginx or docker.io/library/nginx
        ("*/library/*", "registry part of '*/library/*' holds a wildcard"),
        ("*/nginx*", "registry part of '*/nginx*' holds a wildcard"),
        ("ghc?.io/a/*", "holds a wildcard"),
        ("ghcr.io/acme/app?", "selects one tag"),
    ],
)
def test_kyverno_patterns_refused_with_reason(pattern: str, reason: str) -> None:
    with pytest.raises(Untranslatable) as exc:
        kyverno_image_pattern(pattern)
    assert reason in exc.value.reason


_SEG = st.sampled_from(["acme", "app", "app-svc", "svc", "team", "x", "api", "apiv2", "sandbox"])
_HOST = st.sampled_from(["ghcr.io", "registry.example.com", "localhost:5000", "quay.io"])
_NAMES = st.one_of(
    st.builds(lambda h, segs: "/".join([h, *segs]), _HOST, st.lists(_SEG, min_size=1, max_size=4)),
    st.builds(lambda segs: "/".join(["docker.io", *segs]), st.lists(_SEG, min_size=2, max_size=3)),
    st.builds(lambda seg: f"docker.io/library/{seg}", _SEG),
)
_TAGS = st.sampled_from(["latest", "v1.2.3", "app", "x-svc"])
_PC_GLOBS = st.builds(
    lambda h, segs: "/".join([h, *segs]),
    st.sampled_from(["ghcr.io", "registry.example.com", "localhost:5000", "*.io", "*", "*.example.com",
                     "index.docker.io", "*.docker.io", "acme"]),
    st.lists(st.sampled_from(["acme", "*", "**", "app*", "a*p*", "x", "*-svc", "api", "library"]), min_size=1,
             max_size=3),
)
_KY_PATTERNS = st.builds(
    lambda h, tail: h + tail,
    st.sampled_from(["ghcr.io/", "registry.example.com/", "localhost:5000/", "*", "ghcr.io/acme/", "*.io/",
                     "docker.io/", "docker.io/library/", "*/"]),
    st.sampled_from(["*", "app*", "acme/*", "*/app*", "a?p*", "*x*", "app", "app:v*", "*/api*", "?*"]),
)


@settings(max_examples=600, deadline=None)
@given(_PC_GLOBS, _NAMES, _TAGS)
def test_policy_controller_translation_is_exact(glob: str, name: str, tag: str) -> None:
    """Translated: a name matches exactly when every reference of it matches policy-controller's glob (and
    then every reference does). Refused: some name is covered for some references and not others, or the
    translation would disagree on Docker Hub."""
    theirs = _pc_covers(glob, name, tag)
    try:
        ours = _ours(policy_controller_glob(glob)).fullmatch(name) is not None
    except Untranslatable:
        return
    assert theirs == [ours] * len(theirs), (glob, name, tag)


@settings(max_examples=600, deadline=None)
@given(_KY_PATTERNS, _NAMES, _TAGS)
def test_kyverno_translation_is_exact(pattern: str, name: str, tag: str) -> None:
    theirs = _kyverno_covers(pattern, name, tag)
    try:
        ours = _ours(kyverno_image_pattern(pattern)).fullmatch(name) is not None
    except Untranslatable:
        return
    assert theirs == [ours] * len(theirs), (pattern, name, tag)


def test_refusals_are_needed() -> None:
    """What is refused really depends on the reference: the oracle disagrees between tag and digest."""
    for glob in ("ghcr.io/acme/app:**", "ghcr.io/acme/*-svc*"):
        oracle = _pc_oracle(glob)
        refs = _references("ghcr.io/acme/app", "x-svc")
        assert len({oracle.fullmatch(r) is not None for r in refs}) == 2, glob


@pytest.mark.parametrize(
    ("expr", "python", "yes", "no"),
    [
        # cosign, policy-controller and Kyverno use Go's MatchString: a match anywhere
        ("ci-bot", "(?s:.*)(?:ci-bot)(?s:.*)", "the-ci-bot@x", "robot"),
        (r"^https://github\.com/acme/.*$", r"https://github\.com/acme/.*", "https://github.com/acme/x", "x"),
        ("^a|b$", r"(?s:.*)(?:^a|b\Z)(?s:.*)", "a-x", "xb\n"),  # Go's $ is the very end
        (r"^v\d+$", r"(?a)v\d+", "v12", "v\u0661\u0662"),  # Go's \d is ASCII: Arabic-Indic digits do not match
    ],
)
def test_go_regexps_keep_their_meaning(expr: str, python: str, yes: str, no: str) -> None:
    assert go_regexp(expr) == python
    assert re.fullmatch(python, yes) and not re.fullmatch(python, no)


def test_go_only_syntax_is_refused() -> None:
    with pytest.raises(Untranslatable, match="RE2 syntax"):
        go_regexp(r"\pL+@acme")


def test_kyverno_identity_wildcards() -> None:
    assert kyverno_wildcard("ops@acme.example") == ("ops@acme.example", False)
    assert kyverno_wildcard("*@acme.example") == (r".*@acme\.example", True)


_ENUM_NAMES = [
    *(f"{h}/{'/'.join(c)}" for h in ("ghcr.io", "localhost:5000", "registry.example.com") for n in (1, 2, 3)
      for c in itertools.product(("acme", "app", "app-svc", "x"), repeat=n)),
    *(f"docker.io/{'/'.join(c)}" for n in (2, 3)
      for c in itertools.product(("acme", "app", "app-svc", "x", "api", "library", "apiv2"), repeat=n)),
]


def test_every_small_policy_controller_glob_is_exact_or_refused() -> None:
    """Every glob of up to two segments over these parts, against every name above, written every way."""
    hosts = ("ghcr.io", "localhost:5000", "*.io", "*", "*.example.com", "index.docker.io", "*.docker.io", "acme",
             "**", "docker.io")
    segs = ("acme", "*", "**", "app*", "a*p*", "x", "*-svc", "library", "api")
    globs = [f"{h}/{'/'.join(c)}" for h in hosts for n in (1, 2) for c in itertools.product(segs, repeat=n)]
    translated = 0
    for glob in [*globs, "*", "*/*", "**"]:
        try:
            ours = _ours(policy_controller_glob(glob))
        except Untranslatable:
            continue
        translated += 1
        for name in _ENUM_NAMES:
            theirs = _pc_covers(glob, name, "v1")
            assert theirs == [ours.fullmatch(name) is not None] * len(theirs), (glob, name)
    assert translated > 100


def test_every_small_kyverno_pattern_is_exact_or_refused() -> None:
    heads = ("ghcr.io/", "localhost:5000/", "*", "ghcr.io/acme/", "*.io/", "docker.io/", "docker.io/library/", "*/")
    tails = ("*", "app*", "acme/*", "*/app*", "a?p*", "*x*", "app", "app:v*", "*/api*", "?*", "library/*", "**")
    translated = 0
    for pattern in (h + t for h, t in itertools.product(heads, tails)):
        try:
            ours = _ours(kyverno_image_pattern(pattern))
        except Untranslatable:
            continue
        translated += 1
        for name in _ENUM_NAMES:
            theirs = _kyverno_covers(pattern, name, "v1")
            assert theirs == [ours.fullmatch(name) is not None] * len(theirs), (pattern, name)
    assert translated > 20
