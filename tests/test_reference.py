"""Reference parsing follows the distribution grammar and Docker Hub normalisation."""

from __future__ import annotations

import pytest

from sigverify.errors import InvalidReferenceError
from sigverify.reference import parse, signature_tag

H = "a" * 64


@pytest.mark.parametrize(
    ("ref", "registry", "repository", "tag", "digest"),
    [
        ("nginx", "docker.io", "library/nginx", "latest", None),
        ("nginx:1.25", "docker.io", "library/nginx", "1.25", None),
        ("docker.io/nginx", "docker.io", "library/nginx", "latest", None),
        ("index.docker.io/library/nginx:1", "docker.io", "library/nginx", "1", None),
        ("registry-1.docker.io/acme/app", "docker.io", "acme/app", "latest", None),
        ("acme/app:v1", "docker.io", "acme/app", "v1", None),
        ("localhost/app", "localhost", "app", "latest", None),
        ("localhost:5000/team/app:1.2.3", "localhost:5000", "team/app", "1.2.3", None),
        ("127.0.0.1:5000/team/worker@sha256:" + H, "127.0.0.1:5000", "team/worker", None, "sha256:" + H),
        ("ghcr.io/acme/app:v1@sha256:" + H, "ghcr.io", "acme/app", "v1", "sha256:" + H),
        ("Example.com/a/b", "Example.com", "a/b", "latest", None),
        ("[::1]:5000/app", "[::1]:5000", "app", "latest", None),
        ("reg.io/a__b/c-d/e.f", "reg.io", "a__b/c-d/e.f", "latest", None),
    ],
)
def test_parse_normalises(ref: str, registry: str, repository: str, tag: str | None, digest: str | None) -> None:
    r = parse(ref)
    assert (r.registry, r.repository, r.tag, r.digest) == (registry, repository, tag, digest)
    assert r.original == ref


def test_name_is_what_policies_match() -> None:
    assert parse("nginx").name == "docker.io/library/nginx"
    assert str(parse("localhost:5000/a:1")) == "localhost:5000/a:1"


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ("", "empty"),
        (" nginx", "white space"),
        ("Nginx", "lowercase"),
        ("reg.io/Acme/app", "lowercase"),
        ("nginx:", "invalid tag"),
        ("nginx:-bad", "invalid tag"),
        ("nginx@sha256:abc", "malformed digest"),
        ("nginx@sha256:" + "A" * 64, "unsupported or malformed digest"),
        ("nginx@md5:" + "a" * 32, "unsupported or malformed digest"),
        ("https://reg.io/app", "URL scheme"),
        ("reg.io/a//b", "invalid repository"),
        ("reg.io/", "invalid repository"),
        ("-bad.io/app", "invalid registry"),
        ("reg.io/" + "a" * 260, "longer than"),
        ("oci:", "empty OCI layout path"),
    ],
)
def test_invalid_references_are_clear_errors(ref: str, why: str) -> None:
    with pytest.raises(InvalidReferenceError) as info:
        parse(ref)
    assert why in info.value.message
    assert info.value.code == "INVALID_REFERENCE"
    assert "expected" in info.value.diagnostics()


def test_oci_layout_references(tmp_path: pytest.TempPathFactory) -> None:
    r = parse("oci:layouts/app:v1", base_dir="/cfg")
    assert r.layout == "/cfg/layouts/app" and r.tag == "v1" and r.digest is None
    assert r.name == "oci:/cfg/layouts/app"
    r = parse("oci:/abs/dir@sha256:" + H)
    assert r.layout == "/abs/dir" and r.digest == "sha256:" + H and r.tag is None
    r = parse("oci:/abs/dir")
    assert r.tag == "latest"
    r = parse("oci:/a:b/dir:tag")  # a ':' inside the path is not a tag separator
    assert r.layout == "/a:b/dir" and r.tag == "tag"


def test_signature_tags() -> None:
    assert signature_tag("sha256:" + H, "sig") == f"sha256-{H}.sig"
    assert signature_tag("sha256:" + H, None) == f"sha256-{H}"
