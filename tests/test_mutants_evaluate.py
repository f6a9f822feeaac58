"""evaluate_policy decisions that surviving mutants showed untested (tests/mutation/survivors.md): one decision each."""

from __future__ import annotations

import re
from typing import Any

from sigverify.evaluate import evaluate_policy
from sigverify.evaluate.attestations import _MISSING, condition_problems, select
from sigverify.models import Candidate, Code, Descriptor, Reason, SignatureCheck
from sigverify.policy.model import AttestationRequirement, Authority, KeyRef, Location, Matcher, Policy

LOC = Location("test.yaml", 1)
D = "sha256:" + "1" * 64
SLSA = "https://slsa.dev/provenance/v1"


def _authority(name: str) -> Authority:
    return Authority(name=name, location=LOC, key=KeyRef(source=f"path:{name}.pub", pem=b"x"))


def _policy(*names: str, threshold: int = 1, attestations: tuple[AttestationRequirement, ...] = ()) -> Policy:
    return Policy(name="p", match=(Matcher("x/**", re.compile(".*")),),
                  authorities=tuple(_authority(n) for n in names), location=LOC, threshold=threshold,
                  attestations=attestations)


def _ok(name: str, signer: str, warnings: tuple[str, ...] = (), **details: Any) -> SignatureCheck:
    return SignatureCheck("cosign-classic", "tag x.sig", D, name, True, signer_id=f"spki:{signer}",
                          details={"warnings": list(warnings), **details})


def _bad(name: str, code: str, signer: str | None = None, **details: Any) -> SignatureCheck:
    return SignatureCheck("cosign-classic", "tag x.sig", D, name, False, Reason(code, f"{name}: {code}"),
                          signer_id=None if signer is None else f"spki:{signer}", details=details)


def _attestation(name: str, ok: bool = True, warnings: tuple[str, ...] = (), signer: str | None = None,
                 ) -> SignatureCheck:
    reason = None if ok else Reason(Code.INVALID_SIGNATURE, "att bad")
    return SignatureCheck("cosign-attestation", "tag x.att", D, name, ok, reason,
                          signer_id=None if signer is None else f"spki:{signer}",
                          details={"kind": "attestation", "predicate_type": SLSA, "predicate": {},
                                   "statement_subject_ok": True, "warnings": list(warnings)})


CANDIDATE = Candidate("cosign-classic", "tag x.sig", D, "sha256:" + "2" * 64,
                      Descriptor("application/vnd.dev.cosign.simplesigning.v1+json", "sha256:" + "3" * 64, 1), b"x")
NOTE = Reason(Code.REGISTRY_ERROR, "one signature manifest could not be read")


def _codes(reasons: tuple[Reason, ...] | list[Reason]) -> list[tuple[str, str | None]]:
    return [(r.code, r.authority) for r in reasons]


# -- threshold counting and the WARN path -------------------------------------------------------------------


def test_a_clean_signer_passes_without_the_warnings_of_another_signer_of_the_same_authority() -> None:
    # spki:0 (logged failure only) sorts before spki:1 (clean): a matching over all edges would pick the warned one
    checks = {"a": [_ok("a", "0", ("tlog entry not checked",)), _ok("a", "1")]}
    result = evaluate_policy(_policy("a"), checks, [])
    assert result.passed and result.verified_by == ("a",) and result.warnings == ()


def test_warn_path_skips_unmatched_authorities_and_warns_only_for_the_logged_match() -> None:
    checks = {"a": [_ok("a", "1", ("logged only",))], "b": []}
    result = evaluate_policy(_policy("a", "b"), checks, [])
    assert result.passed and [(w.code, w.authority, w.message) for w in result.warnings] == [
        (Code.VERIFICATION_WARNING, "a", "logged only")]


def test_warn_path_takes_the_warnings_of_the_matched_ok_signature_only() -> None:
    # a: its signer s1 is clean (another check of s1 warns first); b: only logged. Threshold 2 needs both.
    checks = {
        "a": [_ok("a", "1", ("a-logged",)), _ok("a", "1")],
        "b": [_attestation("b", warnings=("from an attestation",), signer="2"),
              _bad("b", Code.INVALID_SIGNATURE, "2", warnings=["from a failed check"]),
              _ok("b", "2", ("b-logged",))],
    }
    result = evaluate_policy(_policy("a", "b", threshold=2), checks, [])
    assert result.passed and result.threshold == 2
    assert [(w.authority, w.message) for w in result.warnings] == [("b", "b-logged")]


def test_an_authority_without_any_check_is_no_signer_and_no_crash() -> None:
    result = evaluate_policy(_policy("a", "b"), {"a": [_ok("a", "1")]}, [])
    assert result.passed and result.verified_by == ("a",)
    failed = evaluate_policy(_policy("a", "b", threshold=2), {"a": [_ok("a", "1")]}, [CANDIDATE])
    assert _codes(failed.reasons) == [(Code.THRESHOLD_NOT_MET, None), (Code.NO_MATCHING_SIGNATURE, "b")]


# -- which failure is reported --------------------------------------------------------------------------------


def test_a_failed_signature_is_reported_even_when_the_authority_also_verified_an_attestation() -> None:
    checks = {"a": [_ok("a", "1")], "b": [_bad("b", Code.DIGEST_MISMATCH), _attestation("b")]}
    result = evaluate_policy(_policy("a", "b", threshold=2), checks, [CANDIDATE])
    assert _codes(result.reasons) == [(Code.THRESHOLD_NOT_MET, None), (Code.DIGEST_MISMATCH, "b")]


def test_the_most_specific_failure_heads_the_list_by_rank_not_by_name() -> None:
    # TLOG_INVALID ranks before IDENTITY_MISMATCH (alphabetically it is after): the head is by rank
    checks = {"b": [_bad("b", Code.IDENTITY_MISMATCH)], "a": [_bad("a", Code.TLOG_INVALID)]}
    result = evaluate_policy(_policy("b", "a"), checks, [CANDIDATE])
    assert _codes(result.reasons) == [(Code.TLOG_INVALID, "a"), (Code.IDENTITY_MISMATCH, "b")]


def test_an_unranked_failure_code_loses_to_a_ranked_one() -> None:
    checks = {"a": [_bad("a", Code.NOT_FOUND), _bad("a", Code.INVALID_SIGNATURE)]}
    result = evaluate_policy(_policy("a"), checks, [CANDIDATE])
    assert _codes(result.reasons) == [(Code.NO_MATCHING_SIGNATURE, None), (Code.INVALID_SIGNATURE, "a")]


def test_a_failed_check_without_a_reason_is_no_reason_to_report() -> None:
    checks = {"a": [SignatureCheck("cosign-classic", "tag x.sig", D, "a", False)]}
    result = evaluate_policy(_policy("a"), checks, [CANDIDATE])
    assert _codes(result.reasons) == [(Code.NO_MATCHING_SIGNATURE, None), (Code.NO_MATCHING_SIGNATURE, "a")]


def test_a_failed_attestation_is_not_reported_as_a_verified_one() -> None:
    result = evaluate_policy(_policy("a"), {"a": [_attestation("a", ok=False)]}, [CANDIDATE])
    assert _codes(result.reasons) == [(Code.NO_MATCHING_SIGNATURE, None), (Code.INVALID_SIGNATURE, "a")]
    assert "only" not in result.reasons[0].message and "verified attestation" not in (result.reasons[0].found or "")


def test_registry_problems_are_kept_with_the_policy_name_on_every_failure_path() -> None:
    cases = [
        (_policy("a", "b", threshold=2), {"a": [_ok("a", "1")], "b": [_bad("b", Code.INVALID_SIGNATURE)]},
         Code.THRESHOLD_NOT_MET),
        (_policy("a"), {"a": [_bad("a", Code.DIGEST_MISMATCH)]}, Code.DIGEST_MISMATCH),
        (_policy("a"), {"a": [_attestation("a")]}, Code.NO_MATCHING_SIGNATURE),
        (_policy("a"), {"a": [_bad("a", Code.INVALID_SIGNATURE)]}, Code.NO_MATCHING_SIGNATURE),
    ]
    for policy, checks, head in cases:
        result = evaluate_policy(policy, checks, [CANDIDATE], [NOTE])
        assert result.reasons[0].code == head
        assert (result.reasons[-1].code, result.reasons[-1].policy) == (Code.REGISTRY_ERROR, "p")


# -- attestation requirements ---------------------------------------------------------------------------------


def test_a_missing_required_attestation_fails_a_met_threshold_and_drops_its_warnings() -> None:
    req = AttestationRequirement("provenance", SLSA, ("a",))
    policy = _policy("a", attestations=(req,))
    result = evaluate_policy(policy, {"a": [_ok("a", "1", ("logged only",))]}, [])
    assert not result.passed and result.warnings == ()
    assert [(r.code, r.policy, r.authority) for r in result.reasons] == [(Code.ATTESTATION_MISSING, "p", "a")]
    met = evaluate_policy(policy, {"a": [_ok("a", "1"), _attestation("a")]}, [])
    assert met.passed and met.reasons == ()


def test_select_does_not_index_into_a_string() -> None:
    assert select({"field": "name.0"}, {"name": "abc"}) is _MISSING


def test_a_regexp_condition_alone_is_well_formed() -> None:
    assert condition_problems({"field": "a", "regexp": "x"}) == []
    assert condition_problems({"field": "a", "equals": "x"}) == []
    assert len(condition_problems({"field": "a", "equals": "x", "regexp": "x"})) == 1
