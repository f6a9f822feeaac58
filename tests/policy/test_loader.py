"""Config loading: typed objects, path resolution, image lists, secrets never printed, lazy heavy imports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from sigverify.errors import ConfigError
from sigverify.policy import load_config, load_config_text
from sigverify.policy.model import KeyRef, Pattern
from sigverify.policy.schemacheck import _validator, load_schema
from tests.policy.conftest import EXAMPLES, GARBAGE_SECRET

POSITIVE = EXAMPLES / "positive"


def _copy(example: str, config_dir: Path, sub: str = "") -> Path:
    target = config_dir / sub / example
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(POSITIVE / example, target)
    return target


def test_issue2_example_builds_the_expected_objects(config_dir: Path, key_material: dict[str, bytes]) -> None:
    config = load_config(_copy("issue2-example.yaml", config_dir))
    assert config.version == 1
    assert config.default == "deny"
    assert config.trust_root == "embedded"
    assert [(i.ref, i.location.line if i.location else None) for i in config.images] == [
        ("localhost:5000/team/app:1.2.3", 4),
        ("localhost:5000/team/worker@sha256:" + "0" * 64, 5),
    ]
    assert config.registries["localhost:5000"].insecure is True
    (policy,) = config.policies
    assert (policy.name, policy.mode, policy.threshold, policy.location.line) == ("team-release", "enforce", 1, 9)
    assert policy.matches("localhost:5000/team/app")
    assert policy.matches("localhost:5000/team/sub/app")
    assert not policy.matches("localhost:5000/other/app")
    (auth,) = policy.authorities
    assert auth.name == "release-key"
    assert auth.kind == "key"
    assert auth.tlog == "ignore"
    assert dict(auth.annotations) == {"env": "production"}
    assert auth.key == KeyRef(source="path:keys/cosign.pub", pem=key_material["keys/cosign.pub"])
    assert auth.location.line == 14
    assert config.policies_for("localhost:5000/team/app") == (policy,)
    assert config.policies_for("docker.io/library/nginx") == ()


def test_relative_paths_resolve_against_the_config_file_not_the_cwd(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, key_material: dict[str, bytes]
) -> None:
    conf = config_dir / "conf"
    for rel in (
        "keys/cosign.pub",
        "certs/ca/ca.pem",
        "notation/trustpolicy.json",
        "notation/truststore/x509/ca/acme/ca.pem",
        "trust/trusted_root.json",
    ):
        (conf / rel).parent.mkdir(parents=True, exist_ok=True)
        (conf / rel).write_bytes(key_material[rel])
    (conf / "sigverify.yaml").write_text(
        """version: 1
trust_root: trust/trusted_root.json
policies:
  - name: p
    match: ["oci:layouts/app"]
    authorities:
      - {name: k, key: {path: keys/cosign.pub}}
      - name: n
        notation: {trust_store: certs/ca, trusted_identities: ["*"]}
      - name: n2
        notation: {trust_policy: notation/trustpolicy.json, trust_store_dir: notation/truststore}
"""
    )
    elsewhere = config_dir / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(os.path.relpath(conf / "sigverify.yaml"))
    assert config.trust_root == str(conf / "trust/trusted_root.json")
    (policy,) = config.policies
    assert policy.match[0].pattern == f"oci:{conf}/layouts/app"
    assert policy.matches(f"oci:{conf}/layouts/app")
    key, n, n2 = policy.authorities
    assert key.key is not None and key.key.pem == key_material["keys/cosign.pub"]
    assert n.notation is not None and n.notation["trust_store"] == str(conf / "certs/ca")
    assert n.notation["trusted_identities"] == ["*"]
    assert n2.notation is not None
    assert n2.notation["trust_policy"] == str(conf / "notation/trustpolicy.json")
    assert n2.notation["trust_store_dir"] == str(conf / "notation/truststore")


def test_images_merge_config_file_and_command_line_keeping_first(config_dir: Path) -> None:
    cfg = _copy("issue2-example.yaml", config_dir)
    images = config_dir / "images.yaml"
    images.write_text("# from CI\n- ghcr.io/acme/app:1\n- localhost:5000/team/app:1.2.3\n- ghcr.io/acme/db:2\n")
    config = load_config(cfg, images_file=images, extra_images=["ghcr.io/acme/app:1", "ghcr.io/acme/cli:3"])
    got = [(i.ref, str(i.location)) for i in config.images]
    assert got == [
        ("localhost:5000/team/app:1.2.3", f"{cfg}:4"),
        ("localhost:5000/team/worker@sha256:" + "0" * 64, f"{cfg}:5"),
        ("ghcr.io/acme/app:1", f"{images}:2"),
        ("ghcr.io/acme/db:2", f"{images}:4"),
        ("ghcr.io/acme/cli:3", "<command line>"),
    ]


def test_config_without_images_is_fine(config_dir: Path) -> None:
    config = load_config(_copy("issue5-keyless.yaml", config_dir), extra_images=["ghcr.io/acme/app:1"])
    assert [i.ref for i in config.images] == ["ghcr.io/acme/app:1"]
    assert load_config(config_dir / "issue5-keyless.yaml").images == ()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("ghcr.io/a:1\n", "the images file must be a YAML list"),
        ("- ghcr.io/a:1\n- 42\n- ''\n", ":2: [1]: expected an image reference string"),
        ("- ghcr.io/a:1\n- [x\n", "YAML syntax error"),
        ("- a\n- {ref: b}\n", ":2: [1]: expected an image reference string"),
    ],
)
def test_bad_images_file_is_a_config_error(config_dir: Path, content: str, expected: str) -> None:
    images = config_dir / "images.yaml"
    images.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_config(_copy("issue2-example.yaml", config_dir), images_file=images)
    assert expected in str(info.value)
    assert all(p.file == str(images) for p in info.value.problems)


def test_missing_images_file_and_config_file(config_dir: Path) -> None:
    with pytest.raises(ConfigError, match="images file \\(--images\\) not found"):
        load_config(_copy("issue2-example.yaml", config_dir), images_file=config_dir / "nope.yaml")
    with pytest.raises(ConfigError, match="configuration file not found") as info:
        load_config(config_dir / "missing.yaml")
    assert info.value.problems[0].file == str(config_dir / "missing.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(config_dir)


def test_non_utf8_config_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_bytes(b"version: 1\nname: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(tmp_path / "c.yaml")


def test_every_problem_is_reported_in_line_order(tmp_path: Path) -> None:
    text = """version: 1
policies:
  - name: p
    match: [nginx]
    threshold: 0
    authorities:
      - {name: a, key: {path: missing.pub}, tlog: never}
  - name: p
    match: ["ghcr.io/**"]
    authorities: []
defualt: allow
"""
    with pytest.raises(ConfigError) as info:
        load_config_text(text, filename="cfg.yaml", base_dir=tmp_path)
    lines = [(p.line, p.key) for p in info.value.problems]
    assert lines == [
        (4, "policies[0].match[0]"),
        (5, "policies[0].threshold"),
        (7, "policies[0].authorities[0].tlog"),
        (7, "policies[0].authorities[0].key.path"),
        (8, "policies[1].name"),
        (10, "policies[1].authorities"),
        (11, "defualt"),
    ]
    assert "did you mean 'default'?" in str(info.value)
    assert info.value.tip and "nothing was verified" in info.value.tip


def test_env_key_is_loaded_and_its_value_never_printed(
    config_dir: Path, key_material: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "version: 1\npolicies:\n  - name: p\n    match: ['ghcr.io/**']\n    authorities:\n"
    ok = load_config_text(
        text + "      - {name: k, key: {env: SV_TEST_PUBLIC_KEY}}\n", filename="c.yaml", base_dir=config_dir
    )
    assert ok.policies[0].authorities[0].key == KeyRef(
        source="env:SV_TEST_PUBLIC_KEY", pem=key_material["keys/cosign.pub"]
    )
    # A private key in the variable: refused, and neither the key nor the variable's value appears.
    private = key_material["keys/cosign.key"].decode()
    monkeypatch.setenv("SV_TEST_PRIVATE", private)
    with pytest.raises(ConfigError) as info:
        load_config_text(
            text + "      - {name: k, key: {env: SV_TEST_PRIVATE}}\n      - {name: g, key: {env: SV_TEST_GARBAGE}}\n",
            filename="c.yaml",
            base_dir=config_dir,
        )
    rendered = str(info.value) + repr(info.value.problems)
    assert "environment variable SV_TEST_PRIVATE does not hold a usable public key: found a private key" in rendered
    assert "environment variable SV_TEST_GARBAGE does not hold a usable public key" in rendered
    assert GARBAGE_SECRET not in rendered
    for line in private.splitlines()[1:-1]:
        assert line not in rendered


def test_key_kinds_and_kms_references(config_dir: Path, key_material: dict[str, bytes]) -> None:
    config = load_config(_copy("key-kinds.yaml", config_dir))
    auths = {a.name: a for a in config.policies[0].authorities}
    assert config.policies[0].threshold == 3
    assert auths["p384"].key == KeyRef(source="path:./keys/p384.pub", pem=key_material["keys/p384.pub"])
    assert auths["inline"].key is not None and auths["inline"].key.source == "inline pem"
    assert auths["inline"].key.pem is not None and auths["inline"].key.pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert auths["rsa"].tlog == "require" and auths["ed25519"].tlog == "ignore" and auths["p256"].tlog == "require"
    kms = load_config(_copy("kms-keys.yaml", config_dir)).policies[0].authorities
    assert kms[0].key == KeyRef(
        source="kms:awskms:///arn:aws:kms:us-west-2:111122223333:alias/vendor-cosign-key",
        kms="awskms:///arn:aws:kms:us-west-2:111122223333:alias/vendor-cosign-key",
    )
    assert all(a.key is not None and a.key.pem is None and a.key.kms for a in kms)


def test_keyless_identity_patterns_and_claims(config_dir: Path) -> None:
    config = load_config(_copy("issue5-keyless.yaml", config_dir))
    exact, rx = config.policies[0].authorities
    assert exact.keyless is not None and rx.keyless is not None
    assert exact.keyless.issuer == Pattern("https://token.actions.githubusercontent.com")
    assert dict(exact.keyless.claims) == {
        "source_repository_ref": Pattern("refs/heads/main"),
        "runner_environment": Pattern("github-hosted"),
        "1.3.6.1.4.1.57264.1.20": Pattern("push|workflow_dispatch", regexp=True),
    }
    assert rx.keyless.subject.regexp and rx.keyless.issuer.regexp
    assert rx.keyless.subject.matches("https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0")
    assert not rx.keyless.issuer.matches("https://token.actions.githubusercontent.com.evil")


def test_attestation_requirements(config_dir: Path) -> None:
    config = load_config(_copy("attestations.yaml", config_dir))
    policy = config.policies[0]
    assert policy.mode == "warn"
    prov, sbom = policy.attestations
    assert (prov.name, prov.predicate_type, prov.authorities) == (
        "provenance",
        "https://slsa.dev/provenance/v1",
        ("builder",),
    )
    assert prov.conditions[0] == {
        "jmespath": "buildDefinition.buildType",
        "equals": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
    }
    assert prov.location is not None and prov.location.line == 14
    assert sbom.name == "https://spdx.dev/Document" and sbom.authorities == ("key", "builder")


def test_registries_files_and_docker_hub_patterns(config_dir: Path) -> None:
    config = load_config(_copy("registries-and-files.yaml", config_dir))
    regs = config.registries
    assert set(regs) == {"localhost:5000", "registry.internal:8443", "docker.io", "[::1]:5000"}
    assert regs["registry.internal:8443"].ca_file == str(config_dir / "tls/registry-ca.pem")
    assert (regs["registry.internal:8443"].username_env, regs["registry.internal:8443"].password_env) == (
        "REG_USER",
        "REG_PASS",
    )
    assert regs["docker.io"].insecure is False
    f1, f2 = config.files
    assert f1.path == str(config_dir / "dist/tool.tar.gz") and f1.policy == "releases"
    assert f1.bundle == str(config_dir / "dist/tool.tar.gz.sigstore.json")
    assert f2.path == "sha256:" + "0" * 64 and f2.signature == str(config_dir / "s.sig")
    policy = config.policies[0]
    for name in (
        "docker.io/library/nginx",
        "docker.io/acme/app",
        "docker.io/library/busybox",
        f"oci:{config_dir}/layouts/app",
        "oci:/abs/layouts/x",
    ):
        assert policy.matches(name), name
    assert not policy.matches("docker.io/library/redis")


def test_default_allow_with_no_policies(config_dir: Path) -> None:
    config = load_config(_copy("default-allow-empty.yaml", config_dir))
    assert config.default == "allow" and config.policies == ()


def test_yaml_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    with pytest.raises(ConfigError, match="alias bomb"):
        load_config_text("\n".join(lines) + "\n", filename="bomb.yaml", base_dir=tmp_path)


def test_shipped_schema_is_valid_draft_2020_12_and_cached() -> None:
    from jsonschema import Draft202012Validator

    text = resources.files("sigverify.policy").joinpath("schema.json").read_text()
    Draft202012Validator.check_schema(json.loads(text))
    assert load_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert _validator() is _validator()


def test_importing_the_loader_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys, sigverify.policy; "
        "print(sorted(m for m in ('jsonschema', 'cryptography', 'sigstore', 'requests') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_relative_oci_images_from_different_directories_are_not_merged(config_dir: Path) -> None:
    cfg = config_dir / "c.yaml"
    cfg.write_text("version: 1\nimages: ['oci:layout', 'oci:layout']\npolicies: []\ndefault: allow\n")
    other = config_dir / "ci" / "images.yaml"
    other.parent.mkdir()
    other.write_text("- oci:layout\n- oci:/abs/layout\n- oci:/abs/layout\n")
    config = load_config(cfg, images_file=other, extra_images=["oci:layout"])
    assert [(i.ref, str(i.location)) for i in config.images] == [
        ("oci:layout", f"{cfg}:2"),
        ("oci:layout", f"{other}:1"),
        ("oci:/abs/layout", f"{other}:2"),
        ("oci:layout", "<command line>"),
    ]


def test_schema_accepts_positive_examples_with_check_jsonschema(config_dir: Path) -> None:
    """The shipped schema works with a standard validator (what editors and CI linters use)."""
    from tests.fixtures.vectors import missing

    sibling = Path(sys.executable).parent / "check-jsonschema"
    tool = str(sibling) if sibling.exists() else shutil.which("check-jsonschema")
    if tool is None:
        missing("`check-jsonschema`", "Install it with `pip install 'check-jsonschema>=0.39,<1'`.")
        raise AssertionError("unreachable")
    schema = resources.files("sigverify.policy").joinpath("schema.json")
    examples = sorted(str(p) for p in POSITIVE.glob("*.yaml"))
    ok = subprocess.run([tool, "--schemafile", str(schema), *examples], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = config_dir / "bad.yaml"
    bad.write_text("version: 1\npolicies:\n  - {name: p, match: [a.io/b], authorities: [], treshold: 1}\n")
    res = subprocess.run([tool, "--schemafile", str(schema), str(bad)], capture_output=True, text=True)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "treshold" in res.stdout + res.stderr
