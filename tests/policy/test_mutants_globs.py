"""Image-name patterns, one decision per test (written for the mutation run of policy/globs.py)."""

from __future__ import annotations

import pytest

from sigverify.policy.globs import PatternError, compile_glob, glob_matcher, normalise_glob, regexp_matcher


@pytest.mark.parametrize(
    ("pattern", "regexp"),
    [
        ("**", ".+"),
        ("a.io/**", "a\\.io(?:/[^/]+)*"),
        ("**/b", "(?:[^/]+/)*b"),
        ("a.io/**/b", "a\\.io/(?:[^/]+/)*b"),
        ("a.io/**/**/**/b", "a\\.io/(?:[^/]+/)*b"),
        ("a.io/*/b", "a\\.io/[^/]+/b"),
        ("a.io/x*?/b", "a\\.io/x[^/]*[^/]/b"),
    ],
)
def test_glob_translation_is_exact(pattern: str, regexp: str) -> None:
    assert compile_glob(pattern).pattern == regexp


def test_a_lone_double_star_never_matches_the_empty_name() -> None:
    assert compile_glob("**").fullmatch("") is None
    assert compile_glob("**").fullmatch("a") is not None


@pytest.mark.parametrize("pattern", ["a.io/x**", "a.io/**x/b", "a.io/***", "**x/b"])
def test_double_star_inside_a_segment_is_refused(pattern: str) -> None:
    with pytest.raises(PatternError) as info:
        compile_glob(pattern)
    assert "'**' must be a whole path segment" in info.value.message


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("*.io:1/app", "*.io:1/app"),  # port range edges are inclusive
        ("*.io:65535/app", "*.io:65535/app"),
        ("*.io:443/app", "*.io/app"),
        ("*.io:4430/app", "*.io:4430/app"),
        ("[*::1]/app", "[*::1]/app"),  # inside IPv6 brackets a ':' is not a port
        ("[*::1]:05000/app", "[*::1]:5000/app"),
        ("*.IO:*/app", "*.io:*/app"),
        ("*.IO/app", "*.io/app"),
        ("ghcr.io/app", "ghcr.io/app"),
        ("ghcr.io/*", "ghcr.io/*"),
        ("docker.io/a/b", "docker.io/a/b"),  # two path segments: no library/
        ("docker.io/*", "docker.io/library/*"),
        ("**", "**"),
    ],
)
def test_pattern_host_normalisation_exact(pattern: str, expected: str) -> None:
    assert normalise_glob(pattern, "/cfg").pattern == expected


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("*.io:0/app", "port 0 in '*.io:0' is out of range (1-65535)"),
        ("*.io:65536/app", "port 65536 in '*.io:65536' is out of range (1-65535)"),
        ("*.io:\u0665/app", "port '\u0665' in '*.io:\u0665' is not a number"),  # a non-ASCII digit
        ("*.io:/app", "port '' in '*.io:' is not a number"),
        ("", "a pattern must be non-empty and have no surrounding spaces"),
        ("ghcr.io/app ", "a pattern must be non-empty and have no surrounding spaces"),
        ("ghcr.io/a:b/c", "patterns match image names without tag: this one contains ':' after the registry"),
        ("ghcr.io/A*", "repository names are lowercase, so this pattern can never match"),
        ("ghcr.io/a//b", "a pattern must not contain an empty path segment ('//' or a trailing '/')"),
    ],
)
def test_pattern_refusals_are_exact(pattern: str, message: str) -> None:
    with pytest.raises(PatternError) as info:
        normalise_glob(pattern, "/cfg")
    assert info.value.message == message


@pytest.mark.parametrize(
    ("pattern", "tip"),
    [
        ("ghcr.io/a:b/c:d", "write ghcr.io/a/c"),
        ("ghcr.io/A/b", "write ghcr.io/a/b"),
        ("ghcr.io/app@sha256:x", "write ghcr.io/app"),
        ("oci:l/app@sha256:x", "write oci:l/app"),
        ("oci:l/app:v1", "write oci:l/app"),
        ("nginx", "write docker.io/library/nginx"),
        ("team/app", "write docker.io/team/app"),
        ("ghcr.io", "write ghcr.io/** for every repository of that registry, or ** for every image"),
    ],
)
def test_pattern_tips_are_exact(pattern: str, tip: str) -> None:
    with pytest.raises(PatternError) as info:
        normalise_glob(pattern, "/cfg")
    assert info.value.tip == tip


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("oci:l/a:b/c", "oci:/cfg/l/a:b/c"),  # a ':' before a '/' is part of the path, not a tag
        ("oci::v1", "oci:/cfg/:v1"),
        ("oci:/abs", "oci:/abs"),
    ],
)
def test_oci_patterns(pattern: str, expected: str) -> None:
    assert normalise_glob(pattern, "/cfg").pattern == expected


def test_rewritten_from_names_the_written_pattern_only_when_it_changed() -> None:
    assert normalise_glob("ghcr.io/app", "/cfg").rewritten_from is None
    assert normalise_glob("GHCR.io/app", "/cfg").rewritten_from == "GHCR.io/app"
    assert normalise_glob("oci:/abs", "/cfg").rewritten_from is None
    assert normalise_glob("oci:rel", "/cfg").rewritten_from == "oci:rel"


@pytest.mark.parametrize(
    ("pattern", "host"),
    [
        ("Ghcr/app", "ghcr"),  # uppercase: read as a host, so refused by the host rules (no '.', no port)
        ("[::1]/app", "[::1]"),
        ("localhost/app", "localhost"),
        ("host:5000/app", "host:5000"),
    ],
)
def test_first_segment_read_as_a_host(pattern: str, host: str) -> None:
    try:
        got = normalise_glob(pattern, "/cfg").pattern
    except PatternError as exc:
        assert "no '.'" in exc.message
        assert host == "ghcr"
    else:
        assert got == f"{host}/app"


def test_regexp_matcher_is_compiled_as_written_and_marked_regexp() -> None:
    m = regexp_matcher(r"ghcr\.io/a/.*")
    assert m.pattern == r"ghcr\.io/a/.*"
    assert m.compiled.pattern == r"ghcr\.io/a/.*"
    m = glob_matcher("ghcr.io/a/*", "/cfg")
    assert not m.regexp
    assert m.pattern == "ghcr.io/a/*"


@pytest.mark.parametrize(
    ("expr", "tip"),
    [
        (r"GHCR\.io/.*", r"start the regexp with ghcr\.io/"),
        (r"my-reg.Example.com:05000/.*", r"start the regexp with my-reg\.example\.com:5000/"),
    ],
)
def test_regexp_host_tip_is_exact(expr: str, tip: str) -> None:
    with pytest.raises(PatternError) as info:
        regexp_matcher(expr)
    assert info.value.tip == tip


@pytest.mark.parametrize("expr", [r"Team/.*", r"localhost/.*x", r"host:5000/.*"])
def test_regexp_host_rules_for_one_word_hosts(expr: str) -> None:
    if expr.startswith("Team"):
        with pytest.raises(PatternError):
            regexp_matcher(expr)
    else:
        assert regexp_matcher(expr).regexp


def test_question_mark_alone_makes_a_wildcard_host() -> None:
    assert normalise_glob("ghcr.i?/app", "/cfg").pattern == "ghcr.i?/app"
    assert glob_matcher("ghcr.i?/app", "/cfg").matches("ghcr.io/app")


def test_pattern_error_text_is_its_message() -> None:
    assert str(PatternError("m", tip="t")) == "m"


def test_regexp_host_with_a_port_but_no_dot_is_checked() -> None:
    with pytest.raises(PatternError) as info:
        regexp_matcher(r"host:05000/.*")
    assert info.value.tip == "start the regexp with host:5000/"


def test_oci_tag_is_after_the_last_colon() -> None:
    with pytest.raises(PatternError) as info:
        normalise_glob("oci:a:b/c:d", "/cfg")
    assert info.value.tip == "write oci:a:b/c"
