"""One registry, one spelling: references, patterns, `registries:` keys and credentials meet in the normal form."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sigverify.cli import main
from sigverify.gate import GateOptions, Target, run
from sigverify.models import ImageRef
from sigverify.policy import load_config
from sigverify.policy.globs import glob_matcher
from sigverify.policy.model import Authority, Config, KeyRef, Location, Policy
from sigverify.reference import DOCKER_HUB_ALIASES, parse
from sigverify.registry import Registries, Source
from sigverify.registry.credentials import Keychain
from sigverify.registry.layout import LayoutSource
from tests.fixtures.cosign_sign import generate_key, make_image, write_to_layout

HUB_SPELLINGS = [
    "DOCKER.IO/library/nginx",
    "docker.io:443/library/nginx",
    "index.docker.io:443/library/nginx",
    "Index.Docker.IO/nginx",
    "registry-1.docker.io:0443/library/nginx",
    "nginx",
]


def _config(tmp_path: Path, doc: dict[str, object]) -> Path:
    key = generate_key("p256")
    pub = key.write_public(tmp_path, "release.pub")
    doc = {
        "version": 1,
        "default": "allow",
        **doc,
        "policies": [
            {
                "name": "nginx",
                "match": ["docker.io/library/nginx"],
                "authorities": [{"name": "release", "key": {"path": str(pub)}, "tlog": "ignore"}],
            },
        ],
    }
    path = tmp_path / "sigverify.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.mark.parametrize("written", HUB_SPELLINGS)
def test_every_docker_hub_spelling_meets_the_policy_for_the_normal_form(tmp_path: Path, written: str) -> None:
    config = load_config(_config(tmp_path, {}))
    ref = parse(written)
    assert [p.name for p in config.policies_for(ref.name)] == ["nginx"]


class _LayoutForEveryRegistry(Registries):
    """Serves every remote reference from one OCI layout on disk (the real layout reader), no network."""

    def __init__(self, layout: Path) -> None:
        super().__init__({})
        self.asked: list[str] = []
        self._layout = LayoutSource(str(layout))

    def source_for(self, ref: ImageRef) -> Source:
        self.asked.append(ref.registry)
        return self._layout


@pytest.mark.parametrize("written", HUB_SPELLINGS)
def test_unsigned_image_under_default_allow_fails_in_every_spelling(tmp_path: Path, written: str) -> None:
    layout = write_to_layout(tmp_path / "layout", make_image(tag="latest"))
    config = load_config(_config(tmp_path, {}))
    registries = _LayoutForEveryRegistry(layout)
    result = run(
        config,
        [Target(ref=parse(written), written=written)],
        GateOptions(concurrency=1, offline=True),
        registries=registries,
    )
    image = result.images[0]
    rendered = json.dumps(image.to_dict())
    assert image.verdict == "fail", rendered
    assert "NO_SIGNATURE" in rendered
    assert "DEFAULT_ALLOW" not in rendered  # the policy applied: nothing passes unverified
    assert image.policy_names == ["nginx"]
    assert registries.asked == ["docker.io"]


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("localhost:0/team/app", "port 0 in 'localhost:0' is out of range"),
        ("localhost:/team/app", "empty port"),
        ("reg.example:70000/app", "out of range"),
        ("127.1/app", "not a dotted-quad IPv4 address"),
        ("MIRROR/app", "Docker Hub namespace"),
        ("bücher.example/app", "xn--bcher-kva.example"),
    ],
)
def test_an_image_without_a_normal_form_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], image: str, message: str
) -> None:
    cfg = _config(tmp_path, {"images": [image]})
    code = main(["verify", "--config", str(cfg), "--ci", "none"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{cfg}:4" in err  # file:line of the entry
    assert repr(image) in err and message in err
    code = main(["verify", "--config", str(cfg), "--ci", "none", "ghcr.io/acme/ok", image])  # the CLI argument too
    assert code == 2


def test_docker_config_keys_in_another_spelling_find_their_credentials(tmp_path: Path) -> None:
    auths = {"Reg.Example:443": {"auth": "dTpw"}, "https://localhost:05000/v1/": {"auth": "dzpx"}}
    (tmp_path / "config.json").write_text(json.dumps({"auths": auths}))
    keychain = Keychain({}, env={}, docker_config_dir=str(tmp_path))
    found = keychain.get(parse("reg.example/app").registry)
    assert found is not None and found.username == "u"
    found = keychain.get(parse("LOCALHOST:5000/app").registry)
    assert found is not None and found.username == "w"
    assert keychain.get("reg.example:8443") is None


# -- property: any case or port spelling is one name and meets the same policies ---------------------------------

_LABEL = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
_DOMAIN = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(_LABEL, min_size=1, max_size=3),
    st.sampled_from(["io", "com", "example", "dev"]),
)
_IPV4 = st.ip_addresses(v=4).map(str)
_IPV6 = st.ip_addresses(v=6).map(lambda a: f"[{a.compressed}]")
_HOST = st.one_of(_DOMAIN, _IPV4, _IPV6, st.just("localhost"), st.just("docker.io"))
_PORT = st.one_of(st.none(), st.integers(1, 65535), st.just(443), st.just(80), st.just(5000))
_REPO = st.lists(st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True), min_size=1, max_size=3).map("/".join)


def _canonical(host: str, port: int | None) -> str:
    if host in DOCKER_HUB_ALIASES and port in (None, 443):
        return "docker.io"
    return host if port in (None, 443) else f"{host}:{port}"


@st.composite
def _spelling(draw: st.DrawFn, host: str, port: int | None) -> str:
    """Another way to write the same registry: case, Docker Hub aliases, the HTTPS port, leading zeros."""
    if host in DOCKER_HUB_ALIASES and port in (None, 443):
        host = draw(st.sampled_from(["docker.io", "index.docker.io", "registry-1.docker.io"]))
    elif host.startswith("["):
        host = "[" + draw(st.sampled_from([ipaddress.IPv6Address(host[1:-1]).exploded, host[1:-1]])) + "]"
    cased = "".join(c.upper() if c.isalpha() and draw(st.booleans()) else c for c in host)
    if port is None:
        port = draw(st.sampled_from([None, 443]))
    if port is None:
        return cased
    return f"{cased}:{'0' * draw(st.integers(0, 3))}{port}"


@settings(max_examples=300, deadline=None)
@given(data=st.data(), host=_HOST, port=_PORT, repo=_REPO)
def test_any_spelling_is_one_name_and_meets_the_same_policies(
    data: st.DataObject, host: str, port: int | None, repo: str
) -> None:
    canonical = parse(f"{_canonical(host, port)}/{repo}")
    spelled = data.draw(_spelling(host, port))
    ref = parse(f"{spelled}/{repo}:v1")
    assert ref.name == canonical.name
    assert ref.registry == canonical.registry
    assert parse(str(ref)).name == ref.name  # the normal form is a fixed point
    # patterns in the normal form and in any spelling meet the reference in any spelling
    pattern_spelled = data.draw(_spelling(host, port))
    where = Location("sigverify.yaml", 1)
    authority = Authority(name="k", location=where, key=KeyRef(source="k", pem=b"-"))
    policies = (
        Policy("normal", (glob_matcher(f"{_canonical(host, port)}/{repo}", "/cfg"),), (authority,), where),
        Policy("spelled", (glob_matcher(f"{pattern_spelled}/{repo}", "/cfg"),), (authority,), where),
        Policy("registry", (glob_matcher(f"{pattern_spelled}/**", "/cfg"),), (authority,), where),
    )
    config = Config(path="sigverify.yaml", version=1, images=(), policies=policies, default="allow")
    assert [p.name for p in config.policies_for(ref.name)] == ["normal", "spelled", "registry"]
    assert config.policies_for(ref.name) == config.policies_for(canonical.name)
