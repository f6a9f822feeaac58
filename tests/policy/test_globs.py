"""Image-name globs: anchored, '*' within one segment, '**' across segments, Docker Hub and oci: normalisation."""

from __future__ import annotations

import pytest

from sigverify.policy.globs import PatternError, compile_glob, glob_matcher, normalise_glob, regexp_matcher

MATCHES = [
    # pattern, normalised image name, expected
    ("localhost:5000/team/app", "localhost:5000/team/app", True),
    ("localhost:5000/team/app", "localhost:5000/team/app2", False),  # anchored at the end
    ("localhost:5000/team/app", "xlocalhost:5000/team/app", False),  # anchored at the start
    ("localhost:5000/team/*", "localhost:5000/team/app", True),
    ("localhost:5000/team/*", "localhost:5000/team/a/b", False),  # '*' stays in one segment
    ("localhost:5000/team/*", "localhost:5000/team/", False),
    ("localhost:5000/team/app-*", "localhost:5000/team/app-worker", True),
    ("localhost:5000/team/app-*", "localhost:5000/team/app", False),
    ("localhost:5000/team/**", "localhost:5000/team/app", True),
    ("localhost:5000/team/**", "localhost:5000/team/a/b", True),
    ("localhost:5000/team/**", "localhost:5000/team", True),  # zero segments
    ("localhost:5000/team/**", "localhost:5000/teams/app", False),
    ("localhost:5000/team/**", "localhost:5001/team/app", False),
    ("a.io/**/b", "a.io/b", True),
    ("a.io/**/b", "a.io/x/y/b", True),
    ("a.io/**/b", "a.io/x/yb", False),
    ("a.io/**/b", "a.io/x/b/c", False),
    ("a.io/**/**/b", "a.io/x/b", True),  # consecutive '**' collapse
    ("**/b", "a.io/x/b", True),
    ("**/b", "a.io/x/c", False),
    ("**", "anything.io/at/all", True),
    ("*.io/team/app", "ghcr.io/team/app", True),
    ("*.io/team/app", "ghcr.io/other/team/app", False),
    ("ghcr.io/team/ap?", "ghcr.io/team/app", True),
    ("ghcr.io/team/ap?", "ghcr.io/team/ap/", False),  # '?' never matches '/'
    ("ghcr.io/team/ap?", "ghcr.io/team/apps", False),
    ("ghcr.io/te.m/app", "ghcr.io/texm/app", False),  # '.' is literal
    ("ghcr.io/team+x/app", "ghcr.io/team+x/app", True),  # regex metacharacters are literal
    ("ghcr.io/team+x/app", "ghcr.io/teammx/app", False),
    ("[::1]:5000/app", "[::1]:5000/app", True),
]


@pytest.mark.parametrize(("pattern", "name", "expected"), MATCHES)
def test_glob_matches(pattern: str, name: str, expected: bool) -> None:
    assert (compile_glob(pattern).fullmatch(name) is not None) is expected
    assert glob_matcher(pattern, "/cfg").matches(name) is expected


NORMALISED = [
    ("docker.io/library/nginx", "docker.io/library/nginx"),
    ("index.docker.io/library/nginx", "docker.io/library/nginx"),
    ("registry-1.docker.io/acme/*", "docker.io/acme/*"),
    ("docker.io/nginx", "docker.io/library/nginx"),  # like references: official images live in library/
    ("index.docker.io/ngin*", "docker.io/library/ngin*"),
    ("docker.io/**", "docker.io/**"),
    ("oci:layouts/app", "oci:/cfg/layouts/app"),
    ("oci:./layouts/../app", "oci:/cfg/app"),
    ("oci:/abs/layout", "oci:/abs/layout"),
    ("localhost/app", "localhost/app"),
    # one registry, one spelling: case, the HTTPS port and port spelling as for references
    ("DOCKER.IO/library/nginx", "docker.io/library/nginx"),
    ("docker.io:443/nginx", "docker.io/library/nginx"),
    ("index.docker.io:443/library/*", "docker.io/library/*"),
    ("Registry-1.Docker.IO:0443/acme/**", "docker.io/acme/**"),
    ("Localhost:5000/team/**", "localhost:5000/team/**"),
    ("127.0.0.1:05000/**", "127.0.0.1:5000/**"),
    ("GHCR.io:443/acme/app", "ghcr.io/acme/app"),
    ("[0:0::1]:5000/app", "[::1]:5000/app"),
    ("docker.io:80/x/y", "docker.io:80/x/y"),  # :80 is kept: another (plain-HTTP) registry
    # a wildcard host is lower-cased and its literal port normalised
    ("*.Example.com:0443/app", "*.example.com/app"),
    ("*.example.com:08080/app", "*.example.com:8080/app"),
    ("localhost:*/app", "localhost:*/app"),
    ("**/app", "**/app"),
]


@pytest.mark.parametrize(("pattern", "expected"), NORMALISED)
def test_pattern_normalisation(pattern: str, expected: str) -> None:
    assert normalise_glob(pattern, "/cfg").pattern == expected


def test_docker_hub_alias_pattern_matches_normalised_name() -> None:
    assert glob_matcher("index.docker.io/nginx", "/cfg").matches("docker.io/library/nginx")
    assert not glob_matcher("index.docker.io/nginx", "/cfg").matches("index.docker.io/library/nginx")


def test_oci_pattern_matches_layout_name() -> None:
    m = glob_matcher("oci:layouts/*", "/work/cfg")
    assert m.matches("oci:/work/cfg/layouts/app")
    assert not m.matches("oci:/work/cfg/layouts/app/nested")
    assert not m.matches("oci:layouts/app")


REJECTED = [
    ("nginx", "docker.io/library/nginx"),
    ("library/*", "docker.io/library/*"),
    ("team/app", "docker.io/team/app"),
    ("localhost:5000/team/app:1.0", "localhost:5000/team/app"),
    ("localhost:5000/team/app@sha256:abc", "localhost:5000/team/app"),
    ("ghcr.io/Acme/app", "ghcr.io/acme/app"),
    ("ghcr.io/team**", "'*'"),
    ("ghcr.io", "ghcr.io/**"),
    ("*", "**"),
    ("ghcr.io//app", "empty"),
    ("ghcr.io/app/", "empty"),
    (" ghcr.io/app", "spaces"),
    ("oci:", "layout path"),
    ("oci:layouts/app:v1", "oci:layouts/app"),
    ("oci:layouts/app@sha256:abc", "oci:layouts/app"),
    ("localhost:0/app", "out of range"),
    ("localhost:65536/app", "out of range"),
    ("localhost:/app", "empty port"),
    ("*.io:99999/app", "out of range"),
    ("*.io:5x/app", "not a number"),
    ("ACME/app", "Docker Hub namespace"),
    ("127.1/app", "dotted-quad"),
    ("bücher.de/app", "xn--bcher-kva.de"),
]


@pytest.mark.parametrize(("pattern", "hint"), REJECTED)
def test_pattern_that_can_never_match_is_rejected(pattern: str, hint: str) -> None:
    with pytest.raises(PatternError) as info:
        glob_matcher(pattern, "/cfg")
    assert hint in f"{info.value.message} {info.value.tip}"


def test_regexp_matcher_is_whole_string() -> None:
    m = regexp_matcher(r"ghcr\.io/acme/(app|worker)")
    assert m.regexp
    assert m.matches("ghcr.io/acme/app")
    assert not m.matches("ghcr.io/acme/app2")
    assert not m.matches("xghcr.io/acme/app")
    assert str(m) == r"regexp:ghcr\.io/acme/(app|worker)"


def test_double_star_never_matches_empty_segments() -> None:
    assert compile_glob("localhost:5000/team/**").fullmatch("localhost:5000/team/") is None
    assert compile_glob("localhost:5000/team/**").fullmatch("localhost:5000/team//app") is None


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("DOCKER.IO/library/nginx", "docker.io/library/nginx"),
        ("index.docker.io:443/nginx", "docker.io/library/nginx"),
        ("Localhost:5000/team/app", "localhost:5000/team/app"),
        ("127.0.0.1:05000/team/*", "127.0.0.1:5000/team/app"),
    ],
)
def test_pattern_in_any_spelling_matches_the_normalised_name(written: str, name: str) -> None:
    assert glob_matcher(written, "/cfg").matches(name)


REGEXP_NOT_NORMAL = [
    (r"Localhost:5000/.*", "localhost:5000/"),
    (r"DOCKER\.IO/library/.*", r"docker\.io/"),
    (r"index\.docker\.io/library/nginx", r"docker\.io/"),
    (r"docker\.io:443/.*", r"docker\.io/"),
    (r"127\.0\.0\.1:05000/team/.+", r"127\.0\.0\.1:5000/"),
    (r"ghcr.io:0/.*", "out of range"),
]


@pytest.mark.parametrize(("expr", "hint"), REGEXP_NOT_NORMAL)
def test_regexp_with_a_host_not_in_normal_form_is_rejected(expr: str, hint: str) -> None:
    with pytest.raises(PatternError) as info:
        regexp_matcher(expr)
    assert hint in f"{info.value.message} {info.value.tip}"


@pytest.mark.parametrize(
    "expr",
    [
        r"ghcr\.io/acme/.*",
        r"localhost:5000/.*",
        r"127\.0\.0\.1:5000/x",
        r"docker\.io/library/.*",
        r".*",
        r"(?i)GHCR\.IO/.*",
        r"(ghcr|quay)\.io/.*",
        r"[a-z]+\.io/x",
        r"team/.*",
    ],
)
def test_regexp_in_normal_form_or_without_a_literal_host_is_accepted(expr: str) -> None:
    assert regexp_matcher(expr).regexp
