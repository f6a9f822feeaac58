"""Policy evaluation: thresholds over distinct authorities, the most specific reason first, warnings."""

from __future__ import annotations

import re

from sigverify.evaluate import evaluate_policy, image_verdict
from sigverify.models import Candidate, Code, Descriptor, Reason, SignatureCheck, Verdict
from sigverify.policy.model import Authority, KeyRef, Location, Matcher, Policy

LOC = Location("test.yaml", 1)
D = "sha256:" + "1" * 64


def _authority(name: str) -> Authority:
    return Authority(name=name, location=LOC, key=KeyRef(source=f"path:{name}.pub", pem=b"x"))


def _policy(*names: str, threshold: int = 1, mode: str = "enforce") -> Policy:
    return Policy(name="p", match=(Matcher("x/**", re.compile(".*")),),
                  authorities=tuple(_authority(n) for n in names), location=LOC, threshold=threshold,
                  mode=mode)  # type: ignore[arg-type]


def _cand(i: int) -> Candidate:
    layer = Descriptor("application/vnd.dev.cosign.simplesigning.v1+json", f"sha256:{i:064d}", 10)
    return Candidate(format="cosign-classic", storage="tag x.sig", subject_digest=D, manifest_digest=D, layer=layer,
                     content=b"{}")


def _check(authority: str, ok: bool, code: str | None = None, *, signer_id: str | None = None,
           **details: object) -> SignatureCheck:
    """A check by ``authority``; an ok one is signed by the authority's own key unless ``signer_id`` says who."""
    reason = Reason(code, f"{code} happened", expected="e", found="f") if code else None
    sid = (signer_id or f"spki:{authority}") if ok else None
    return SignatureCheck(format="cosign-classic", storage="tag x.sig", layer_digest=D, authority=authority, ok=ok,
                          reason=reason, details=details, signer_id=sid)


def test_no_candidates_is_no_signature() -> None:
    r = evaluate_policy(_policy("a"), {"a": []}, [], looked_in=["tag sha256-x.sig"])
    assert not r.passed
    assert r.reasons[0].code == Code.NO_SIGNATURE
    assert "tag sha256-x.sig" in r.reasons[0].message


def test_wrong_key_is_no_matching_signature_naming_the_key() -> None:
    r = evaluate_policy(_policy("a"), {"a": [_check("a", False, Code.INVALID_SIGNATURE)]}, [_cand(1)])
    assert [x.code for x in r.reasons] == [Code.NO_MATCHING_SIGNATURE, Code.INVALID_SIGNATURE]
    assert "path:a.pub" in r.reasons[0].message


def test_most_specific_reason_leads() -> None:
    checks = {"a": [_check("a", False, Code.INVALID_SIGNATURE), _check("a", False, Code.DIGEST_MISMATCH)]}
    r = evaluate_policy(_policy("a"), checks, [_cand(1), _cand(2)])
    assert r.reasons[0].code == Code.DIGEST_MISMATCH
    assert r.reasons[0].authority == "a"


def test_threshold_counts_distinct_authorities() -> None:
    two_sigs_same_key = {"a": [_check("a", True), _check("a", True)], "b": [_check("b", False, Code.INVALID_SIGNATURE)]}
    r = evaluate_policy(_policy("a", "b", threshold=2), two_sigs_same_key, [_cand(1), _cand(2)])
    assert not r.passed
    assert r.reasons[0].code == Code.THRESHOLD_NOT_MET
    assert r.verified_by == ("a",)
    r = evaluate_policy(_policy("a", "b", threshold=2), {"a": [_check("a", True)], "b": [_check("b", True)]},
                        [_cand(1), _cand(2)])
    assert r.passed and r.verified_by == ("a", "b")


def test_attestations_do_not_count_as_signatures() -> None:
    r = evaluate_policy(_policy("a"), {"a": [_check("a", True, kind="attestation")]}, [_cand(1)])
    assert not r.passed


def test_logged_failures_pass_only_as_warning() -> None:
    r = evaluate_policy(_policy("a"), {"a": [_check("a", True, warnings=["expiry: signature expired"])]}, [_cand(1)])
    assert r.passed and r.warnings and r.warnings[0].code == Code.VERIFICATION_WARNING
    assert image_verdict([r]) is Verdict.WARN
    clean = evaluate_policy(_policy("a"), {"a": [_check("a", True, warnings=["x"]), _check("a", True)]}, [_cand(1)])
    assert clean.passed and not clean.warnings
    assert image_verdict([clean]) is Verdict.PASS


def test_all_policies_must_pass_and_warn_mode_warns() -> None:
    ok = evaluate_policy(_policy("a"), {"a": [_check("a", True)]}, [_cand(1)])
    bad = evaluate_policy(_policy("a"), {"a": []}, [])
    bad_warn = evaluate_policy(_policy("a", mode="warn"), {"a": []}, [])
    assert image_verdict([ok, bad]) is Verdict.FAIL
    assert image_verdict([ok, bad_warn]) is Verdict.WARN
    assert image_verdict([ok]) is Verdict.PASS


def test_registry_problem_without_candidates_is_an_error_verdict() -> None:
    problem = Reason(Code.REGISTRY_ERROR, "500 from registry")
    r = evaluate_policy(_policy("a"), {"a": []}, [], problems=[problem])
    assert r.reasons[0].code == Code.REGISTRY_ERROR
    assert image_verdict([r]) is Verdict.ERROR
