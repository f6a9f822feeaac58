"""Attestation requirements (sigverify/attest.py): predicate type, authorities, JMESPath / field conditions."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from sigverify.crypto.trustroot import TrustStore
from sigverify.evaluate.attestations import check_requirement, condition_problems, json_equal
from sigverify.formats.sigstore_bundle import VERIFIER as BUNDLE
from sigverify.models import Code, Format, Reason, SignatureCheck
from sigverify.policy.model import AttestationRequirement
from tests.fixtures.testsigstore import GITHUB_ISSUER, WORKFLOW, TestSigstore, statement
from tests.sigstore.helpers import bundle_candidate, context, keyless

SLSA = "https://slsa.dev/provenance/v1"
VULN = "https://cosign.sigstore.dev/attestation/vuln/v1"
PREDICATE = {
    "buildDefinition": {"buildType": "https://actions.github.io/buildtypes/workflow/v1",
                        "externalParameters": {"workflow": {"ref": "refs/tags/v1.2.3", "repository": "acme/app"}}},
    "runDetails": {"builder": {"id": "https://github.com/actions/runner/github-hosted"}},
    "materials": [{"uri": "git+https://github.com/acme/app"}],
    "count": 3,
    "signed": True,
}


def _att(predicate: Any = PREDICATE, *, ptype: str = SLSA, authority: str = "release", ok: bool = True,
         subject_ok: bool = True) -> SignatureCheck:
    details: dict[str, Any] = {"kind": "attestation", "predicate_type": ptype, "predicate": predicate}
    if subject_ok:
        details["statement_subject_ok"] = True
    return SignatureCheck(Format.SIGSTORE_BUNDLE, "referrers API", "sha256:" + "1" * 64, authority, ok,
                          reason=None if ok else Reason(Code.INVALID_SIGNATURE, "bad"), details=details)


def _req(*conditions: dict[str, Any], authorities: tuple[str, ...] = ("release",)) -> AttestationRequirement:
    return AttestationRequirement(name="provenance", predicate_type=SLSA, authorities=authorities,
                                  conditions=tuple(conditions))


@pytest.mark.parametrize(("condition", "ok"), [
    ({"jmespath": "buildDefinition.externalParameters.workflow.ref", "equals": "refs/tags/v1.2.3"}, True),
    ({"jmespath": "buildDefinition.externalParameters.workflow.ref", "regexp": "refs/tags/v[0-9.]+"}, True),
    ({"jmespath": "buildDefinition.externalParameters.workflow.ref", "regexp": "v1"}, False),  # whole string
    ({"jmespath": "length(materials)", "equals": 1}, True),
    ({"jmespath": "materials[0].uri", "equals": "git+https://github.com/acme/app"}, True),
    ({"jmespath": "runDetails.builder.id", "equals": "https://github.com/actions/runner/self-hosted"}, False),
    ({"field": "buildDefinition.externalParameters.workflow.repository", "equals": "acme/app"}, True),
    ({"field": "materials.0.uri", "regexp": "git\\+https://github\\.com/acme/.*"}, True),
    ({"field": "count", "equals": 3}, True),
    ({"field": "count", "equals": "3"}, False),  # JSON types differ
    ({"field": "signed", "equals": 1}, False),  # a boolean never equals a number
    ({"field": "signed", "equals": True}, True),
    ({"field": "nope.missing", "equals": None}, False),  # absent is not null
    ({"field": "count", "regexp": "3"}, False),  # regexp only on strings
])
def test_conditions(condition: dict[str, Any], ok: bool) -> None:
    reason = check_requirement(_req(condition), [_att()])
    assert (reason is None) is ok, reason
    if not ok:
        assert reason is not None and reason.code == Code.ATTESTATION_MISMATCH
        assert reason.expected and reason.found


def test_missing_when_only_other_types() -> None:
    reason = check_requirement(_req(), [_att(ptype=VULN), SignatureCheck(
        Format.SIGSTORE_BUNDLE, "referrers API", "sha256:" + "2" * 64, "release", True,
        details={"kind": "signature"})])
    assert reason is not None and reason.code == Code.ATTESTATION_MISSING
    assert VULN in (reason.found or "")


def test_missing_when_no_attestations_at_all() -> None:
    reason = check_requirement(_req(), [])
    assert reason is not None and reason.code == Code.ATTESTATION_MISSING and reason.found == "no attestations"


def test_unverified_or_other_authority_or_unbound_do_not_count() -> None:
    for check in (_att(ok=False), _att(authority="someone-else"), _att(subject_ok=False)):
        reason = check_requirement(_req(), [check])
        assert reason is not None and reason.code == Code.ATTESTATION_MISSING, check
    reason = check_requirement(_req(), [_att(ok=False)])
    assert reason is not None and "not verified" in (reason.found or "")


def test_any_one_verified_attestation_meeting_all_conditions_suffices() -> None:
    cond1 = {"field": "count", "equals": 3}
    cond2 = {"jmespath": "runDetails.builder.id", "regexp": ".*/github-hosted"}
    bad = dict(PREDICATE, count=4)
    assert check_requirement(_req(cond1, cond2), [_att(bad), _att()]) is None
    reason = check_requirement(_req(cond1, cond2), [_att(bad), _att(bad)])
    assert reason is not None and reason.code == Code.ATTESTATION_MISMATCH and "2 verified" in reason.message


def test_accepts_any_named_authority() -> None:
    assert check_requirement(_req(authorities=("a", "release")), [_att()]) is None


def test_invalid_jmespath_is_a_mismatch_with_the_error() -> None:
    reason = check_requirement(_req({"jmespath": "foo[", "equals": 1}), [_att()])
    assert reason is not None and "invalid JMESPath" in (reason.found or "")


def test_condition_problems() -> None:
    assert condition_problems({"jmespath": "a.b", "equals": 1}) == []
    assert condition_problems({"jmespath": "a[", "equals": 1})
    assert condition_problems({"field": "a", "regexp": "("})
    assert condition_problems({"field": "a", "jmespath": "a", "equals": 1})
    assert condition_problems({"field": "a"})


def test_json_equal() -> None:
    assert json_equal({"a": [1, 2.0]}, {"a": [1.0, 2]})
    assert not json_equal({"a": True}, {"a": 1})
    assert not json_equal([1], [1, 2])


def test_end_to_end_with_verified_bundles(test_sigstore: TestSigstore, tmp_path: Path) -> None:
    """Real verification results (test Sigstore) feed the requirement check."""
    trust = TrustStore(str(test_sigstore.write_trusted_root(tmp_path)))
    digest_hex = hashlib.sha256(b"image").hexdigest()
    digest = "sha256:" + digest_hex
    auth = keyless("release", WORKFLOW, GITHUB_ISSUER)
    ctx = context(digest, trust)
    checks = [
        BUNDLE.verify(bundle_candidate(test_sigstore.dsse_bundle(statement(digest_hex)), digest), auth, ctx),
        BUNDLE.verify(bundle_candidate(test_sigstore.dsse_bundle(statement(digest_hex, SLSA, predicate=PREDICATE)),
                                       digest), auth, ctx),
    ]
    assert all(c.ok for c in checks)
    cond = {"jmespath": "buildDefinition.externalParameters.workflow.ref", "equals": "refs/tags/v1.2.3"}
    assert check_requirement(_req(cond), checks) is None
    vuln = AttestationRequirement(name="vuln", predicate_type=VULN, authorities=("release",))
    reason = check_requirement(vuln, checks)
    assert reason is not None and reason.code == Code.ATTESTATION_MISSING
