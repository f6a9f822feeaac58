"""Interop with the real cosign binary, both ways, against a real registry (Debian docker-registry):

* cosign signs with every key type -> our verifier accepts exactly the right key (pins the hash/scheme choices:
  P-384 SHA-384, P-521 SHA-512, RSA PKCS#1 v1.5 SHA-256, Ed25519ph);
* our fixture signs -> ``cosign verify --key`` accepts it (proves tests/fixtures/cosign_sign.py is faithful).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization

from tests.fixtures.cosign_sign import (
    OCI_MANIFEST,
    KeyPair,
    SignatureLayer,
    generate_key,
    make_image,
    sign_image,
    signature_manifest,
    verify_candidate,
)
from tests.fixtures.registry import RegistryServer, unique_repo

pytestmark = pytest.mark.peers

KINDS = ("p256", "p384", "p521", "rsa3072", "ed25519")


def _import_key(cosign: str, env: dict[str, str], key: KeyPair, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    priv = key.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (directory / "priv.pem").write_bytes(priv)
    subprocess.run(
        [cosign, "import-key-pair", "--key", "priv.pem", "--output-key-prefix", "k"],
        cwd=directory,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return directory / "k.key"


def _fetch_sig_layers(registry: RegistryServer, repo: str, digest: str) -> list[SignatureLayer]:
    tag = digest.replace(":", "-") + ".sig"
    m = requests.get(f"{registry.url}/v2/{repo}/manifests/{tag}", headers={"Accept": OCI_MANIFEST}, timeout=30)
    m.raise_for_status()
    layers = []
    for desc in m.json()["layers"]:
        blob = requests.get(f"{registry.url}/v2/{repo}/blobs/{desc['digest']}", timeout=30).content
        layers.append(SignatureLayer(blob, desc["annotations"], media_type=desc["mediaType"]))
    return layers


def test_cosign_signatures_verify_with_exactly_their_key(
    cosign2: str, peer_env: dict[str, str], registry: RegistryServer, tmp_path: Path
) -> None:
    repo = unique_repo("interop")
    digest, _ = registry.push_image(repo, "v1")
    keys = {kind: generate_key(kind) for kind in KINDS}
    for kind, key in keys.items():
        key_file = _import_key(cosign2, peer_env, key, tmp_path / kind)
        subprocess.run(
            [
                cosign2,
                "sign",
                "--key",
                str(key_file),
                "--tlog-upload=false",
                "--yes",
                "--allow-insecure-registry",
                f"{registry.host}/{repo}@{digest}",
            ],
            env=peer_env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    layers = _fetch_sig_layers(registry, repo, digest)
    assert len(layers) == len(KINDS)  # one layer appended per signature
    expected_scheme = {
        "p256": "ecdsa-p-256-sha256",
        "p384": "ecdsa-p-384-sha384",
        "p521": "ecdsa-p-521-sha512",
        "rsa3072": "rsa-pkcs1v15-sha256",
        "ed25519": "ed25519ph",
    }
    for layer, kind in zip(layers, KINDS, strict=True):
        for other, key in keys.items():
            result = verify_candidate(layer.candidate(digest), key_pem=key.public_pem, digest=digest)
            assert result.ok is (other == kind), (kind, other, result.reason)
            if result.ok:
                assert result.details["algorithm"] == expected_scheme[kind]


def test_cosign_verify_accepts_our_fixture_signatures(
    cosign2: str, peer_env: dict[str, str], registry: RegistryServer, tmp_path: Path
) -> None:
    repo = unique_repo("interop")
    image = make_image()
    for digest, data in image.blobs.items():
        assert registry.push_blob(repo, data) == digest
    registry.push_manifest(repo, "v1", image.manifest)
    key = generate_key("p256")
    sig = signature_manifest(
        image.digest,
        [sign_image(key, image.digest, docker_reference=f"{registry.host}/{repo}", annotations={"env": "prod"})],
    )
    for digest, data in sig.blobs.items():
        assert registry.push_blob(repo, data) == digest
    registry.push_manifest(repo, sig.tag, sig.manifest)
    pub = key.write_public(tmp_path)
    ok = subprocess.run(
        [
            cosign2,
            "verify",
            "--key",
            str(pub),
            "--insecure-ignore-tlog=true",
            "--allow-insecure-registry",
            "-a",
            "env=prod",
            f"{registry.host}/{repo}:v1",
        ],
        env=peer_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    wrong = generate_key("p256").write_public(tmp_path, "other.pub")
    bad = subprocess.run(
        [
            cosign2,
            "verify",
            "--key",
            str(wrong),
            "--insecure-ignore-tlog=true",
            "--allow-insecure-registry",
            f"{registry.host}/{repo}:v1",
        ],
        env=peer_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0
