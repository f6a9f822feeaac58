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
