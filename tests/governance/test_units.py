"""platforms, require_digest and waivers below the CLI: selection from an index, the loader's checks, the waiver
rules and how every report shows platform rows and waived images."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from sigverify.errors import ConfigError
from sigverify.evaluate.platforms import MAX_PLATFORMS, Child, plan
from sigverify.evaluate.waivers import apply_waivers
from sigverify.models import Code, Descriptor, ImageResult, Reason, RunResult, Verdict
from sigverify.policy import load_config_text
from sigverify.policy.lint import lint
from sigverify.policy.model import Config, Policy
from sigverify.policy.platforms import normalise_platform, selects
from sigverify.policy.waivers import pinned_clock
from sigverify.report import json as json_report
from sigverify.report import junit, markdown, sarif, text

NOW = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _child(platform: str | None, n: int) -> Child:
    return Child(platform, Descriptor(MANIFEST, "sha256:" + f"{n:x}".rjust(64, "0"), 100))


def _config(body: str, tmp_path: Path) -> Config:
    with pinned_clock(NOW):
        return load_config_text(body, filename=str(tmp_path / "c.yaml"), base_dir=tmp_path)


POLICY = """version: 1
images: [ghcr.io/acme/app:1.0, ghcr.io/acme/other:2.0]
policies:
  - name: p
    match: ["ghcr.io/acme/**"]
{extra}    authorities:
      - name: k
        keyless: {{issuer: "https://token.actions.githubusercontent.com", subject: "https://github.com/acme/a"}}
"""


def _policy(tmp_path: Path, extra: str) -> Policy:
    return _config(POLICY.format(extra=extra), tmp_path).policies[0]


# -- platforms ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text_", "name"), [
    ("linux/amd64", "linux/amd64"), ("linux/arm64/v8", "linux/arm64"), ("linux/arm/v7", "linux/arm/v7"),
    ("windows/amd64", "windows/amd64"), ("linux", None), ("Linux/AMD64", None), ("linux/amd64/v1/x", None),
    ("linux//amd64", None), ("", None),
])
def test_platform_names_have_one_spelling(text_: str, name: str | None) -> None:
    assert normalise_platform(text_) == name


def test_os_arch_selects_every_variant_and_a_variant_only_itself() -> None:
    assert selects("linux/arm", "linux/arm/v7") and selects("linux/arm", "linux/arm/v6")
    assert not selects("linux/arm/v7", "linux/arm/v6") and not selects("linux/arm", "linux/arm64")


def test_plan_all_skips_build_attestations_only(tmp_path: Path) -> None:
    children = [_child("linux/amd64", 1), _child("unknown/unknown", 2), _child(None, 3), _child("linux/arm/v7", 4)]
    result = plan(children, [_policy(tmp_path, "    platforms: all\n")])
    assert [p for p, _ in result.children.values()] == ["linux/amd64", "(no platform)", "linux/arm/v7"]
    assert result.missing == []


def test_index_platforms_are_read_as_runtimes_read_them() -> None:
    from sigverify.policy.platforms import platform_of

    assert platform_of({"os": "Linux", "architecture": "x86_64"}) == "linux/amd64"
    assert platform_of({"os": "linux", "architecture": "aarch64", "variant": "v8"}) == "linux/arm64"
    assert platform_of({"os": "linux", "architecture": 64}) is None


def test_plan_list_names_the_missing_platform_and_what_the_index_has(tmp_path: Path) -> None:
    children = [_child("linux/amd64", 1), _child("linux/arm/v6", 2), _child("linux/arm/v7", 3)]
    result = plan(children, [_policy(tmp_path, "    platforms: [linux/arm, linux/s390x]\n")])
    assert [p for p, _ in result.children.values()] == ["linux/arm/v6", "linux/arm/v7"]
    (missing,) = result.missing
    assert missing.code == Code.PLATFORM_MISSING and missing.expected == "linux/s390x" and missing.policy == "p"
    assert missing.found == "platforms in the index: linux/amd64, linux/arm/v6, linux/arm/v7"


def test_plan_all_on_an_index_without_platforms_fails(tmp_path: Path) -> None:
    result = plan([_child("unknown/unknown", 1)], [_policy(tmp_path, "    platforms: all\n")])
    assert result.children == {} and [r.code for r in result.missing] == [Code.PLATFORM_MISSING]


def test_plan_bounds_the_platforms_verified(tmp_path: Path) -> None:
    children = [_child(f"linux/arch{i}", i) for i in range(MAX_PLATFORMS + 5)]
    result = plan(children, [_policy(tmp_path, "    platforms: all\n")])
    assert len(result.children) == MAX_PLATFORMS and [r.code for r in result.missing] == [Code.RESOURCE_LIMIT]


def test_index_policies_select_nothing(tmp_path: Path) -> None:
    assert plan([_child("linux/amd64", 1)], [_policy(tmp_path, "")]).children == {}


@pytest.mark.parametrize(("extra", "message"), [
    ("    platforms: [linux/amd64, linux/arm64, linux/arm64/v8]\n", "platform 'linux/arm64/v8' is listed twice"),
    ("    platforms: [amd64]\n", "not a platform: 'amd64'"),
    ("    platforms: every\n", "platforms is index, all, or a list such as [linux/amd64, linux/arm64]"),
    ("    platforms: []\n", "platforms is index, all"),
    ("    require_digest: \"true\"\n", "require_digest"),
])
def test_platforms_and_require_digest_config_errors(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        _config(POLICY.format(extra=extra), tmp_path)
    assert message in str(info.value) and f"{tmp_path / 'c.yaml'}:6" in str(info.value)


def test_platforms_and_require_digest_load(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "    platforms: [linux/arm64/v8, linux/amd64]\n    require_digest: true\n")
    assert policy.platforms == ("linux/arm64", "linux/amd64") and policy.require_digest
    default = _policy(tmp_path, "")
    assert default.platforms == "index" and not default.require_digest


# -- waivers -----------------------------------------------------------------------------------------------------

WAIVERS = """waivers:
  - images: ["ghcr.io/acme/app"]
    reason: vendor fix pending
    expires: "{expires}"
    codes: [{codes}]
"""


def _waivers(tmp_path: Path, expires: str = "2026-12-31", codes: str = "NO_SIGNATURE", extra: str = "") -> Config:
    return _config(POLICY.format(extra="") + extra + WAIVERS.format(expires=expires, codes=codes), tmp_path)


def _failed(*codes: str, verdict: Verdict = Verdict.FAIL) -> ImageResult:
    return ImageResult("ghcr.io/acme/app:1.0", "ghcr.io/acme/app:1.0", None, verdict,
                       reasons=tuple(Reason(c, f"failed: {c}") for c in codes))


def test_a_waiver_covers_exactly_its_codes(tmp_path: Path) -> None:
    waivers = _waivers(tmp_path, codes="NO_SIGNATURE, THRESHOLD_NOT_MET").waivers
    waived = apply_waivers(_failed("NO_SIGNATURE"), "ghcr.io/acme/app", waivers, NOW)
    assert waived.verdict is Verdict.WAIVED and waived.reasons[0].code == Code.WAIVED
    assert "c.yaml:10" in waived.reasons[0].message and "vendor fix pending" in waived.reasons[0].message
    partly = apply_waivers(_failed("NO_SIGNATURE", "DIGEST_MISMATCH"), "ghcr.io/acme/app", waivers, NOW)
    assert partly.verdict is Verdict.FAIL and [r.code for r in partly.reasons] == ["NO_SIGNATURE", "DIGEST_MISMATCH"]
    other = apply_waivers(_failed("NO_SIGNATURE"), "ghcr.io/acme/other", waivers, NOW)
    assert other.verdict is Verdict.FAIL
    warn = apply_waivers(_failed("THRESHOLD_NOT_MET", verdict=Verdict.WARN), "ghcr.io/acme/app", waivers, NOW)
    assert warn.verdict is Verdict.WAIVED
    passed = _failed(verdict=Verdict.PASS)
    assert apply_waivers(passed, "ghcr.io/acme/app", waivers, NOW) is passed


def test_internal_error_is_never_waived_even_beside_a_waived_code(tmp_path: Path) -> None:
    waivers = _waivers(tmp_path).waivers
    result = apply_waivers(_failed("NO_SIGNATURE", "INTERNAL_ERROR", verdict=Verdict.ERROR), "ghcr.io/acme/app",
                           waivers, NOW)
    assert result.verdict is Verdict.ERROR and Code.WAIVED not in {r.code for r in result.reasons}
    assert apply_waivers(_failed(verdict=Verdict.FAIL), "ghcr.io/acme/app", waivers, NOW).verdict is Verdict.FAIL


def test_an_expired_waiver_fails_and_names_itself(tmp_path: Path) -> None:
    waivers = _waivers(tmp_path, expires="2026-11-29").waivers  # expired yesterday: loads, covers nothing
    result = apply_waivers(_failed("NO_SIGNATURE", verdict=Verdict.WARN), "ghcr.io/acme/app", waivers, NOW)
    assert result.verdict is Verdict.FAIL
    assert result.reasons[0].code == Code.WAIVER_EXPIRED and result.reasons[0].found == "2026-11-29"
    assert "vendor fix pending" in result.reasons[0].message


@pytest.mark.parametrize(("expires", "extra", "ok"), [
    ("2027-02-28", "", True),  # 90 days after 2026-11-30
    ("2027-03-01", "", False),
    ("2027-03-01", "max_waiver_days: 91\n", True),
    ("2026-12-01", "max_waiver_days: 0\n", False),
])
def test_the_expiry_bound(tmp_path: Path, expires: str, extra: str, ok: bool) -> None:
    if ok:
        assert _waivers(tmp_path, expires=expires, extra=extra).waivers[0].expires.isoformat() == expires
        return
    with pytest.raises(ConfigError) as info:
        _waivers(tmp_path, expires=expires, extra=extra)
    assert f"{tmp_path / 'c.yaml'}:" in str(info.value)


@pytest.mark.parametrize(("codes", "message"), [
    ("INTERNAL_ERROR", "INTERNAL_ERROR can never be waived"),
    ("WAIVER_EXPIRED", "WAIVER_EXPIRED can never be waived"),
    ("NO_SIGNATUR", "unknown reason code 'NO_SIGNATUR'"),
    ("", "a waiver names the reason codes it covers"),
])
def test_waiver_code_errors(tmp_path: Path, codes: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        _waivers(tmp_path, codes=codes)
    assert message in str(info.value)


@pytest.mark.parametrize("expires", ["2026-13-01", "31.12.2026", "2026-12-31T00:00:00Z"])
def test_waiver_expiry_must_be_a_date(tmp_path: Path, expires: str) -> None:
    with pytest.raises(ConfigError) as info:
        _waivers(tmp_path, expires=expires)
    assert "is not a date" in str(info.value)


def test_an_unquoted_date_is_refused_with_the_quote_tip(tmp_path: Path) -> None:
    body = POLICY.format(extra="") + WAIVERS.format(expires="x", codes="NO_SIGNATURE").replace('"x"', "2026-12-31")
    with pytest.raises(ConfigError) as info:
        _config(body, tmp_path)
    assert "quote it" in str(info.value)


def test_lint_names_stale_waivers(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("")
    config = _config(POLICY.format(extra="") + WAIVERS.format(expires="2026-11-01", codes="NO_SIGNATURE")
                     + WAIVERS.format(expires="2026-12-01", codes="NO_SIGNATURE").replace("waivers:\n", "")
                     .replace("ghcr.io/acme/app", "ghcr.io/nobody/*"), tmp_path)
    with pinned_clock(NOW):
        found = {(w.code, w.line) for w in lint(config)}
    assert found == {("WAIVER_EXPIRED", 10), ("WAIVER_UNUSED", 14)}


# -- reports -----------------------------------------------------------------------------------------------------


def _run_with_platform_rows() -> RunResult:
    row = ImageResult("ghcr.io/acme/app:1.0", "ghcr.io/acme/app:1.0@sha256:" + "b" * 64, "sha256:" + "b" * 64,
                      Verdict.FAIL, reasons=(Reason(Code.NO_SIGNATURE, "nothing stored"),), platform="linux/arm64",
                      source_file="deploy.yaml", source_line=7)
    ok = ImageResult("ghcr.io/acme/app:1.0", "ghcr.io/acme/app:1.0@sha256:" + "c" * 64, "sha256:" + "c" * 64,
                     Verdict.PASS, platform="linux/amd64", source_file="deploy.yaml", source_line=7)
    parent = ImageResult("ghcr.io/acme/app:1.0", "ghcr.io/acme/app:1.0@sha256:" + "a" * 64, "sha256:" + "a" * 64,
                         Verdict.FAIL, reasons=(Reason(Code.NO_SIGNATURE, "platform linux/arm64: nothing stored"),),
                         source_file="deploy.yaml", source_line=7, platforms=(ok, row))
    return RunResult(images=(parent,), tool_version="t")


def test_platform_rows_in_every_report() -> None:
    run = _run_with_platform_rows()
    doc = json.loads(json_report.render(run))
    (image,) = doc["images"]
    assert [(p["platform"], p["verdict"]) for p in image["platforms"]] == [("linux/amd64", "pass"),
                                                                          ("linux/arm64", "fail")]
    assert doc["summary"]["total"] == 1 and "platform" not in image
    out = text.render(run)
    assert "PASS  ghcr.io/acme/app:1.0 [linux/amd64]" in out and "FAIL  ghcr.io/acme/app:1.0 [linux/arm64]" in out
    assert "ghcr.io/acme/app:1.0 [linux/arm64]" in junit.render(run)
    results = json.loads(sarif.render(run))["runs"][0]["results"]
    assert any(r["properties"]["image"] == "ghcr.io/acme/app:1.0 [linux/arm64]" and
               r["locations"][0]["physicalLocation"]["region"]["startLine"] == 7 for r in results)
    md = markdown.render(run)
    assert md.index("app:1.0</code>") < md.index("app:1.0 &#91;linux/amd64&#93;") < md.index("app:1.0 &#91;linux/arm64")


def test_platform_rows_and_waived_survive_a_merge_round_trip() -> None:
    from dataclasses import replace

    from sigverify.merge import image_from_dict

    (parent,) = _run_with_platform_rows().images
    waived = replace(parent, verdict=Verdict.WAIVED)
    back = image_from_dict(json.loads(json.dumps(waived.to_dict())))
    assert back.verdict is Verdict.WAIVED and [(p.platform, p.verdict) for p in back.platforms] == [
        ("linux/amd64", Verdict.PASS), ("linux/arm64", Verdict.FAIL)]
    assert back.to_dict() == waived.to_dict()


def test_explain_names_platforms_pinning_and_waivers(tmp_path: Path) -> None:
    from sigverify.cli.explain import explain

    config = _config(POLICY.format(extra="    platforms: all\n    require_digest: true\n")
                     + WAIVERS.format(expires="2026-12-31", codes="NO_SIGNATURE"), tmp_path)
    out, _ = explain(config, [("ghcr.io/acme/app:1.0", None), ("ghcr.io/acme/other@sha256:" + "a" * 64, None)])
    first, second = out.split("\n\n")
    assert "platforms: every platform manifest of an index must verify" in first
    assert "tag only: it fails with DIGEST_REQUIRED" in first and "the reference names a digest" in second
    assert "vendor fix pending; covers NO_SIGNATURE" in first and "waiver" not in second
