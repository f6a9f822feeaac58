"""sigverify vs the real `notation verify` on images signed by notation (JWS and COSE) in real local registries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.interop.conftest import Target
from tests.interop.oci import sig_tag
from tests.interop.tools import Notation, SigverifyDisagrees, expect, run, sigverify, write_config

pytestmark = pytest.mark.peers

NOTATION = "needs Notary Project signature verification (issue 6)"
# ONE table for the lead: case -> capability it needs (None = built); see tests/interop/test_cosign.py.
NEEDS: dict[str, str | None] = {
    "notation-jws-referrers-api": None,
    "notation-cose-referrers-api": None,
    "notation-jws-tag-fallback": None,
    "notation-cose-tag-fallback": None,
    "notation-untrusted-certificate": None,
    "notation-unsigned": None,
    "notation-user-metadata": None,
}


def _xfail(name: str) -> list[pytest.MarkDecorator]:
    need = NEEDS[name]
    return [] if need is None else [pytest.mark.xfail(strict=True, raises=SigverifyDisagrees, reason=need)]


def notation_authority(name: str, cert: Path, metadata: dict[str, str] | None = None) -> dict[str, Any]:
    n: dict[str, Any] = {"trust_store": str(cert), "trusted_identities": ["*"], "level": "strict"}
    if metadata:
        n["metadata"] = metadata
    return {"name": name, "notation": n}


def _sign(n: Notation, t: Target, fmt: str, via_referrers_api: bool, *more: str) -> tuple[str, Path]:
    digest = t.pusher.random_image(t.repo, "v1")
    cert = n.generate_test_cert("interop")
    n.trust_policy("interop")
    extra = ["--force-referrers-tag=false"] if via_referrers_api else []
    extra += more
    run([n.binary, "sign", "--insecure-registry", "--key", "interop", "--signature-format", fmt, *extra,
         t.ref(digest)], n.env, check=True)
    return digest, cert


def _run_case(tmp_path: Path, n: Notation, t: Target, fmt: str, referrers_api: bool) -> None:
    digest, cert = _sign(n, t, fmt, referrers_api)
    fallback_tag = t.pusher.exists(t.repo, sig_tag(digest, ""))
    where = "the referrers tag" if fallback_tag else "the referrers API only"
    assert fallback_tag != referrers_api, f"notation stored the signature through {where}"
    r = n.verify(t.ref(digest))
    assert r.code == 0, f"notation verify rejected its own signature (test setup):\n{r.describe()}"
    cfg = write_config(tmp_path / "sv.yaml", [t.ref("v1")], t.host, [notation_authority("n", cert)])
    expect(sigverify(cfg), "pass", why=f"notation verify accepts the {fmt} signature")


@pytest.mark.parametrize(
    "fmt", [pytest.param("jws", marks=_xfail("notation-jws-referrers-api")),
            pytest.param("cose", marks=_xfail("notation-cose-referrers-api"))]
)
def test_notation_referrers_api(tmp_path: Path, on_referrers: Target, notation_tool: Notation, fmt: str) -> None:
    _run_case(tmp_path, notation_tool, on_referrers, fmt, referrers_api=True)


@pytest.mark.parametrize(
    "fmt", [pytest.param("jws", marks=_xfail("notation-jws-tag-fallback")),
            pytest.param("cose", marks=_xfail("notation-cose-tag-fallback"))]
)
def test_notation_tag_fallback(tmp_path: Path, on_fallback: Target, notation_tool: Notation, fmt: str) -> None:
    _run_case(tmp_path, notation_tool, on_fallback, fmt, referrers_api=False)


@pytest.mark.parametrize("name", [pytest.param("notation-untrusted-certificate",
                                               marks=_xfail("notation-untrusted-certificate"))])
def test_notation_untrusted_certificate(tmp_path: Path, on_referrers: Target, notation_tool: Notation,
                                        name: str) -> None:
    n, t = notation_tool, on_referrers
    digest, _cert = _sign(n, t, "jws", True)
    other = n.generate_test_cert("other")  # a second self-signed test CA, in trust store ca/other
    n.trust_policy("other")
    r = n.verify(t.ref(digest))
    assert r.code != 0, f"notation verify accepted a signature outside its trust store:\n{r.describe()}"
    cfg = write_config(tmp_path / "sv.yaml", [t.ref("v1")], t.host, [notation_authority("n", other)])
    expect(sigverify(cfg), "fail", {"NO_MATCHING_SIGNATURE", "CERTIFICATE_INVALID"},
           why="signed under a certificate the trust store does not hold")


@pytest.mark.parametrize("name", [pytest.param("notation-unsigned", marks=_xfail("notation-unsigned"))])
def test_notation_unsigned(tmp_path: Path, on_referrers: Target, notation_tool: Notation, name: str) -> None:
    n, t = notation_tool, on_referrers
    digest = t.pusher.random_image(t.repo, "v1")
    cert = n.generate_test_cert("interop")
    n.trust_policy("interop")
    r = n.verify(t.ref(digest))
    assert r.code != 0, f"notation verify accepted an unsigned image:\n{r.describe()}"
    cfg = write_config(tmp_path / "sv.yaml", [t.ref("v1")], t.host, [notation_authority("n", cert)])
    expect(sigverify(cfg), "fail", {"NO_SIGNATURE"}, why="nothing stored for the digest")


@pytest.mark.parametrize("name", [pytest.param("notation-user-metadata", marks=_xfail("notation-user-metadata"))])
@pytest.mark.parametrize("fmt", ["jws", "cose"])
def test_notation_user_metadata(tmp_path: Path, on_referrers: Target, notation_tool: Notation, fmt: str,
                                name: str) -> None:
    """`notation sign -m buildId=123`: required metadata that matches passes, other metadata fails, in both."""
    n, t = notation_tool, on_referrers
    digest, cert = _sign(n, t, fmt, True, "--user-metadata", "buildId=123")
    ok = run([n.binary, "verify", "--insecure-registry", "--user-metadata", "buildId=123", t.ref(digest)], n.env)
    assert ok.code == 0, ok.describe()
    bad = run([n.binary, "verify", "--insecure-registry", "--user-metadata", "buildId=999", t.ref(digest)], n.env)
    assert bad.code != 0, bad.describe()
    auth = notation_authority("n", cert, {"buildId": "123"})
    expect(sigverify(write_config(tmp_path / "ok.yaml", [t.ref("v1")], t.host, [auth])), "pass",
           why="the signed metadata has buildId=123")
    auth = notation_authority("n", cert, {"buildId": "999"})
    cfg = write_config(tmp_path / "bad.yaml", [t.ref("v1")], t.host, [auth])
    expect(sigverify(cfg), "fail", why="the signed metadata has buildId=123, policy wants 999")
