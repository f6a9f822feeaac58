"""Multi-arch images signed by the real cosign: `platforms: index | all | [os/arch]` against an index signed with
`--recursive` (index and every platform), at the index only, and at the platforms only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.interop.conftest import KeyPair, Target
from tests.interop.tools import Cosign, SigverifyResult, key_authority, sigverify

pytestmark = pytest.mark.peers

PLATFORMS = ("linux/amd64", "linux/arm64")


def _config(tmp_path: Path, t: Target, image: str, key: KeyPair, platforms: Any, name: str) -> Path:
    policy: dict[str, Any] = {"name": "multi", "match": [f"{t.host}/**"], "platforms": platforms,
                              "authorities": [key_authority("a", key.public)]}
    cfg = {"version": 1, "images": [image], "registries": {t.host: {"insecure": True}}, "policies": [policy]}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _run(tmp_path: Path, t: Target, image: str, key: KeyPair, platforms: Any) -> SigverifyResult:
    res = sigverify(_config(tmp_path, t, image, key, platforms, f"sv-{len(list(tmp_path.glob('*.yaml')))}"))
    assert res.run.code in (0, 1), res.run.describe()
    return res


def _rows(res: SigverifyResult) -> dict[str, dict[str, Any]]:
    return {row["platform"]: row for row in res.image.get("platforms", [])}


def _codes(row: dict[str, Any]) -> set[str]:
    return {r["code"] for r in row["reasons"]}


@pytest.fixture
def recursive(on_fallback: Target, cosign_v2: Cosign, keys: dict[str, KeyPair]) -> tuple[Target, str, list[str]]:
    """An index signed by `cosign sign --recursive`: the index and each platform manifest carry a signature."""
    index, children = on_fallback.pusher.random_index(on_fallback.repo, "multi", PLATFORMS)
    cosign_v2.sign(on_fallback.ref(index), keys["a"].private, extra=("--recursive",))
    for ref in (index, *children):
        assert cosign_v2.verify(on_fallback.ref(ref), keys["a"].public).code == 0
    return on_fallback, index, children


def test_recursive_index_passes_under_every_setting(tmp_path: Path, recursive: tuple[Target, str, list[str]],
                                                    keys: dict[str, KeyPair]) -> None:
    t, index, children = recursive
    image = t.ref("multi")
    res = _run(tmp_path, t, image, keys["a"], "index")
    assert (res.verdict, res.image["digest"], res.image.get("platforms")) == ("pass", index, None)
    res = _run(tmp_path, t, image, keys["a"], "all")
    assert res.run.code == 0 and res.verdict == "pass", res.run.describe()
    rows = _rows(res)
    assert sorted(rows) == sorted(PLATFORMS)
    assert {rows[p]["digest"] for p in PLATFORMS} == set(children)
    assert all(rows[p]["verdict"] == "pass" and rows[p]["signatures"][0]["verified"] for p in PLATFORMS)
    res = _run(tmp_path, t, image, keys["a"], ["linux/arm64"])
    assert res.verdict == "pass" and list(_rows(res)) == ["linux/arm64"]
    assert _rows(res)["linux/arm64"]["digest"] == children[1]


def test_listed_platform_missing_from_the_index_fails(tmp_path: Path, recursive: tuple[Target, str, list[str]],
                                                      keys: dict[str, KeyPair]) -> None:
    t, _index, _children = recursive
    res = _run(tmp_path, t, t.ref("multi"), keys["a"], ["linux/amd64", "linux/s390x"])
    assert res.run.code == 1 and res.verdict == "fail"
    missing = [r for r in res.image["reasons"] if r["code"] == "PLATFORM_MISSING"]
    assert missing and missing[0]["expected"] == "linux/s390x"
    assert "linux/amd64, linux/arm64" in missing[0]["found"]
    assert _rows(res)["linux/amd64"]["verdict"] == "pass"  # what is there is still verified and shown


def test_index_only_signature(tmp_path: Path, on_fallback: Target, cosign_v2: Cosign,
                              keys: dict[str, KeyPair]) -> None:
    """Signed without --recursive: `index` passes (as cosign verify does); `all` and a list fail per platform."""
    t = on_fallback
    index, children = t.pusher.random_index(t.repo, "multi", PLATFORMS)
    cosign_v2.sign(t.ref(index), keys["a"].private)
    assert cosign_v2.verify(t.ref(children[0]), keys["a"].public).code != 0  # the tool agrees: child unsigned
    assert _run(tmp_path, t, t.ref("multi"), keys["a"], "index").verdict == "pass"
    res = _run(tmp_path, t, t.ref("multi"), keys["a"], "all")
    assert res.run.code == 1 and res.verdict == "fail"
    rows = _rows(res)
    assert {p: rows[p]["verdict"] for p in PLATFORMS} == {"linux/amd64": "fail", "linux/arm64": "fail"}
    assert all(_codes(rows[p]) == {"NO_SIGNATURE"} for p in PLATFORMS)
    assert "NO_SIGNATURE" in {r["code"] for r in res.image["reasons"]}  # carried up to the image, by platform
    res = _run(tmp_path, t, t.ref("multi"), keys["a"], ["linux/amd64"])
    assert res.verdict == "fail" and _codes(_rows(res)["linux/amd64"]) == {"NO_SIGNATURE"}


def test_platform_only_signatures(tmp_path: Path, on_fallback: Target, cosign_v2: Cosign,
                                  keys: dict[str, KeyPair]) -> None:
    """Each platform manifest signed, the index not: `index` fails (as cosign verify does), `all` passes."""
    t = on_fallback
    index, children = t.pusher.random_index(t.repo, "multi", PLATFORMS)
    for child in children:
        cosign_v2.sign(t.ref(child), keys["a"].private)
    assert cosign_v2.verify(t.ref(index), keys["a"].public).code != 0
    res = _run(tmp_path, t, t.ref("multi"), keys["a"], "index")
    assert res.verdict == "fail" and "NO_SIGNATURE" in res.codes
    res = _run(tmp_path, t, t.ref("multi"), keys["a"], "all")
    assert res.run.code == 0 and res.verdict == "pass" and sorted(_rows(res)) == sorted(PLATFORMS)
    res = _run(tmp_path, t, t.ref("multi"), keys["a"], ["linux/arm64/v8"])  # one spelling: arm64/v8 is arm64
    assert res.verdict == "pass" and list(_rows(res)) == ["linux/arm64"]


def test_one_platform_signed_by_another_key(tmp_path: Path, on_fallback: Target, cosign_v2: Cosign,
                                            keys: dict[str, KeyPair]) -> None:
    t = on_fallback
    _index, children = t.pusher.random_index(t.repo, "multi", PLATFORMS)
    cosign_v2.sign(t.ref(children[0]), keys["a"].private)
    cosign_v2.sign(t.ref(children[1]), keys["other"].private)
    res = _run(tmp_path, t, t.ref("multi"), keys["a"], "all")
    rows = _rows(res)
    assert res.verdict == "fail" and rows["linux/amd64"]["verdict"] == "pass"
    assert rows["linux/arm64"]["verdict"] == "fail"
    assert _codes(rows["linux/arm64"]) & {"NO_MATCHING_SIGNATURE", "INVALID_SIGNATURE"}
    assert _run(tmp_path, t, t.ref("multi"), keys["a"], ["linux/amd64"]).verdict == "pass"


def test_cosign3_recursive_bundles_on_the_referrers_registry(tmp_path: Path, on_referrers: Target,
                                                               cosign_v3: Cosign, keys: dict[str, KeyPair]) -> None:
    t = on_referrers
    index, children = t.pusher.random_index(t.repo, "multi", PLATFORMS)
    cosign_v3.sign(t.ref(index), keys["a"].private, extra=("--recursive",))
    for ref in (index, *children):
        assert cosign_v3.verify(t.ref(ref), keys["a"].public).code == 0
    res = _run(tmp_path, t, t.ref("multi"), keys["a"], "all")
    assert res.verdict == "pass", res.run.describe()
    assert {r["digest"] for r in res.image["platforms"]} == set(children)
    assert all(r["signatures"][0]["format"] == "sigstore-bundle" for r in res.image["platforms"])


def test_single_platform_image_under_a_platform_list(tmp_path: Path, on_fallback: Target, cosign_v2: Cosign,
                                                     keys: dict[str, KeyPair]) -> None:
    """Not an index: the platform its config names must be one the list selects (the config is read by digest)."""
    t = on_fallback
    digest = t.pusher.random_image(t.repo, "amd", platform="linux/amd64")
    cosign_v2.sign(t.ref(digest), keys["a"].private)
    assert _run(tmp_path, t, t.ref("amd"), keys["a"], ["linux/amd64"]).verdict == "pass"
    assert _run(tmp_path, t, t.ref("amd"), keys["a"], "all").verdict == "pass"
    res = _run(tmp_path, t, t.ref("amd"), keys["a"], ["linux/amd64", "linux/arm64"])
    assert res.run.code == 1 and res.verdict == "fail"
    (missing,) = [r for r in res.image["reasons"] if r["code"] == "PLATFORM_MISSING"]
    assert missing["expected"] == "linux/arm64" and missing["found"] == "the image's platform: linux/amd64"
