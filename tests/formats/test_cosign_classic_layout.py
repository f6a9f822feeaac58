"""The CLI on OCI layouts written by the cosign_sign fixture: tlog require with a custom trusted root, multi-layer
signature manifests, copied signatures and foreign bundles, end to end (air-gapped path of issue 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sigverify.cli import main
from tests.fixtures.cosign_sign import (
    FakeRekor,
    KeyPair,
    generate_key,
    make_image,
    sign_image,
    signature_manifest,
    with_bundle_of,
    write_to_layout,
)


def run(capsys: pytest.CaptureFixture[str], config: Path) -> tuple[int, dict[str, Any]]:
    code = main(["verify", "--config", str(config), "--format", "json", "--ci", "none"])
    return code, json.loads(capsys.readouterr().out)


def write_config(tmp_path: Path, key: KeyPair, tags: list[str], *, tlog: str, trust_root: Path | None) -> Path:
    key.write_public(tmp_path)
    lines = ["version: 1", "images:"] + [f"  - oci:layout:{t}" for t in tags]
    if trust_root is not None:
        lines.append(f"trust_root: {trust_root.name}")
    lines += [
        "policies:",
        "  - name: release",
        '    match: ["oci:layout"]',
        "    authorities:",
        "      - name: release-key",
        "        key: {path: cosign.pub}",
        f"        tlog: {tlog}",
    ]
    path = tmp_path / "sigverify.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_layout_with_rekor_bundles_and_custom_trusted_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_rekor: FakeRekor
) -> None:
    key, stranger = generate_key("p256"), generate_key("p256")
    root = fake_rekor.write_trusted_root(tmp_path / "trusted_root.json")
    layout = tmp_path / "layout"

    good = make_image(tag="good")  # a stranger's signature first, then ours: every layer is tried
    write_to_layout(
        layout,
        good,
        signature_manifest(
            good.digest,
            [sign_image(stranger, good.digest, rekor=fake_rekor), sign_image(key, good.digest, rekor=fake_rekor)],
        ),
    )

    unlogged = make_image(tag="unlogged")  # signed with --tlog-upload=false
    write_to_layout(layout, unlogged, signature_manifest(unlogged.digest, [sign_image(key, unlogged.digest)]))

    other = make_image(tag="other")
    other_sig = sign_image(key, other.digest, rekor=fake_rekor)
    write_to_layout(layout, other, signature_manifest(other.digest, [other_sig]))

    copied = make_image(tag="copied")  # other image's valid signature copied under this digest's .sig tag
    write_to_layout(layout, copied, signature_manifest(copied.digest, [other_sig]))

    foreign = make_image(tag="foreign")  # our unlogged signature + the bundle of another signature
    write_to_layout(
        layout,
        foreign,
        signature_manifest(foreign.digest, [with_bundle_of(sign_image(key, foreign.digest), other_sig)]),
    )

    tags = ["good", "unlogged", "other", "copied", "foreign"]
    code, doc = run(capsys, write_config(tmp_path, key, tags, tlog="require", trust_root=root))
    verdicts = {i["reference"].rsplit(":", 1)[1]: i for i in doc["images"]}
    assert code == 1
    assert {t: verdicts[t]["verdict"] for t in tags} == {
        "good": "pass",
        "unlogged": "fail",
        "other": "pass",
        "copied": "fail",
        "foreign": "fail",
    }
    assert doc["trust_root"] == str(root)

    def codes(tag: str) -> set[str]:
        return {s["reason"]["code"] for s in verdicts[tag]["signatures"] if "reason" in s}

    assert codes("good") == {"INVALID_SIGNATURE"}  # the stranger's layer, reported, not fatal
    assert codes("unlogged") == {"TLOG_INVALID"}
    assert codes("copied") == {"DIGEST_MISMATCH"}
    assert codes("foreign") == {"TLOG_INVALID"}
    tlog = next(s for s in verdicts["good"]["signatures"] if s["verified"])["details"]["tlog"]
    assert tlog["logID"] == fake_rekor.log_id


def test_layout_tlog_ignore(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = generate_key("ed25519")
    image = make_image(tag="v1")
    write_to_layout(tmp_path / "layout", image, signature_manifest(image.digest, [sign_image(key, image.digest)]))
    code, doc = run(capsys, write_config(tmp_path, key, ["v1"], tlog="ignore", trust_root=None))
    assert code == 0, doc
    sig = doc["images"][0]["signatures"][0]
    assert sig["signer"] == key.fingerprint and sig["details"]["algorithm"] == "ed25519ph"
