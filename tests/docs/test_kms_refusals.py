"""Every key URI the documents say is refused is refused with one message that gives the export command."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigverify.errors import ConfigError
from sigverify.policy import load_config

SCHEMA_GAP = pytest.mark.xfail(
    strict=True,
    reason="sigverify/policy/schema.json's kms pattern omits gitlab://, pkcs11: and https://, so a second, "
    "generic problem is reported next to the export command",
)

URIS = [
    "gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K",
    "azurekms://vault.example.net/KEY",
    "hashivault://KEY",
    "k8s://namespace/secret",
    pytest.param("gitlab://group/project", marks=SCHEMA_GAP),
    pytest.param("pkcs11:token=vendor;object=key", marks=SCHEMA_GAP),
    pytest.param("https://vendor.example/cosign.pub", marks=SCHEMA_GAP),
]


@pytest.mark.parametrize("uri", URIS)
def test_refused_key_uri_gives_one_problem_with_the_export_step(uri: str, tmp_path: Path) -> None:
    path = tmp_path / "sigverify.yaml"
    path.write_text(
        "version: 1\npolicies:\n  - name: p\n    match: ['example.com/**']\n"
        f"    authorities: [{{name: vendor, key: {{kms: '{uri}'}}}}]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    problems = info.value.problems
    assert len(problems) == 1, [p.message for p in problems]
    assert "key: {path: vendor.pem}" in problems[0].message


def test_awskms_and_env_uris_load(tmp_path: Path) -> None:
    path = tmp_path / "sigverify.yaml"
    path.write_text(
        "version: 1\npolicies:\n  - name: p\n    match: ['example.com/**']\n    authorities:\n"
        "      - {name: a, key: {kms: 'awskms:///alias/vendor'}}\n"
        "      - {name: b, key: {kms: 'env://COSIGN_PUBLIC_KEY'}}\n",
        encoding="utf-8",
    )
    assert [a.name for a in load_config(path).policies[0].authorities] == ["a", "b"]
