"""Reference parsing follows the distribution grammar and Docker Hub normalisation."""

from __future__ import annotations

import pytest

from sigverify.errors import InvalidReferenceError
from sigverify.reference import HostError, normalise_host, parse, signature_tag

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
        ("Example.com/a/b", "example.com", "a/b", "latest", None),
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


# -- one registry, one spelling -------------------------------------------------------------------------------

SAME_REGISTRY = [
    # written, normal name
    ("DOCKER.IO/library/nginx", "docker.io/library/nginx"),
    ("Docker.Io/nginx", "docker.io/library/nginx"),
    ("docker.io:443/library/nginx", "docker.io/library/nginx"),
    ("docker.io:0443/nginx", "docker.io/library/nginx"),
    ("index.docker.io:443/library/nginx", "docker.io/library/nginx"),
    ("INDEX.DOCKER.IO/library/nginx", "docker.io/library/nginx"),
    ("registry-1.docker.io:443/acme/app", "docker.io/acme/app"),
    ("Localhost:5000/x", "localhost:5000/x"),
    ("LOCALHOST/x", "localhost/x"),
    ("127.0.0.1:05000/x", "127.0.0.1:5000/x"),
    ("127.0.0.1:0005000/x", "127.0.0.1:5000/x"),
    ("GHCR.io:443/acme/app", "ghcr.io/acme/app"),
    ("ghcr.io:00443/acme/app", "ghcr.io/acme/app"),
    ("[0:0:0:0:0:0:0:1]:5000/app", "[::1]:5000/app"),
    ("[::1]:443/app", "[::1]/app"),
    ("[FE80::1]:5000/app", "[fe80::1]:5000/app"),
    ("xn--BCHER-KVA.de/app", "xn--bcher-kva.de/app"),
    ("myhost:5000/app", "myhost:5000/app"),
]


@pytest.mark.parametrize(("written", "name"), SAME_REGISTRY)
def test_registry_spellings_normalise_to_one_name(written: str, name: str) -> None:
    ref = parse(written)
    assert ref.name == name
    assert parse(str(ref)).name == name  # the normal form is a fixed point
    assert ref.original == written  # what the user wrote is kept for reports


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("docker.io:80/library/nginx", "docker.io:80/library/nginx"),  # :80 is another (plain-HTTP) registry
        ("ghcr.io:80/acme/app", "ghcr.io:80/acme/app"),
        ("localhost:443/x", "localhost/x"),
        ("index.docker.io:5000/x", "index.docker.io:5000/x"),  # not Docker Hub: another port
    ],
)
def test_only_the_https_port_is_dropped(written: str, name: str) -> None:
    assert parse(written).name == name


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ("a.io:/x", "empty port"),
        ("a.io:0/x", "out of range"),
        ("a.io:65536/x", "out of range"),
        ("a.io:99999999999999999999/x", "out of range"),
        ("a.io:5000:1/x", "invalid registry host"),
        ("a.io:5x/x", "not a number"),
        ("bücher.de/x", "not ASCII"),
        ("127.1/x", "not a dotted-quad"),
        ("127.000.000.001/x", "not a dotted-quad"),
        ("300.1.1.1/x", "not a dotted-quad"),
        ("ACME/app", "Docker Hub namespace"),
        ("[::1/x", "unclosed"),
        ("[::g]:5000/x", "invalid IPv6 address"),
    ],
)
def test_registry_without_a_normal_form_is_rejected(ref: str, why: str) -> None:
    with pytest.raises(InvalidReferenceError) as info:
        parse(ref)
    assert why in info.value.message
    assert repr(ref) in info.value.message  # the error names the reference
    assert info.value.code == "INVALID_REFERENCE"


def test_non_ascii_host_tip_names_the_idna_form() -> None:
    with pytest.raises(InvalidReferenceError) as info:
        parse("bücher.de/x")
    assert "xn--bcher-kva.de" in info.value.diagnostics()


@pytest.mark.parametrize(
    ("host", "normal"),
    [
        ("Localhost:5000", "localhost:5000"),
        ("index.docker.io:443", "docker.io"),
        ("a.io:08080", "a.io:8080"),
        ("[::FFFF:7f00:1]", "[::ffff:7f00:1]"),
        ("a.io:80", "a.io:80"),
    ],
)
def test_normalise_host(host: str, normal: str) -> None:
    assert normalise_host(host) == normal
    assert normalise_host(normal) == normal


@pytest.mark.parametrize("host", ["", "a.io:", "a.io:0", "a.io:65536", "ACME", "é.io", "[::1", "[::1]x", "a..io"])
def test_normalise_host_rejects(host: str) -> None:
    with pytest.raises(HostError):
        normalise_host(host)
