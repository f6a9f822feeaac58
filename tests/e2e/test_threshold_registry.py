"""A threshold counts distinct signers, end to end against a real registry (Debian docker-registry): one key written
twice (`path:` SPKI and `pem:` PKCS#1) with one signature never meets `threshold: 2`."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from sigverify.cli import main
from sigverify.gate import GateOptions, Target, run
from sigverify.policy import load_config
from sigverify.policy.model import KeyRef
from sigverify.reference import parse
from sigverify.registry import Registries
from tests.e2e.test_gate_registry import codes, config, key_authority, push_signed, verify
from tests.fixtures.cosign_sign import KeyPair, generate_key, sign_image
from tests.fixtures.registry import RegistryServer, unique_repo


@pytest.fixture
def rsa_key() -> KeyPair:
    return generate_key("rsa2048")


def _pkcs1(key: KeyPair) -> str:
    pem = key.private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    assert b"BEGIN RSA PUBLIC KEY" in pem
    return pem.decode()


def test_one_key_as_path_and_pem_is_refused_at_load(registry: RegistryServer, tmp_path: Path, rsa_key: KeyPair,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    img = push_signed(registry, unique_repo("thr"), "v1", lambda d: [sign_image(rsa_key, d)])
    auths = [key_authority(tmp_path, rsa_key, "release"),
             {"name": "release-pem", "key": {"pem": _pkcs1(rsa_key)}, "tlog": "ignore"}]
    cfg = config(tmp_path, registry, [img.ref], auths, policy={"threshold": 2})
    code = main(["verify", "--config", str(cfg), "--format", "json", "--ci", "none"])
    err = capsys.readouterr().err
    assert code == 2
    assert "authorities 'release' and 'release-pem' hold the same public key (sha256:" in err
    assert rsa_key.fingerprint in err  # SPKI and PKCS#1 PEM read as one key


def test_one_key_twice_without_the_loader_is_threshold_not_met(registry: RegistryServer, tmp_path: Path,
                                                              rsa_key: KeyPair,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The counting itself, with the config built past the loader's check: one signature, one signer."""
    other = generate_key("p256")
    img = push_signed(registry, unique_repo("thr"), "v1", lambda d: [sign_image(rsa_key, d)])
    both = push_signed(registry, unique_repo("thr"), "v1", lambda d: [sign_image(rsa_key, d), sign_image(other, d)])
    cfg = load_config(config(tmp_path, registry, [img.ref, both.ref],
                             [key_authority(tmp_path, rsa_key, "release"), key_authority(tmp_path, other, "second")],
                             policy={"threshold": 2}))
    (policy,) = cfg.policies
    first, second = policy.authorities
    same_key = dataclasses.replace(second, name="release-pem",
                                   key=KeyRef(source="inline pem", pem=_pkcs1(rsa_key).encode()))
    bypassed = dataclasses.replace(cfg, policies=(dataclasses.replace(policy, authorities=(first, same_key)),))
    regs = Registries(cfg.registries)
    try:
        result = run(bypassed, [Target(parse(img.ref), img.ref)], GateOptions(concurrency=1), registries=regs)
        (image,) = result.images
        assert image.verdict.value == "fail"
        assert [c.ok for c in image.signatures] == [True, True]  # both authorities verified the one signature
        head = image.reasons[0]
        assert head.code == "THRESHOLD_NOT_MET" and head.message == "1 of the required 2 distinct signers verified"
        assert head.found is not None and "release, release-pem share one signer" in head.found
        assert image.policies[0].verified_by == ("release",)
    finally:
        regs.close()
    # two keys, two signatures: still a pass, through the CLI and the loader
    code, doc = verify(capsys, tmp_path / "sigverify.yaml")
    assert code == 1
    by_ref = {i["reference"]: i for i in doc["images"]}
    assert by_ref[both.ref]["verdict"] == "pass"
    assert by_ref[both.ref]["policies"][0]["verified_by"] == ["release", "second"]
    assert codes(by_ref[img.ref])[0] == "THRESHOLD_NOT_MET"


def test_trusted_root_key_without_validity_start_is_exit_2(registry: RegistryServer, tmp_path: Path,
                                                            vectors: Path, rsa_key: KeyPair,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """The conformance suite's trusted root whose Rekor key has no validFor.start: refused before verifying."""
    root = (vectors / "sigstore-conformance/test/assets/bundle-verify/trust-root-tlog-missing-validity-start_fail"
            / "trusted_root.json")
    assert "start" not in json.loads(root.read_text())["tlogs"][1]["publicKey"]["validFor"]
    img = push_signed(registry, unique_repo("thr"), "v1", lambda d: [sign_image(rsa_key, d)])
    auth = {**key_authority(tmp_path, rsa_key), "tlog": "require"}
    cfg = config(tmp_path, registry, [img.ref], [auth], extra={"trust_root": str(root)})
    code = main(["verify", "--config", str(cfg), "--format", "json", "--ci", "none"])
    err = capsys.readouterr().err
    assert code == 2
    assert "tlogs[1]" in err and "no publicKey.validFor.start" in err
