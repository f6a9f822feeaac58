"""A threshold counts distinct signers: one key (however written), one KMS key or one certificate identity counts
once, whatever the authorities that accept it are called."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from sigverify.cli import main
from sigverify.crypto import keys
from sigverify.evaluate import evaluate_policy, image_verdict, max_matching
from sigverify.models import Candidate, Code, Descriptor, SignatureCheck, Verdict
from sigverify.policy.model import Authority, KeyRef, Location, Matcher, Policy
from tests.fixtures.cosign_sign import generate_key, sign_image, verify_candidate

LOC = Location("test.yaml", 1)
D = "sha256:" + "1" * 64
ISSUER = "https://token.actions.githubusercontent.com"
BEACON = ("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/"
          "extremely-dangerous-oidc-beacon.yml@refs/heads/main")


def _policy(*authorities: Authority, threshold: int) -> Policy:
    return Policy(name="p", match=(Matcher("x/**", re.compile(".*")),), authorities=authorities, location=LOC,
                  threshold=threshold)


def _key_authority(name: str, pem: bytes, source: str) -> Authority:
    return Authority(name=name, location=LOC, key=KeyRef(source=source, pem=pem), tlog="ignore")


def _cand() -> Candidate:
    layer = Descriptor("application/vnd.dev.cosign.simplesigning.v1+json", D, 10)
    return Candidate(format="cosign-classic", storage="tag x.sig", subject_digest=D, manifest_digest=D, layer=layer,
                     content=b"{}")


def _ok(authority: str, signer_id: str | None, **details: object) -> SignatureCheck:
    return SignatureCheck(format="cosign-classic", storage="tag x.sig", layer_digest=D, authority=authority, ok=True,
                          details=details, signer_id=signer_id)


@pytest.fixture(autouse=True)
def _fresh_key_cache() -> None:
    keys.CACHE.clear()


def test_one_rsa_key_as_spki_pkcs1_and_kms_env_is_one_signer(monkeypatch: pytest.MonkeyPatch) -> None:
    key = generate_key("rsa2048")
    layer = sign_image(key, D)
    pkcs1 = key.private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    assert pkcs1 != key.public_pem and b"RSA PUBLIC KEY" in pkcs1
    monkeypatch.setenv("SV_THRESHOLD_KEY", key.public_pem.decode())
    spki = verify_candidate(layer.candidate(D), key_pem=key.public_pem, source="path:a.pub")
    rsa = verify_candidate(layer.candidate(D), key_pem=pkcs1, source="inline pem")
    kms = verify_candidate(layer.candidate(D), kms="env://SV_THRESHOLD_KEY", source="kms:env://SV_THRESHOLD_KEY")
    assert spki.ok and rsa.ok and kms.ok
    assert spki.signer_id == rsa.signer_id == kms.signer_id == "spki:" + key.fingerprint.removeprefix("sha256:")
    other = verify_candidate(sign_image(generate_key("rsa2048"), D).candidate(D), key_pem=key.public_pem)
    assert not other.ok and other.signer_id is None  # a failed check names no signer to count


def test_issue_case_two_spellings_of_one_key_one_signature_fails_at_evaluation() -> None:
    """Built without the loader (which refuses this policy): `path:` and `pem:` of one key, threshold 2."""
    key = generate_key("p256")
    layer = sign_image(key, D)
    pkcs8_pem = key.public_pem
    a = _key_authority("release", pkcs8_pem, "path:release.pub")
    b = _key_authority("release-inline", pkcs8_pem.replace(b"\n", b"\r\n"), "inline pem")
    from sigverify.crypto.trustroot import TrustStore
    from sigverify.formats.base import VerifyContext
    from sigverify.formats.cosign_sig.key import VERIFIER
    from sigverify.models import ImageRef

    ctx = VerifyContext(image=ImageRef("registry.test", "team/app", digest=D), digest=D,
                        subject=Descriptor("application/vnd.oci.image.manifest.v1+json", D, 0),
                        trust=TrustStore("embedded"))
    checks = {x.name: [VERIFIER.verify(layer.candidate(D), x, ctx)] for x in (a, b)}
    assert all(c.ok for cs in checks.values() for c in cs)
    r = evaluate_policy(_policy(a, b, threshold=2), checks, [layer.candidate(D)])
    assert not r.passed and image_verdict([r]) is Verdict.FAIL
    head = r.reasons[0]
    assert head.code == Code.THRESHOLD_NOT_MET
    assert head.message == "1 of the required 2 distinct signers verified"
    assert head.found is not None and "release, release-inline share one signer (spki sha256:" in head.found
    assert r.verified_by == ("release",)


def test_two_keys_two_signatures_still_pass() -> None:
    a, b = generate_key("p256"), generate_key("ed25519")
    ca = verify_candidate(sign_image(a, D).candidate(D), key_pem=a.public_pem)
    cb = verify_candidate(sign_image(b, D).candidate(D), key_pem=b.public_pem)
    auths = (_key_authority("a", a.public_pem, "a"), _key_authority("b", b.public_pem, "b"))
    r = evaluate_policy(_policy(*auths, threshold=2), {"a": [ca], "b": [cb]}, [_cand()])
    assert r.passed and r.verified_by == ("a", "b") and image_verdict([r]) is Verdict.PASS


def test_ok_check_without_a_signer_counts_for_nothing() -> None:
    auth = _key_authority("a", b"x", "a")
    r = evaluate_policy(_policy(auth, threshold=1), {"a": [_ok("a", None)]}, [_cand()])
    assert not r.passed and r.reasons[0].code == Code.THRESHOLD_NOT_MET
    assert r.reasons[0].found is not None and "no identifiable signer" in r.reasons[0].found
    assert image_verdict([r]) is Verdict.FAIL


def test_maximum_matching_not_first_come() -> None:
    """b accepts signers X and Y, a only X: a greedy count that gives X to b first would see one signer."""
    auths = (_key_authority("b", b"x", "b"), _key_authority("a", b"y", "a"))
    checks = {"b": [_ok("b", "spki:X"), _ok("b", "spki:Y")], "a": [_ok("a", "spki:X")]}
    r = evaluate_policy(_policy(*auths, threshold=2), checks, [_cand()])
    assert r.passed and r.verified_by == ("b", "a")
    assert max_matching(["b", "a"], {"b": {"spki:X", "spki:Y"}, "a": {"spki:X"}}) == {"b": "spki:Y", "a": "spki:X"}
    three = (*auths, _key_authority("c", b"z", "c"))
    r = evaluate_policy(_policy(*three, threshold=3), {**checks, "c": [_ok("c", "spki:Y")]}, [_cand()])
    assert not r.passed and r.reasons[0].message == "2 of the required 3 distinct signers verified"


def test_clean_matching_first_then_warn() -> None:
    auths = (_key_authority("a", b"x", "a"), _key_authority("b", b"y", "b"))
    logged = _ok("b", "spki:Y", warnings=["expiry: the signature expired"])
    r = evaluate_policy(_policy(*auths, threshold=2), {"a": [_ok("a", "spki:X")], "b": [logged]}, [_cand()])
    assert r.passed and [w.authority for w in r.warnings] == ["b"]
    assert image_verdict([r]) is Verdict.WARN
    # the logged check is by the signer a already counts: it adds nothing
    same = _ok("b", "spki:X", warnings=["expiry: the signature expired"])
    r = evaluate_policy(_policy(*auths, threshold=2), {"a": [_ok("a", "spki:X")], "b": [same]}, [_cand()])
    assert not r.passed and r.reasons[0].code == Code.THRESHOLD_NOT_MET


def test_one_keyless_identity_matched_by_two_regexp_authorities_counts_once(
        tmp_path: Path, vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A real Sigstore bundle (conformance vector), two authorities whose regexps both accept its identity."""
    base = vectors / "sigstore-conformance/test/assets/bundle-verify"
    broad = {"issuer": ISSUER, "subject_regexp": "https://github.com/sigstore-conformance/.*"}
    narrow = {"issuer": ISSUER, "subject_regexp": ".*extremely-dangerous-oidc-beacon[.]yml@refs/heads/main"}

    def run(threshold: int) -> tuple[int, dict[str, object]]:
        cfg = tmp_path / "files.yaml"
        cfg.write_text(yaml.safe_dump({
            "version": 1,
            "files": [{"path": str(base / "a.txt"), "bundle": str(base / "happy-path-v0.3/bundle.sigstore.json")}],
            "policies": [{"name": "release", "match": ["registry.invalid/**"], "threshold": threshold,
                          "authorities": [{"name": "org", "keyless": broad}, {"name": "beacon", "keyless": narrow}]}],
        }))
        code = main(["verify", "--config", str(cfg), "--offline", "--format", "json", "--ci", "none"])
        image: dict[str, object] = json.loads(capsys.readouterr().out)["images"][0]
        return code, image

    code, image = run(1)
    assert code == 0 and image["verdict"] == "pass"
    code, image = run(2)
    assert code == 1 and image["verdict"] == "fail"
    reasons = image["reasons"]
    assert isinstance(reasons, list)
    assert reasons[0]["code"] == "THRESHOLD_NOT_MET"
    assert f"org, beacon share one signer (fulcio {ISSUER} / {BEACON})" in reasons[0]["found"]
