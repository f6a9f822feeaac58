"""Every key URI the documents say is refused is refused with one message that gives the export command."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigverify.errors import ConfigError
from sigverify.policy import load_config

URIS = [
    "k8s://namespace/secret",
    "gitlab://group/project",
    "pkcs11:token=vendor;object=key",
    "https://vendor.example/cosign.pub",
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


def test_fetched_kms_uris_load(tmp_path: Path) -> None:
    path = tmp_path / "sigverify.yaml"
    path.write_text(
        "version: 1\npolicies:\n  - name: p\n    match: ['example.com/**']\n    authorities:\n"
        "      - {name: a, key: {kms: 'awskms:///alias/vendor'}}\n"
        "      - {name: b, key: {kms: 'env://COSIGN_PUBLIC_KEY'}}\n"
        "      - {name: c, key: {kms: 'gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K'}}\n"
        "      - {name: d, key: {kms: 'azurekms://vault.example.net/KEY'}}\n"
        "      - {name: e, key: {kms: 'hashivault://KEY'}}\n",
        encoding="utf-8",
    )
    assert [a.name for a in load_config(path).policies[0].authorities] == ["a", "b", "c", "d", "e"]


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("gcpkms://projects/P/keyRings/R/cryptoKeys/K", "malformed key URI"),
        ("hashivault://a/b", "malformed key URI"),
        ("s3://bucket/cosign.pub", "unknown key URI scheme"),
    ],
)
def test_malformed_or_unknown_key_uri_gives_one_problem(uri: str, message: str, tmp_path: Path) -> None:
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
    assert problems[0].message.startswith(message)
