"""Tests written for mutants that survived the mutation run (tests/mutation/): each pins one decision."""

from __future__ import annotations

import re

from sigverify.crypto.fulcio import ISSUER_V1_OID, ISSUER_V2_OID, CertIdentity
from sigverify.evaluate import evaluate_policy
from sigverify.evaluate.attestations import _MISSING, select
from sigverify.models import Code, Reason, SignatureCheck
from sigverify.policy.model import Authority, KeyRef, Location, Matcher, Policy

LOC = Location("test.yaml", 1)
D = "sha256:" + "1" * 64


def test_field_index_one_past_the_end_is_missing_not_an_error() -> None:
    predicate = {"materials": [{"uri": "a"}, {"uri": "b"}]}
    assert select({"field": "materials.1.uri"}, predicate) == "b"
    assert select({"field": "materials.2.uri"}, predicate) is _MISSING
    assert select({"field": "materials.x"}, predicate) is _MISSING


def test_claim_by_oid_is_that_extension_and_issuer_is_the_effective_issuer() -> None:
    legacy = CertIdentity("s", "uri", "https://legacy.example", {ISSUER_V1_OID: "https://legacy.example"})
    assert legacy.claim("issuer") == "https://legacy.example"  # effective issuer: .8, else .1
    assert legacy.claim(ISSUER_V2_OID) is None  # the .8 extension itself is absent
    assert legacy.claim(ISSUER_V1_OID) == "https://legacy.example"


def _authority(name: str) -> Authority:
    return Authority(name=name, location=LOC, key=KeyRef(source=f"path:{name}.pub", pem=b"x"))


def test_every_failing_authority_is_reported_after_one_that_verified() -> None:
    policy = Policy(name="p", match=(Matcher("x/**", re.compile(".*")),),
                    authorities=(_authority("a"), _authority("b"), _authority("c")), location=LOC, threshold=2)
    ok = SignatureCheck("cosign-classic", "tag x.sig", D, "a", True, signer_id="spki:a")
    bad = [SignatureCheck("cosign-classic", "tag x.sig", D, n, False, Reason(Code.INVALID_SIGNATURE, f"{n} no"))
           for n in ("b", "c")]
    result = evaluate_policy(policy, {"a": [ok], "b": [bad[0]], "c": [bad[1]]}, [])
    assert [(r.code, r.authority) for r in result.reasons] == [
        (Code.THRESHOLD_NOT_MET, None), (Code.INVALID_SIGNATURE, "b"), (Code.INVALID_SIGNATURE, "c")]
