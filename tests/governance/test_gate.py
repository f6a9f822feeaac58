"""require_digest and waivers end to end: the real docker-registry, real signatures, the CLI in process, "now"
pinned through the waiver clock (never by sleeping)."""

from __future__ import annotations

import datetime
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from sigverify.cli import main
from sigverify.policy.waivers import pinned_clock
from tests.fixtures.cosign_sign import KeyPair, generate_key, sign_image, signature_manifest
from tests.fixtures.registry import RegistryServer, unique_repo

pytestmark = pytest.mark.registry

TODAY = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)


def _sign(registry: RegistryServer, repo: str, digest: str, key: KeyPair) -> None:
    art = signature_manifest(digest, [sign_image(key, digest)])
    for blob in art.blobs.values():
        registry.push_blob(repo, blob)
    registry.push_manifest(repo, art.tag, art.manifest, art.media_type)


def _config(path: Path, registry: RegistryServer, key: KeyPair, images: list[str], *, policy_extra: str = "",
            extra: str = "") -> Path:
    pem = textwrap.indent(key.public_pem.decode().strip(), " " * 14)
    path.write_text(f"""version: 1
images:
{"".join(f"  - {i}{chr(10)}" for i in images)}registries:
  {registry.host}: {{insecure: true}}
policies:
  - name: release
    match: ["{registry.host}/**"]{policy_extra}
    authorities:
      - name: k
        tlog: ignore
        key:
          pem: |
{pem}
{extra}""")
    return path


def _verify(capsys: pytest.CaptureFixture[str], config: Path, *args: str,
            at: datetime.datetime = TODAY) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    with pinned_clock(at):
        code = main(["verify", "--config", str(config), "--format", "json", "--ci", "none", *args])
    out = capsys.readouterr()
    return code, json.loads(out.out) if code in (0, 1) else {"stderr": out.err}


@pytest.fixture
def signed(registry: RegistryServer) -> tuple[str, str, str, KeyPair]:
    """(repo, signed digest at tag 1.0, unsigned digest at tag 2.0, key)."""
    key = generate_key("p256")
    repo = unique_repo("gov")
    good, _ = registry.push_image(repo, "1.0")
    _sign(registry, repo, good, key)
    bad, _ = registry.push_image(repo, "2.0")
    return repo, good, bad, key


# -- require_digest ----------------------------------------------------------------------------------------------


def test_require_digest_fails_a_tag_with_the_digest_to_pin(registry: RegistryServer, tmp_path: Path,
                                                           signed: tuple[str, str, str, KeyPair],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    repo, good, _bad, key = signed
    by_tag, by_digest = f"{registry.host}/{repo}:1.0", f"{registry.host}/{repo}@{good}"
    cfg = _config(tmp_path / "c.yaml", registry, key, [by_tag, by_digest], policy_extra="\n    require_digest: true")
    code, report = _verify(capsys, cfg)
    assert code == 1
    tag_row, digest_row = report["images"]
    assert tag_row["verdict"] == "fail" and digest_row["verdict"] == "pass"
    reason = tag_row["reasons"][0]
    assert reason["code"] == "DIGEST_REQUIRED" and reason["policy"] == "release"
    assert reason["expected"] == f"{by_tag}@{good}" and reason["found"] == by_tag
    assert tag_row["signatures"][0]["verified"] is True  # still verified: the pin is the only failure


def test_require_digest_off_by_default_and_in_warn_mode(registry: RegistryServer, tmp_path: Path,
                                                        signed: tuple[str, str, str, KeyPair],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    repo, _good, _bad, key = signed
    image = f"{registry.host}/{repo}:1.0"
    assert _verify(capsys, _config(tmp_path / "a.yaml", registry, key, [image]))[0] == 0
    code, report = _verify(capsys, _config(tmp_path / "b.yaml", registry, key, [image],
                                           policy_extra="\n    mode: warn\n    require_digest: true"))
    assert code == 0 and report["images"][0]["verdict"] == "warn"
    assert report["images"][0]["reasons"][0]["code"] == "DIGEST_REQUIRED"


def test_require_digest_is_annotated_at_the_manifest_line(registry: RegistryServer, tmp_path: Path,
                                                           signed: tuple[str, str, str, KeyPair],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    repo, good, _bad, key = signed
    cfg = _config(tmp_path / "c.yaml", registry, key, [], policy_extra="\n    require_digest: true")
    cfg.write_text(cfg.read_text().replace("images:\n", "images: []\n"))
    (tmp_path / "deploy.yaml").write_text(f"""apiVersion: v1
kind: Pod
metadata: {{name: p}}
spec:
  containers:
  - name: a
    image: {registry.host}/{repo}:1.0
  - name: b
    image: {registry.host}/{repo}@{good}
""")
    code, report = _verify(capsys, cfg, "--images-from", str(tmp_path / "deploy.yaml"))
    assert code == 1
    rows = {i["source"]["line"]: i for i in report["images"]}
    assert rows[7]["verdict"] == "fail" and rows[7]["reasons"][0]["code"] == "DIGEST_REQUIRED"
    assert rows[7]["reasons"][0]["expected"].endswith(f":1.0@{good}")
    assert rows[9]["verdict"] == "pass"


# -- waivers -----------------------------------------------------------------------------------------------------


def _waiver(repo_glob: str, expires: str, codes: str = "[NO_SIGNATURE]", reason: str = "vendor image, CVE-1") -> str:
    return f"""waivers:
  - images: ["{repo_glob}"]
    reason: {reason}
    expires: "{expires}"
    codes: {codes}
"""


def test_waived_failure_is_waived_never_pass(registry: RegistryServer, tmp_path: Path,
                                              signed: tuple[str, str, str, KeyPair],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    repo, _good, _bad, key = signed
    images = [f"{registry.host}/{repo}:1.0", f"{registry.host}/{repo}:2.0"]
    cfg = _config(tmp_path / "c.yaml", registry, key, images, extra=_waiver(f"{registry.host}/{repo}", "2026-12-31"))
    code, report = _verify(capsys, cfg)
    assert code == 0, report
    ok, waived = report["images"]
    assert ok["verdict"] == "pass" and waived["verdict"] == "waived"
    note = waived["reasons"][0]
    assert note["code"] == "WAIVED" and "vendor image, CVE-1" in note["message"] and "2026-12-31" in note["message"]
    assert f"{cfg}:" in note["message"]  # names the waiver's file:line
    assert "NO_SIGNATURE" in {r["code"] for r in waived["reasons"]}  # the failure is still shown
    assert report["summary"]["waived"] == 1 and report["summary"]["pass"] == 1
    # The last day of the waiver still covers it; the next day it is a failure that names the waiver.
    assert _verify(capsys, cfg, at=datetime.datetime(2026, 12, 31, 23, 59, tzinfo=datetime.UTC))[0] == 0
    code, report = _verify(capsys, cfg, at=datetime.datetime(2027, 1, 1, 0, 0, tzinfo=datetime.UTC))
    assert code == 1
    failed = report["images"][1]
    assert failed["verdict"] == "fail" and failed["reasons"][0]["code"] == "WAIVER_EXPIRED"
    assert "vendor image, CVE-1" in failed["reasons"][0]["message"] and failed["reasons"][0]["found"] == "2026-12-31"


def test_waiver_covers_only_its_codes_and_images(registry: RegistryServer, tmp_path: Path,
                                                 signed: tuple[str, str, str, KeyPair],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    repo, _good, _bad, key = signed
    image = f"{registry.host}/{repo}:2.0"
    other_codes = _config(tmp_path / "a.yaml", registry, key, [image],
                          extra=_waiver(f"{registry.host}/{repo}", "2026-12-31", codes="[THRESHOLD_NOT_MET]"))
    code, report = _verify(capsys, other_codes)
    assert code == 1 and report["images"][0]["verdict"] == "fail"
    assert [r["code"] for r in report["images"][0]["reasons"]] == ["NO_SIGNATURE"]
    other_image = _config(tmp_path / "b.yaml", registry, key, [image],
                          extra=_waiver(f"{registry.host}/elsewhere/*", "2026-12-31"))
    code, report = _verify(capsys, other_image)
    assert code == 1 and report["images"][0]["verdict"] == "fail"
    assert any("matches no image of this run" in n for n in report["notes"])


def test_waiver_config_errors_exit_2_with_file_and_line(registry: RegistryServer, tmp_path: Path,
                                                        signed: tuple[str, str, str, KeyPair],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    repo, _good, _bad, key = signed
    image = f"{registry.host}/{repo}:2.0"
    glob = f"{registry.host}/{repo}"
    far = _config(tmp_path / "far.yaml", registry, key, [image], extra=_waiver(glob, "2027-03-01"))
    code, out = _verify(capsys, far)
    assert code == 2 and f"{far}:" in out["stderr"] and "at most 90 days" in out["stderr"]
    allowed = _config(tmp_path / "allowed.yaml", registry, key, [image],
                      extra="max_waiver_days: 120\n" + _waiver(glob, "2027-03-01"))
    assert _verify(capsys, allowed)[0] == 0
    no_expiry = _config(tmp_path / "none.yaml", registry, key, [image],
                        extra=_waiver(glob, "x").replace('    expires: "x"\n', ""))
    code, out = _verify(capsys, no_expiry)
    assert code == 2 and "missing required key 'expires'" in out["stderr"]
    internal = _config(tmp_path / "internal.yaml", registry, key, [image],
                       extra=_waiver(glob, "2026-12-31", codes="[INTERNAL_ERROR]"))
    code, out = _verify(capsys, internal)
    assert code == 2 and "INTERNAL_ERROR can never be waived" in out["stderr"]


@pytest.mark.parametrize("fmt", ["text", "junit", "sarif", "markdown"])
def test_waived_is_shown_distinctly_in_every_report(registry: RegistryServer, tmp_path: Path,
                                                    signed: tuple[str, str, str, KeyPair],
                                                    capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    repo, _good, _bad, key = signed
    cfg = _config(tmp_path / "c.yaml", registry, key, [f"{registry.host}/{repo}:2.0"],
                  extra=_waiver(f"{registry.host}/{repo}", "2026-12-31"))
    capsys.readouterr()
    flag = {"junit": "--junit", "sarif": "--sarif", "markdown": "--summary"}.get(fmt)
    report = tmp_path / f"report.{fmt}"
    with pinned_clock(TODAY):
        code = main(["verify", "--config", str(cfg), "--ci", "none", *([flag, str(report)] if flag else [])])
    out = report.read_text() if flag else capsys.readouterr().out
    assert code == 0
    if fmt == "text":
        assert "WAIVED " in out and "result: PASS (with waived failures)" in out and "PASS  " not in out
    elif fmt == "junit":
        assert 'skipped="1"' in out and '<skipped message="waived: NO_SIGNATURE' in out and "<failure" not in out
    elif fmt == "sarif":
        result = json.loads(out)["runs"][0]["results"][0]
        assert result["level"] == "note" and result["suppressions"][0]["kind"] == "external"
        assert result["ruleId"] == "NO_SIGNATURE"
        assert "vendor image, CVE-1" in result["suppressions"][0]["justification"]
        assert result["properties"]["verdict"] == "waived"
    else:
        assert "🕒 waived" in out and "❌" not in out


# -- the three together ------------------------------------------------------------------------------------------


def test_a_waived_platform_makes_the_image_waived_and_a_pin_still_fails(registry: RegistryServer, tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    key = generate_key("p256")
    repo = unique_repo("gov")
    index, _raw, (amd, arm) = registry.push_index(repo, "multi")
    _sign(registry, repo, amd, key)  # arm64 unsigned, the index unsigned
    image = f"{registry.host}/{repo}:multi"
    plain = _config(tmp_path / "a.yaml", registry, key, [image], policy_extra="\n    platforms: all")
    code, report = _verify(capsys, plain)
    rows = {r["platform"]: r for r in report["images"][0]["platforms"]}
    assert code == 1 and rows["linux/arm64"]["verdict"] == "fail" and rows["linux/amd64"]["verdict"] == "pass"
    waived = _config(tmp_path / "b.yaml", registry, key, [image], policy_extra="\n    platforms: all",
                     extra=_waiver(f"{registry.host}/{repo}", "2026-12-31"))
    code, report = _verify(capsys, waived)
    (img,) = report["images"]
    assert code == 0 and img["verdict"] == "waived" and img["digest"] == index
    assert {r["platform"]: r["verdict"] for r in img["platforms"]} == {"linux/amd64": "pass", "linux/arm64": "waived"}
    pinned = _config(tmp_path / "c.yaml", registry, key, [image],
                     policy_extra="\n    platforms: all\n    require_digest: true",
                     extra=_waiver(f"{registry.host}/{repo}", "2026-12-31"))
    code, report = _verify(capsys, pinned)
    (img,) = report["images"]
    assert code == 1 and img["verdict"] == "fail" and img["reasons"][0]["code"] == "DIGEST_REQUIRED"
    assert img["reasons"][0]["expected"] == f"{image}@{index}"
    assert (arm, "waived") in {(r["digest"], r["verdict"]) for r in img["platforms"]}
