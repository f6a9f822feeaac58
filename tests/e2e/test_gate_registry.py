"""The whole gate through the CLI against a real registry (Debian docker-registry): issue 2's cases end to end."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sigverify.cli import main
from sigverify.gate import GateOptions, Target, run
from sigverify.policy import load_config
from sigverify.reference import parse
from sigverify.registry import Registries
from tests.fixtures.cosign_sign import (
    FakeRekor,
    KeyPair,
    SignatureLayer,
    duplicate_key_payload,
    generate_key,
    sign_image,
    sign_payload,
    signature_manifest,
    tamper_payload,
    with_bundle_of,
)
from tests.fixtures.registry import RegistryServer, unique_repo


@dataclass
class Published:
    ref: str
    digest: str
    repo: str


def push_signed(registry: RegistryServer, repo: str, tag: str, *layers_for: Any) -> Published:
    """Push a fresh image under ``repo:tag`` and a `.sig` manifest whose layers ``layers_for(digest)`` returns."""
    digest, _ = registry.push_image(repo, tag)
    layers: list[SignatureLayer] = []
    for make in layers_for:
        layers.extend(make(digest))
    if layers:
        push_sig(registry, repo, digest, layers)
    return Published(f"{registry.host}/{repo}:{tag}", digest, repo)


def push_sig(registry: RegistryServer, repo: str, digest: str, layers: list[SignatureLayer]) -> None:
    art = signature_manifest(digest, layers)
    for blob in art.blobs.values():
        registry.push_blob(repo, blob)
    registry.push_manifest(repo, art.tag, art.manifest, art.media_type)


def config(tmp_path: Path, registry: RegistryServer, images: list[str], authorities: list[dict[str, Any]], *,
           extra: dict[str, Any] | None = None, policy: dict[str, Any] | None = None,
           registry_settings: dict[str, Any] | None = None) -> Path:
    doc: dict[str, Any] = {
        "version": 1,
        "images": images,
        "registries": {registry.host: {"insecure": True, **(registry_settings or {})}},
        "policies": [{"name": "team", "match": [f"{registry.host}/**"], "authorities": authorities,
                      **(policy or {})}],
        **(extra or {}),
    }
    path = tmp_path / "sigverify.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def key_authority(tmp_path: Path, key: KeyPair, name: str = "release", **kw: Any) -> dict[str, Any]:
    pub = key.write_public(tmp_path, f"{name}.pub")
    return {"name": name, "key": {"path": str(pub)}, "tlog": "ignore", **kw}


def verify(capsys: pytest.CaptureFixture[str], cfg: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(["verify", "--config", str(cfg), "--format", "json", "--ci", "none", *extra])
    out = capsys.readouterr().out
    return code, json.loads(out)


def codes(image: dict[str, Any]) -> list[str]:
    return [r["code"] for r in image["reasons"]]


@pytest.fixture
def key() -> KeyPair:
    return generate_key("p256")


def test_signed_passes_and_unsigned_fails(registry: RegistryServer, tmp_path: Path, key: KeyPair,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    repo = unique_repo("e2e")
    signed = push_signed(registry, repo, "1.2.3", lambda d: [sign_image(key, d)])
    unsigned = push_signed(registry, repo, "unsigned")
    by_digest = f"{registry.host}/{repo}@{signed.digest}"
    cfg = config(tmp_path, registry, [signed.ref, unsigned.ref, by_digest], [key_authority(tmp_path, key)])
    code, doc = verify(capsys, cfg)
    assert code == 1
    first, second, third = doc["images"]
    assert first["verdict"] == "pass" and first["digest"] == signed.digest
    assert first["signatures"][0]["signer"] == key.fingerprint
    assert second["verdict"] == "fail" and codes(second)[0] == "NO_SIGNATURE"
    assert third["verdict"] == "pass" and third["digest"] == signed.digest


def test_wrong_key_names_the_key_tried(registry: RegistryServer, tmp_path: Path, key: KeyPair,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    other = generate_key("p384")
    img = push_signed(registry, unique_repo("e2e"), "v1", lambda d: [sign_image(other, d)])
    cfg = config(tmp_path, registry, [img.ref], [key_authority(tmp_path, key)])
    code, doc = verify(capsys, cfg)
    assert code == 1
    image = doc["images"][0]
    assert codes(image)[0] == "NO_MATCHING_SIGNATURE"
    assert "release.pub" in json.dumps(image["reasons"])  # which key was tried


def test_signature_copied_from_another_image_is_a_digest_mismatch(
        registry: RegistryServer, tmp_path: Path, key: KeyPair, capsys: pytest.CaptureFixture[str]) -> None:
    repo = unique_repo("e2e")
    good = push_signed(registry, repo, "good", lambda d: [sign_image(key, d)])
    victim = push_signed(registry, repo, "victim")
    push_sig(registry, repo, victim.digest, [sign_image(key, good.digest)])  # valid signature, other digest
    cfg = config(tmp_path, registry, [victim.ref], [key_authority(tmp_path, key)])
    code, doc = verify(capsys, cfg)
    assert code == 1
    reason = doc["images"][0]["reasons"][0]
    assert reason["code"] == "DIGEST_MISMATCH"
    assert reason["expected"] == victim.digest and good.digest in reason["found"]


def test_annotations_exact(registry: RegistryServer, tmp_path: Path, key: KeyPair,
                           capsys: pytest.CaptureFixture[str]) -> None:
    repo = unique_repo("e2e")
    prod = push_signed(registry, repo, "prod", lambda d: [sign_image(key, d, annotations={"env": "production"})])
    stage = push_signed(registry, repo, "stage", lambda d: [sign_image(key, d, annotations={"env": "prod"})])
    bare = push_signed(registry, repo, "bare", lambda d: [sign_image(key, d)])
    cfg = config(tmp_path, registry, [prod.ref, stage.ref, bare.ref],
                 [key_authority(tmp_path, key, annotations={"env": "production"})])
    code, doc = verify(capsys, cfg)
    assert code == 1
    assert [i["verdict"] for i in doc["images"]] == ["pass", "fail", "fail"]
    assert codes(doc["images"][1])[0] == "ANNOTATION_MISMATCH"
    assert "production" in doc["images"][1]["reasons"][0]["expected"]
    assert codes(doc["images"][2])[0] == "ANNOTATION_MISMATCH"


def test_tampered_payload_and_duplicate_keys_fail(registry: RegistryServer, tmp_path: Path, key: KeyPair,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    repo = unique_repo("e2e")
    tampered = push_signed(registry, repo, "tampered", lambda d: [tamper_payload(sign_image(key, d))])
    dup = push_signed(registry, repo, "dup", lambda d: [sign_payload(key, duplicate_key_payload(d, d))])
    cfg = config(tmp_path, registry, [tampered.ref, dup.ref], [key_authority(tmp_path, key)])
    code, doc = verify(capsys, cfg)
    assert code == 1
    t, d = doc["images"]
    assert t["verdict"] == "fail" and "INVALID_SIGNATURE" in codes(t)
    assert d["verdict"] == "fail" and codes(d)[0] == "INVALID_PAYLOAD"


def test_one_good_layer_among_bad_ones_passes(registry: RegistryServer, tmp_path: Path, key: KeyPair,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    other = generate_key("rsa2048")
    img = push_signed(registry, unique_repo("e2e"), "multi",
                      lambda d: [sign_image(other, d), tamper_payload(sign_image(key, d)), sign_image(key, d)])
    cfg = config(tmp_path, registry, [img.ref], [key_authority(tmp_path, key)])
    code, doc = verify(capsys, cfg)
    assert code == 0
    checks = doc["images"][0]["signatures"]
    assert [c["verified"] for c in checks] == [False, False, True]


def test_tlog_require_with_a_private_rekor(registry: RegistryServer, tmp_path: Path, key: KeyPair,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    rekor = FakeRekor()
    root = rekor.write_trusted_root(tmp_path / "trusted_root.json")
    repo = unique_repo("e2e")
    logged = push_signed(registry, repo, "logged", lambda d: [sign_image(key, d, rekor=rekor)])
    unlogged = push_signed(registry, repo, "unlogged", lambda d: [sign_image(key, d)])
    other_sig = sign_image(key, "sha256:" + "3" * 64, rekor=rekor)
    stolen = push_signed(registry, repo, "stolen", lambda d: [with_bundle_of(sign_image(key, d), other_sig)])
    auth = key_authority(tmp_path, key)
    auth["tlog"] = "require"
    cfg = config(tmp_path, registry, [logged.ref, unlogged.ref, stolen.ref], [auth], extra={"trust_root": str(root)})
    code, doc = verify(capsys, cfg)
    assert code == 1
    assert [i["verdict"] for i in doc["images"]] == ["pass", "fail", "fail"]
    assert codes(doc["images"][1])[0] == "TLOG_INVALID"
    assert codes(doc["images"][2])[0] == "TLOG_INVALID"
    assert doc["trust_root"] and "trusted_root.json" in doc["trust_root"]
    # The same signatures against the embedded production root: the private log's SET is not trusted.
    cfg = config(tmp_path, registry, [logged.ref], [auth])
    code, doc = verify(capsys, cfg)
    assert code == 1 and codes(doc["images"][0])[0] == "TLOG_INVALID"


def test_threshold_counts_distinct_keys(
    registry: RegistryServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, c = generate_key("p256"), generate_key("ed25519"), generate_key("p256")
    repo = unique_repo("e2e")
    two = push_signed(registry, repo, "two", lambda d: [sign_image(a, d), sign_image(b, d)])
    one_twice = push_signed(registry, repo, "one", lambda d: [sign_image(a, d), sign_image(a, d)])
    auths = [key_authority(tmp_path, a, "a"), key_authority(tmp_path, b, "b"), key_authority(tmp_path, c, "c")]
    cfg = config(tmp_path, registry, [two.ref, one_twice.ref], auths, policy={"threshold": 2})
    code, doc = verify(capsys, cfg)
    assert code == 1
    assert doc["images"][0]["verdict"] == "pass"
    assert doc["images"][0]["policies"][0]["verified_by"] == ["a", "b"]
    assert codes(doc["images"][1])[0] == "THRESHOLD_NOT_MET"


def test_every_matching_policy_must_pass_and_warn_mode(registry: RegistryServer, tmp_path: Path, key: KeyPair,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    other = generate_key()
    repo = unique_repo("e2e")
    img = push_signed(registry, repo, "v1", lambda d: [sign_image(key, d)])
    cfg = config(tmp_path, registry, [img.ref], [key_authority(tmp_path, key)])
    doc = yaml.safe_load(cfg.read_text())
    second = {"name": "security", "match": [f"{registry.host}/{repo}"], "authorities": [
        key_authority(tmp_path, other, "security-key")]}
    doc["policies"].append(second)
    cfg.write_text(yaml.safe_dump(doc))
    code, out = verify(capsys, cfg)
    assert code == 1
    assert [p["passed"] for p in out["images"][0]["policies"]] == [True, False]
    second["mode"] = "warn"
    cfg.write_text(yaml.safe_dump(doc))
    code, out = verify(capsys, cfg)
    assert code == 0 and out["images"][0]["verdict"] == "warn"
    code, out = verify(capsys, cfg, "--fail-on-warn")
    assert code == 1


def test_no_policy_fails_unless_default_allow(registry: RegistryServer, tmp_path: Path, key: KeyPair,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    img = push_signed(registry, unique_repo("e2e"), "v1")
    cfg = config(tmp_path, registry, [img.ref], [key_authority(tmp_path, key)])
    doc = yaml.safe_load(cfg.read_text())
    doc["policies"][0]["match"] = ["elsewhere.example/**"]
    cfg.write_text(yaml.safe_dump(doc))
    code, out = verify(capsys, cfg)
    assert code == 1 and codes(out["images"][0]) == ["NO_POLICY"]
    doc["default"] = "allow"
    cfg.write_text(yaml.safe_dump(doc))
    code, out = verify(capsys, cfg)
    assert code == 0 and codes(out["images"][0]) == ["DEFAULT_ALLOW"]


def test_plain_http_needs_insecure(registry: RegistryServer, tmp_path: Path, key: KeyPair,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    img = push_signed(registry, unique_repo("e2e"), "v1", lambda d: [sign_image(key, d)])
    cfg = config(tmp_path, registry, [img.ref], [key_authority(tmp_path, key)])
    doc = yaml.safe_load(cfg.read_text())
    doc["registries"] = {}
    cfg.write_text(yaml.safe_dump(doc))
    code, out = verify(capsys, cfg)
    assert code == 1
    assert out["images"][0]["verdict"] == "error"


def test_wrong_credentials_are_an_auth_error_without_the_secret(
        htpasswd_registry: RegistryServer, tmp_path: Path, key: KeyPair, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    reg = htpasswd_registry
    img = push_signed(reg, unique_repo("e2e"), "v1", lambda d: [sign_image(key, d)])
    settings = {"username_env": "E2E_USER", "password_env": "E2E_PASS"}
    cfg = config(tmp_path, reg, [img.ref], [key_authority(tmp_path, key)], registry_settings=settings)
    monkeypatch.setenv("E2E_USER", reg.username)
    monkeypatch.setenv("E2E_PASS", reg.password)
    code, out = verify(capsys, cfg)
    assert code == 0, out
    monkeypatch.setenv("E2E_PASS", "wrong-password-xyz")
    code = main(["verify", "--config", str(cfg), "--ci", "none"])
    text = capsys.readouterr().out
    assert code == 1
    assert "AUTH_ERROR" in text and "wrong-password-xyz" not in text and reg.password not in text


def test_few_requests_per_image(registry: RegistryServer, tmp_path: Path, key: KeyPair,
                                capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 8: at most 3 registry requests per tag reference with classic signatures (counted in the
    registry's own access log)."""
    repo = unique_repo("count")
    images = [push_signed(registry, repo, f"v{i}", lambda d: [sign_image(key, d)]).ref for i in range(6)]
    before = len(registry.sent_requests(repo))
    cfg = config(tmp_path, registry, images, [key_authority(tmp_path, key)])
    code, _ = verify(capsys, cfg, "--concurrency", "4")
    assert code == 0
    sent = len(registry.sent_requests(repo)) - before
    assert sent <= 3 * len(images), sent


class _MovingTag:
    """A Source wrapper that moves the tag to another image right after sigverify resolved it."""

    def __init__(self, inner: Any, move: Any) -> None:
        self.inner, self.move = inner, move

    def resolve(self, ref: Any) -> Any:
        desc = self.inner.resolve(ref)
        self.move()
        return desc

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_tag_moved_after_resolution_does_not_change_what_is_verified(
        registry: RegistryServer, tmp_path: Path, key: KeyPair) -> None:
    repo = unique_repo("e2e")
    signed = push_signed(registry, repo, "release", lambda d: [sign_image(key, d)])
    evil = push_signed(registry, repo, "evil")
    cfg = load_config(config(tmp_path, registry, [signed.ref], [key_authority(tmp_path, key)]))
    regs = Registries(cfg.registries)
    real = regs.source_for

    def source_for(ref: Any) -> Any:
        return _MovingTag(real(ref), lambda: registry.retag(repo, evil.digest, "release"))

    regs.source_for = source_for  # type: ignore[method-assign]
    result = run(cfg, [Target(parse(signed.ref), signed.ref)], GateOptions(concurrency=1), registries=regs)
    regs.close()
    image = result.images[0]
    assert image.verdict.value == "pass"
    assert image.digest == signed.digest  # the digest reported for deployment is the one verified
    assert registry.get_manifest(repo, "release")[0] != b""  # the tag really moved meanwhile
    resolved_now = Registries(cfg.registries).source_for(parse(signed.ref)).resolve(parse(signed.ref)).digest
    assert resolved_now == evil.digest


def test_many_images_concurrently_keep_their_order(registry: RegistryServer, tmp_path: Path, key: KeyPair,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    repo = unique_repo("many")
    pubs = [push_signed(registry, repo, f"t{i}", (lambda d: [sign_image(key, d)]) if i % 3 else (lambda d: []))
            for i in range(12)]
    cfg = config(tmp_path, registry, [p.ref for p in pubs], [key_authority(tmp_path, key)])
    code, doc = verify(capsys, cfg, "--concurrency", "8")
    assert code == 1
    assert [i["reference"] for i in doc["images"]] == [p.ref for p in pubs]
    assert [i["verdict"] for i in doc["images"]] == ["fail" if k % 3 == 0 else "pass" for k in range(12)]
