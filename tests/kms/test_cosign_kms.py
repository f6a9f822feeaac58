"""Interop: the real cosign signs with ``--key awskms://...`` against the KMS emulator; sigverify verifies.

cosign reaches the emulator through the standard AWS settings (AWS_ENDPOINT_URL, AWS_CA_BUNDLE) — the same
ones sigverify reads — or through the explicit endpoint in the URI. cosign sends KMS Sign with
MessageType=DIGEST, which plain moto does not implement, so this emulator runs through tests/kms/moto_digest.py.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.peers import offline_env
from tests.fixtures.registry import RegistryServer, unique_repo
from tests.interop.tools import run
from tests.kms.conftest import ACCOUNT, REGION, MotoServer, aws_environment, start_moto, stop_moto
from tests.kms.test_e2e import sigverify, write_config

pytestmark = [pytest.mark.peers, pytest.mark.registry]


@pytest.fixture(scope="module")
def moto_digest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = start_moto(tmp_path_factory.mktemp("moto-digest"), digest=True)
    yield server
    stop_moto(server)


def _cosign_env(server: MotoServer, home: Path) -> dict[str, str]:
    return {**offline_env(home), **aws_environment(server, home)}


def _sign_flags(major: int) -> list[str]:
    flags = ["--yes", "--tlog-upload=false", "--allow-insecure-registry", "--allow-http-registry"]
    if major >= 3:
        flags += ["--use-signing-config=false", "--new-bundle-format=false"]
    return flags


@pytest.mark.parametrize("spec", ["ECC_NIST_P256", "ECC_NIST_P384", "RSA_2048"])
@pytest.mark.parametrize("cosign_version", ["cosign2", "cosign3"])
def test_cosign_sign_with_awskms_verifies(
    request: pytest.FixtureRequest, registry: RegistryServer, moto_digest: MotoServer, tmp_path: Path,
    spec: str, cosign_version: str,
) -> None:
    cosign = request.getfixturevalue(cosign_version)
    major = 3 if cosign_version == "cosign3" else 2
    kms: Any = moto_digest.client("kms")
    meta = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    alias = f"alias/cosign-{uuid.uuid4().hex[:10]}"
    kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    repo = unique_repo("kms-cosign")
    digest, _ = registry.push_image(repo, "1.0")
    image = f"{registry.host}/{repo}:1.0"
    env = _cosign_env(moto_digest, tmp_path)

    # cosign signs through KMS (GetPublicKey/DescribeKey, then Sign with MessageType=DIGEST).
    run([cosign, "sign", "--key", f"awskms:///{alias}", *_sign_flags(major), f"{registry.host}/{repo}@{digest}"],
        env, check=True)
    # cosign itself accepts the signature it made (this also validates the emulator's DIGEST signing).
    verify = ["--insecure-ignore-tlog=true", "--allow-insecure-registry", "--allow-http-registry"]
    if major >= 3:  # cosign v3 verify wants some trusted root; with --key and no tlog any valid one works
        import sigstore

        store = Path(sigstore.__file__).parent / "_store" / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
        root = store / "trusted_root.json"
        assert root.is_file(), f"sigstore-python no longer ships {root}"
        verify.append(f"--trusted-root={root}")
    ok = run([cosign, "verify", "--key", f"awskms:///{alias}", *verify, image], env)
    assert ok.code == 0, ok.describe()

    # sigverify: the same key by every URI form cosign accepts, including the explicit endpoint...
    uris = [f"awskms:///{alias}"]
    if cosign_version == "cosign2" and spec == "ECC_NIST_P256":
        uris += [f"awskms:///arn:aws:kms:{REGION}:{ACCOUNT}:{alias}", f"awskms:///{meta['Arn']}",
                 f"awskms://{moto_digest.host}/{alias}"]
    for uri in uris:
        code, report, _ = sigverify(write_config(tmp_path / "kms.yaml", registry, image, {"kms": uri}), env)
        assert code == 0, (uri, json.dumps(report, indent=1)[:3000])
        assert report["images"][0]["digest"] == digest

    # ...and offline, with the public key exported by `cosign public-key --key awskms://...`.
    pub = run([cosign, "public-key", "--key", f"awskms:///{alias}"], env, check=True).stdout
    (tmp_path / "vendor.pem").write_text(pub)
    cfg = write_config(tmp_path / "offline.yaml", registry, image, {"path": str(tmp_path / "vendor.pem")})
    code, report, _ = sigverify(cfg, {})
    assert code == 0, json.dumps(report, indent=1)[:3000]


def test_double_hashed_signature_is_refused_like_cosign_refuses_it(
    cosign2: str, registry: RegistryServer, moto: MotoServer, tmp_path: Path
) -> None:
    """Plain moto hashes cosign's DIGEST message again: the stored signature is over SHA-256(SHA-256(payload)).
    cosign's own verify rejects it, and so must sigverify (same key, wrong signed bytes)."""
    kms: Any = moto.client("kms")
    meta = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    repo = unique_repo("kms-cosign")
    digest, _ = registry.push_image(repo, "1.0")
    image = f"{registry.host}/{repo}:1.0"
    env = _cosign_env(moto, tmp_path)
    uri = f"awskms:///{meta['Arn']}"
    run([cosign2, "sign", "--key", uri, *_sign_flags(2), f"{registry.host}/{repo}@{digest}"], env, check=True)
    verdict = run([cosign2, "verify", "--key", uri, "--insecure-ignore-tlog=true", "--allow-insecure-registry",
                   "--allow-http-registry", image], env)
    assert verdict.code != 0 and "invalid signature" in verdict.stderr, verdict.describe()
    code, report, _ = sigverify(write_config(tmp_path / "kms.yaml", registry, image, {"kms": uri}), env)
    assert code == 1
    result = report["images"][0]
    assert result["verdict"] == "fail" and result["reasons"][0]["code"] == "NO_MATCHING_SIGNATURE"
