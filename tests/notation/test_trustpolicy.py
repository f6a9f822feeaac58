"""Levels table, DN parsing, trustpolicy.json statement selection and configuration errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sigverify.errors import ConfigError
from sigverify.formats.notation import check_config
from sigverify.formats.notation.identity import DNError, parse_dn, parse_identities
from sigverify.formats.notation.levels import LevelError, resolve_level
from sigverify.models import Code, Descriptor
from tests.notation import signer as sg
from tests.notation.helpers import envelope_candidate, run

SUBJECT = Descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:" + "ab" * 32, 1234)


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("strict", ["enforce", "enforce", "enforce", "enforce", "enforce"]),
        ("permissive", ["enforce", "enforce", "log", "log", "log"]),
        ("audit", ["enforce", "log", "log", "log", "log"]),
        ("skip", ["skip", "skip", "skip", "skip", "skip"]),
    ],
)
def test_levels_table(level: str, expected: list[str]) -> None:
    lv = resolve_level(level)
    order = ["integrity", "authenticity", "authenticTimestamp", "expiry", "revocation"]
    assert [lv.action(c) for c in order] == expected


def test_overrides() -> None:
    lv = resolve_level("strict", {"revocation": "skip", "authentic_timestamp": "log"})
    assert lv.action("revocation") == "skip" and lv.action("authenticTimestamp") == "log"
    assert lv.action("authenticity") == "enforce"
    assert resolve_level("audit", {"authenticity": "enforce"}).action("authenticity") == "enforce"


@pytest.mark.parametrize(
    ("level", "overrides", "text"),
    [
        ("strict", {"integrity": "log"}, "integrity cannot be overridden"),
        ("strict", {"expiry": "skip"}, "cannot be skipped"),
        ("strict", {"bogus": "log"}, "unknown check"),
        ("strict", {"expiry": "warn"}, "unknown action"),
        ("skip", {"revocation": "log"}, "cannot be combined"),
        ("lenient", None, "unknown verification level"),
    ],
)
def test_bad_levels(level: str, overrides: dict[str, str] | None, text: str) -> None:
    with pytest.raises(LevelError, match=text):
        resolve_level(level, overrides)


def test_parse_dn_escapes_and_rules() -> None:
    assert parse_dn(r"C=US, ST=WA, O=Acme\, Inc., CN=a\+b") == {"C": "US", "ST": "WA", "O": "Acme, Inc.", "CN": "a+b"}
    assert parse_dn(r"c=US,st=WA,o=Caf\C3\A9") == {"C": "US", "ST": "WA", "O": "Café"}
    for bad, text in [
        ("C=US, ST=WA", "lacks O"),
        ("C=US, ST=WA, O=A, O=B", "repeats"),
        ("C=US+ST=WA, O=A", "multi-valued"),
        ("C=US, ST=WA, O=#0403414243", "hex-encoded"),
        ("C=US, ST, O=A", "no '='"),
    ]:
        with pytest.raises(DNError, match=text):
            parse_dn(bad)


def test_identity_list_rules() -> None:
    assert parse_identities(["*"]) == (True, ())
    with pytest.raises(DNError, match="cannot be combined"):
        parse_identities(["*", "x509.subject: C=US, ST=WA, O=A"])
    with pytest.raises(DNError, match="overlap"):
        parse_identities(["x509.subject: C=US, ST=WA, O=A", "x509.subject: C=US, ST=WA, O=A, CN=b"])
    with pytest.raises(DNError, match=r"only 'x509\.subject:'"):
        parse_identities(["x509.san: foo"])
    with pytest.raises(DNError, match="empty"):
        parse_identities([])


def _policy_doc(tmp_path: Path, statements: list[dict[str, Any]]) -> Path:
    path = tmp_path / "trustpolicy.json"
    path.write_text(json.dumps({"version": "1.0", "trustPolicies": statements}))
    return path


def _stmt(name: str, scopes: list[str], store: str, level: str = "strict", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "registryScopes": scopes,
        "signatureVerification": {"level": level, **extra},
        "trustStores": [f"ca:{store}"],
        "trustedIdentities": ["*"],
    }


@pytest.fixture(scope="module")
def signed() -> tuple[sg.Signer, bytes]:
    s = sg.self_signed()
    return s, sg.sign_jws(s, sg.payload(SUBJECT))


def _store_dir(tmp_path: Path, store: str, s: sg.Signer) -> Path:
    d = tmp_path / "ts" / "x509" / "ca" / store
    d.mkdir(parents=True)
    (d / "signer.pem").write_bytes(sg.pem(s.root))
    return tmp_path / "ts"


def test_exact_scope_wins_over_wildcard(tmp_path: Path, signed: tuple[sg.Signer, bytes]) -> None:
    s, env = signed
    store_dir = _store_dir(tmp_path, "good", s)
    (store_dir / "x509" / "ca" / "other").mkdir()
    (store_dir / "x509" / "ca" / "other" / "o.pem").write_bytes(sg.pem(sg.self_signed("other").root))
    doc = _policy_doc(tmp_path, [_stmt("wild", ["*"], "other"), _stmt("mine", ["localhost:5000/team/app"], "good")])
    cfg = {"trust_policy": str(doc), "trust_store_dir": str(store_dir)}
    cand = envelope_candidate(env, "application/jose+json", SUBJECT.digest)
    mine = run(cand, cfg, SUBJECT, repo="team/app")
    assert mine.ok, mine.reason
    assert mine.details["trust_policy"] == "mine" and mine.details["trust_policy_file"] == str(doc)
    other = run(cand, cfg, SUBJECT, repo="team/other")
    assert not other.ok and other.details["trust_policy"] == "wild"


def test_a_scope_in_another_spelling_still_wins_over_wildcard(
    tmp_path: Path, signed: tuple[sg.Signer, bytes]
) -> None:
    """Scopes are normalised like image names: a strict statement written `Localhost:05000/...` must not let the
    image fall through to a weaker `*` statement."""
    s, env = signed
    store_dir = _store_dir(tmp_path, "good", s)
    (store_dir / "x509" / "ca" / "other").mkdir()
    (store_dir / "x509" / "ca" / "other" / "o.pem").write_bytes(sg.pem(sg.self_signed("other").root))
    doc = _policy_doc(tmp_path, [_stmt("wild", ["*"], "other"), _stmt("mine", ["Localhost:05000/team/app"], "good")])
    cfg = {"trust_policy": str(doc), "trust_store_dir": str(store_dir)}
    cand = envelope_candidate(env, "application/jose+json", SUBJECT.digest)
    mine = run(cand, cfg, SUBJECT, repo="team/app")
    assert mine.ok, mine.reason
    assert mine.details["trust_policy"] == "mine"


def test_no_applicable_statement(tmp_path: Path, signed: tuple[sg.Signer, bytes]) -> None:
    s, env = signed
    store_dir = _store_dir(tmp_path, "good", s)
    doc = _policy_doc(tmp_path, [_stmt("mine", ["localhost:5000/team/app"], "good")])
    cand = envelope_candidate(env, "application/jose+json", SUBJECT.digest)
    result = run(cand, {"trust_policy": str(doc), "trust_store_dir": str(store_dir)}, SUBJECT, repo="elsewhere")
    assert not result.ok and result.reason is not None and result.reason.code == Code.NO_POLICY
    assert "localhost:5000/elsewhere" in result.reason.message


def test_policy_file_override_is_read(tmp_path: Path, signed: tuple[sg.Signer, bytes]) -> None:
    s, env = signed
    store_dir = _store_dir(tmp_path, "good", s)
    doc = _policy_doc(tmp_path, [_stmt("w", ["*"], "good", "permissive", override={"expiry": "enforce"})])
    cand = envelope_candidate(env, "application/jose+json", SUBJECT.digest)
    result = run(cand, {"trust_policy": str(doc), "trust_store_dir": str(store_dir)}, SUBJECT)
    assert result.ok and result.details["level"] == "permissive+overrides"


@pytest.mark.parametrize(
    ("statements", "text"),
    [
        ([_stmt("a", ["*"], "s"), _stmt("a", ["r.io/x"], "s")], "used twice"),
        ([_stmt("a", ["*", "r.io/x"], "s")], "wildcard scope"),
        ([_stmt("a", ["r.io/x:tag"], "s")], "registry/repository"),
        ([_stmt("a", ["r.io/x"], "s"), _stmt("b", ["r.io/x"], "s")], "appears in statements"),
        ([_stmt("a", ["R.io:443/x"], "s"), _stmt("b", ["r.io/x"], "s")], "appears in statements"),
        ([_stmt("a", ["index.docker.io/library/x"], "s"), _stmt("b", ["docker.io/library/x"], "s")],
         "'docker.io/library/x' appears in statements"),
        ([_stmt("a", ["r.io:99999/x"], "s")], "cannot be normalised"),
        ([_stmt("a", ["*"], "s", "skip")], "must not name trust stores"),
        ([{**_stmt("a", ["*"], "s"), "trustStores": ["x509:s"]}], "must be ca:NAME"),
        ([_stmt("a", ["*"], "s", "strict", override={"integrity": "log"})], "integrity cannot"),
    ],
)
def test_invalid_policy_documents(tmp_path: Path, statements: list[dict[str, Any]], text: str) -> None:
    doc = _policy_doc(tmp_path, statements)
    cand = envelope_candidate(b"{}", "application/jose+json", SUBJECT.digest)
    with pytest.raises(ConfigError, match=text):
        run(cand, {"trust_policy": str(doc), "trust_store_dir": str(tmp_path)}, SUBJECT)
    with pytest.raises(ConfigError, match=text):
        check_config("a", {"trust_policy": str(doc), "trust_store_dir": str(tmp_path)})


@pytest.mark.parametrize(
    ("cfg", "text"),
    [
        ({"trusted_identities": ["*"]}, "trust_store"),
        ({"trust_store": "/nonexistent/store", "trusted_identities": ["*"]}, "does not exist"),
        ({"trust_store": "STORE", "trusted_identities": []}, "empty"),
        ({"trust_store": "STORE", "trusted_identities": ["CN=x"]}, "separator"),
        ({"trust_store": "STORE", "trusted_identities": ["*"], "metadata": {"n": 1}}, "metadata"),
        ({"trust_store": "STORE", "trusted_identities": ["*"], "verify_timestamp": "never"}, "verify_timestamp"),
        ({"trust_store": "STORE", "trusted_identities": ["*"], "tsa_store": "STORE"}, "self-signed root CA"),
    ],
)
def test_direct_config_errors(tmp_path: Path, cfg: dict[str, Any], text: str) -> None:
    store = tmp_path / "leaf.pem"
    store.write_bytes(sg.pem(sg.self_signed().root))
    cfg = {k: (str(store) if v == "STORE" else v) for k, v in cfg.items()}
    with pytest.raises(ConfigError, match=text):
        check_config("a", cfg)


def test_trust_store_rejects_a_non_ca_intermediate_signer(tmp_path: Path) -> None:
    chain = sg.ca_chain()
    store = tmp_path / "leaf.pem"
    store.write_bytes(sg.pem(chain.chain[0]))  # a leaf issued by a CA: neither CA nor self-signed
    with pytest.raises(ConfigError, match="neither a CA nor a self-signed"):
        check_config("a", {"trust_store": str(store), "trusted_identities": ["*"]})


def test_importing_the_package_loads_no_crypto_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, sigverify.formats.notation as n; "
        "heavy = [m for m in ('cryptography', 'cbor2', 'rfc3161_client', 'asn1crypto') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
