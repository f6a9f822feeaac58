"""An image with only a verified attestation fails and says why: an attestation is not a signature, and how to
require it as an attestation."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from sigverify.crypto.trustroot import TrustStore
from sigverify.evaluate import evaluate_policy
from sigverify.formats import sigstore_bundle as bundle
from sigverify.models import Code
from sigverify.policy.model import Location, Matcher, Policy
from tests.fixtures.testsigstore import GITHUB_ISSUER, WORKFLOW, TestSigstore, statement
from tests.sigstore.helpers import bundle_candidate, context, keyless

DIGEST_HEX = hashlib.sha256(b"the image manifest").hexdigest()
DIGEST = "sha256:" + DIGEST_HEX
SLSA = "https://slsa.dev/provenance/v1"


def test_attestation_only_image(test_sigstore: TestSigstore, tmp_path: Path) -> None:
    trust = TrustStore(str(test_sigstore.write_trusted_root(tmp_path)))
    authority = keyless("release", WORKFLOW, GITHUB_ISSUER)
    cand = bundle_candidate(test_sigstore.dsse_bundle(statement(DIGEST_HEX, SLSA, predicate={"v": 1})), DIGEST)
    check = bundle.VERIFIER.verify(cand, authority, context(DIGEST, trust))
    assert check.ok and check.facts.kind == "attestation"  # verified, as an attestation

    policy = Policy(name="prod", match=(Matcher("x/**", re.compile(".*")),), authorities=(authority,),
                    location=Location("sigverify.yaml", 3))
    result = evaluate_policy(policy, {"release": [check]}, [cand], looked_in=["referrers API"])
    assert not result.passed and result.verified_by == ()
    head, per_authority = result.reasons
    assert head.code == Code.NO_MATCHING_SIGNATURE
    assert "only 1 verified attestation(s) (verified by release)" in head.message
    assert "an attestation is not a signature" in head.message
    assert f"attestations: [{{predicate_type: {SLSA}, authorities: [release]}}]" in head.message
    assert "add to policy 'prod'" in head.message
    assert head.found == f"verified attestation(s), not signatures: sigstore-bundle {SLSA}"
    assert per_authority.code == Code.NO_MATCHING_SIGNATURE and per_authority.authority == "release"
    assert "verified an attestation, which is not a signature" in per_authority.message
    assert per_authority.found == f"verified attestation(s): sigstore-bundle {SLSA}"


def test_a_failed_attestation_is_not_reported_as_verified(test_sigstore: TestSigstore, tmp_path: Path) -> None:
    trust = TrustStore(str(test_sigstore.write_trusted_root(tmp_path)))
    authority = keyless("release", "https://github.com/acme/other/.github/workflows/x.yml@refs/heads/main",
                        GITHUB_ISSUER)
    cand = bundle_candidate(test_sigstore.dsse_bundle(statement(DIGEST_HEX, SLSA, predicate={"v": 1})), DIGEST)
    check = bundle.VERIFIER.verify(cand, authority, context(DIGEST, trust))
    assert not check.ok
    policy = Policy(name="prod", match=(Matcher("x/**", re.compile(".*")),), authorities=(authority,),
                    location=Location("sigverify.yaml", 3))
    head = evaluate_policy(policy, {"release": [check]}, [cand]).reasons[0]
    assert head.code == Code.IDENTITY_MISMATCH and "attestation" not in head.message


def test_reports_call_a_verified_attestation_an_attestation(test_sigstore: TestSigstore, tmp_path: Path) -> None:
    from sigverify.models import ImageResult, RunResult, Verdict
    from sigverify.report import markdown, text

    trust = TrustStore(str(test_sigstore.write_trusted_root(tmp_path)))
    authority = keyless("release", WORKFLOW, GITHUB_ISSUER)
    cand = bundle_candidate(test_sigstore.dsse_bundle(statement(DIGEST_HEX, SLSA, predicate={"v": 1})), DIGEST)
    check = bundle.VERIFIER.verify(cand, authority, context(DIGEST, trust))
    policy = Policy(name="prod", match=(Matcher("x/**", re.compile(".*")),), authorities=(authority,),
                    location=Location("sigverify.yaml", 3))
    pr = evaluate_policy(policy, {"release": [check]}, [cand])
    img = ImageResult(reference="registry.test/repo:1", resolved=f"registry.test/repo@{DIGEST}", digest=DIGEST,
                      verdict=Verdict.FAIL, policies=(pr,), reasons=pr.reasons, signatures=(check,))
    run = RunResult(images=(img,))
    assert "[release] verified attestation (not a signature)" in text.render(run)
    assert "✅ verified attestation (not a signature)" in markdown.render(run)
