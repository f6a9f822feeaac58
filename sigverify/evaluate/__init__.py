"""Turn signature checks into policy results: thresholds, attestation requirements, and every reason kept."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sigverify.models import Candidate, Code, PolicyResult, Reason, SignatureCheck, Verdict
from sigverify.policy.model import Authority, Policy

# The further a failed check got, the more it tells the user: a valid signature for another digest says more
# than "does not verify with this key". Lower rank = more specific.
_SPECIFICITY = [
    Code.DIGEST_MISMATCH,
    Code.ANNOTATION_MISMATCH,
    Code.TLOG_INVALID,
    Code.IDENTITY_MISMATCH,
    Code.EXPIRED,
    Code.REVOKED,
    Code.CERTIFICATE_INVALID,
    Code.INVALID_PAYLOAD,
    Code.KEY_ERROR,
    Code.INTERNAL_ERROR,
    Code.INVALID_SIGNATURE,
    Code.UNSUPPORTED_FORMAT,
]
_RANK: dict[str, int] = {code: i for i, code in enumerate(_SPECIFICITY)}
_POST_SIGNATURE = frozenset(_SPECIFICITY[:9])
# Failures whose cause is the registry (or a deadline on the way to it): an image they decide is an error, not a fail.
REGISTRY_CODES = frozenset({Code.AUTH_ERROR, Code.NOT_FOUND, Code.RATE_LIMITED, Code.REGISTRY_ERROR, Code.TIMEOUT})


def describe_authority(authority: Authority) -> str:
    """A short human label of what an authority trusts (never key material)."""
    if authority.key is not None:
        return f"{authority.name} (key {authority.key.source})"
    if authority.keyless is not None:
        ident = authority.keyless
        return f"{authority.name} (keyless issuer {ident.issuer}, subject {ident.subject})"
    if authority.notation is not None:
        return f"{authority.name} (Notary Project trust store)"
    return authority.name


def is_signature(check: SignatureCheck) -> bool:
    """Only signatures count toward a threshold; attestations satisfy attestation requirements only."""
    return check.facts.kind == "signature"


def _warnings_of(check: SignatureCheck) -> list[str]:
    return list(check.facts.warnings)


def signer_edges(authorities: Sequence[str], checks: Mapping[str, Sequence[SignatureCheck]], *,
                 clean_only: bool) -> dict[str, set[str]]:
    """authority -> the signer ids of its ok signature checks (clean ones only, or all). An ok check without a
    signer id is no edge: it counts for nothing."""
    edges: dict[str, set[str]] = {}
    for name in authorities:
        ids = {c.signer_id for c in checks.get(name, ()) if is_signature(c) and c.ok and c.signer_id
               and not (clean_only and _warnings_of(c))}
        if ids:
            edges[name] = {i for i in ids if i is not None}
    return edges


def max_matching(authorities: Sequence[str], edges: Mapping[str, set[str]]) -> dict[str, str]:
    """A maximum bipartite matching authority -> signer id (augmenting paths; authorities in policy order, signer
    ids sorted, so the result is deterministic)."""
    owner: dict[str, str] = {}  # signer id -> authority

    def augment(name: str, seen: set[str]) -> bool:
        for sid in sorted(edges.get(name, ())):
            if sid in seen:
                continue
            seen.add(sid)
            if sid not in owner or augment(owner[sid], seen):
                owner[sid] = name
                return True
        return False

    for name in authorities:
        augment(name, set())
    return {name: sid for sid, name in owner.items()}


def _best_failure(checks: Sequence[SignatureCheck]) -> Reason | None:
    failed = [c.reason for c in checks if not c.ok and c.reason is not None]
    if not failed:
        return None
    return min(failed, key=lambda r: _RANK.get(r.code, len(_RANK)))


def evaluate_policy(
    policy: Policy,
    checks: Mapping[str, Sequence[SignatureCheck]],
    candidates: Sequence[Candidate],
    problems: Sequence[Reason] = (),
    looked_in: Sequence[str] = (),
) -> PolicyResult:
    """Judge one policy. ``checks`` maps authority name -> its checks against every applicable candidate.

    A threshold counts distinct signers: authorities and the signers (``signer_id``) of their ok signature checks
    form a bipartite graph, and the threshold is met when a maximum matching (each authority and each signer used
    once) has ``threshold`` edges. Clean checks are matched first (pass); with the checks whose verification level
    only logs failures too, a met threshold warns."""
    order = [a.name for a in policy.authorities]
    clean_edges = signer_edges(order, checks, clean_only=True)
    all_edges = signer_edges(order, checks, clean_only=False)
    warnings: list[Reason] = []
    reasons: list[Reason] = []
    matched = max_matching(order, clean_edges)
    if len(matched) < policy.threshold:
        matched = max_matching(order, all_edges)
        if len(matched) >= policy.threshold:  # passes only thanks to logged checks: a WARN verdict
            for name in order:
                if name not in matched or matched[name] in clean_edges.get(name, set()):
                    continue
                warned = next((c for c in checks.get(name, ()) if is_signature(c) and c.ok
                               and c.signer_id == matched[name]), None)
                warnings.extend(Reason(Code.VERIFICATION_WARNING, w, policy=policy.name, authority=name)
                                for w in (_warnings_of(warned) if warned is not None else ()))
        else:
            reasons.extend(_signature_failure(policy, checks, candidates, problems, looked_in, matched, all_edges))
    verified = [name for name in order if name in matched]

    if policy.attestations:
        from sigverify.evaluate.attestations import (
            check_requirement,  # only policies with attestations pay for this import
        )

        all_checks = [c for cs in checks.values() for c in cs]
        for req in policy.attestations:
            reason = check_requirement(req, all_checks)
            if reason is not None:
                reasons.append(Reason(reason.code, reason.message, reason.expected, reason.found,
                                      policy=policy.name, authority=reason.authority))

    return PolicyResult(
        policy=policy.name,
        mode=policy.mode,
        passed=not reasons,
        threshold=policy.threshold,
        verified_by=tuple(verified),
        reasons=tuple(reasons),
        warnings=tuple(warnings) if not reasons else (),
    )


def _signature_failure(
    policy: Policy,
    checks: Mapping[str, Sequence[SignatureCheck]],
    candidates: Sequence[Candidate],
    problems: Sequence[Reason],
    looked_in: Sequence[str],
    matched: Mapping[str, str],
    edges: Mapping[str, set[str]],
) -> list[Reason]:
    where = ", ".join(looked_in) or "nowhere"
    names = ", ".join(describe_authority(a) for a in policy.authorities)
    relevant = [c for cs in checks.values() for c in cs if is_signature(c)]
    if not candidates and not relevant:
        if problems:
            first = problems[0]
            return [Reason(first.code, f"could not read the stored signatures: {first.message}", first.expected,
                           first.found, policy=policy.name)] + [
                Reason(p.code, p.message, p.expected, p.found, policy=policy.name) for p in problems[1:]]
        return [Reason(Code.NO_SIGNATURE, f"no signature is stored for this digest (looked in: {where})",
                       expected=f"a signature by {names}", found="none", policy=policy.name)]

    verified = [a.name for a in policy.authorities if a.name in matched]
    ok_names = [a.name for a in policy.authorities
                if any(is_signature(c) and c.ok for c in checks.get(a.name, ()))]
    per_authority: list[Reason] = []
    for authority in policy.authorities:
        if authority.name in ok_names:
            continue
        best = _best_failure(checks.get(authority.name, ()))
        attested = _verified_attestations(checks.get(authority.name, ()))
        if best is None and attested:
            per_authority.append(Reason(
                Code.NO_MATCHING_SIGNATURE,
                f"{describe_authority(authority)} verified an attestation, which is not a signature",
                expected="a signature (cosign sign: predicate type https://sigstore.dev/cosign/sign/v1)",
                found="verified attestation(s): " + _attestation_types(attested),
                policy=policy.name, authority=authority.name))
        elif best is None:
            per_authority.append(Reason(
                Code.NO_MATCHING_SIGNATURE,
                f"no stored signature can be checked by {describe_authority(authority)}",
                expected=f"a signature of a format {authority.kind} authorities verify",
                found=", ".join(sorted({c.format for c in candidates})) or "none",
                policy=policy.name, authority=authority.name))
        else:
            per_authority.append(Reason(best.code, best.message, best.expected, best.found,
                                        policy=policy.name, authority=authority.name))

    if ok_names:
        head = Reason(Code.THRESHOLD_NOT_MET,
                      f"{len(verified)} of the required {policy.threshold} distinct signers verified",
                      expected=f"signatures by {policy.threshold} distinct signers, each verified by another of: "
                      f"{', '.join(a.name for a in policy.authorities)}",
                      found=_threshold_found(policy, ok_names, verified, edges), policy=policy.name)
        return [head, *per_authority, *_problem_notes(policy, problems)]

    specific = [r for r in per_authority if r.code in _POST_SIGNATURE]
    n = len({(c.manifest_digest, c.layer.digest) for c in candidates})
    if specific:
        head = min(specific, key=lambda r: _RANK[r.code])
        rest = [r for r in per_authority if r is not head]
        return [head, *rest, *_problem_notes(policy, problems)]
    attested = _verified_attestations([c for cs in checks.values() for c in cs])
    if attested and not any(c.ok for c in relevant):
        return [_attestation_only(policy, attested, checks), *per_authority, *_problem_notes(policy, problems)]
    signers = sorted({c.signer for c in relevant if c.signer})
    head = Reason(
        Code.NO_MATCHING_SIGNATURE,
        f"{n} signature(s) found ({where}); none verified by {names}",
        expected=f"a signature by {names}",
        found=("signed by " + "; ".join(signers)) if signers else f"{n} signature(s) that do not verify",
        policy=policy.name,
    )
    return [head, *per_authority, *_problem_notes(policy, problems)]


def _verified_attestations(checks: Sequence[SignatureCheck]) -> list[SignatureCheck]:
    return [c for c in checks if c.ok and c.facts.kind == "attestation"]


def _attestation_types(attested: Sequence[SignatureCheck]) -> str:
    return ", ".join(sorted({f"{c.format} {c.facts.predicate_type or '(no predicate type)'}" for c in attested}))


def _attestation_only(policy: Policy, attested: Sequence[SignatureCheck],
                      checks: Mapping[str, Sequence[SignatureCheck]]) -> Reason:
    """No signature, but verified attestations: say so, and how a policy requires them as attestations."""
    by = [name for name, cs in checks.items() if any(c in attested for c in cs)]
    ptype = next((c.facts.predicate_type for c in attested if c.facts.predicate_type), "PREDICATE_TYPE")
    return Reason(
        Code.NO_MATCHING_SIGNATURE,
        f"no signature found, only {len(attested)} verified attestation(s) (verified by {', '.join(by)}); an "
        "attestation is not a signature and never counts toward the threshold. To require it as an attestation, "
        f"add to policy {policy.name!r}: attestations: [{{predicate_type: {ptype}, authorities: [{by[0]}]}}] "
        "(the policy still needs a signature: `cosign sign` the image)",
        expected=f"a signature by {', '.join(a.name for a in policy.authorities)}",
        found="verified attestation(s), not signatures: " + _attestation_types(attested),
        policy=policy.name)


def _threshold_found(policy: Policy, ok_names: Sequence[str], verified: Sequence[str],
                     edges: Mapping[str, set[str]]) -> str:
    """Which authorities verified, which of them share one signer, which verified no identifiable signer."""
    parts = [f"verified by {', '.join(verified) or 'none'}"]
    by_signer: dict[str, list[str]] = {}
    for name in ok_names:
        for sid in sorted(edges.get(name, ())):
            by_signer.setdefault(sid, []).append(name)
    parts += [f"{', '.join(names)} share one signer ({_short(sid)})" for sid, names in by_signer.items()
              if len(names) > 1]
    unknown = [name for name in ok_names if name not in edges]
    if unknown:
        parts.append(f"{', '.join(unknown)} verified no identifiable signer (counted for nothing)")
    missing = [a.name for a in policy.authorities if a.name not in ok_names]
    if missing:
        parts.append(f"not by {', '.join(missing)}")
    return "; ".join(parts)


def _short(signer_id: str) -> str:
    kind, _, value = signer_id.partition(":")
    if kind in {"spki", "x509-spki"}:
        return f"{kind} sha256:{value[:16]}…"
    return f"{kind} " + value.replace("\0", " / ")


def _problem_notes(policy: Policy, problems: Sequence[Reason]) -> list[Reason]:
    return [Reason(p.code, p.message, p.expected, p.found, policy=policy.name) for p in problems]


def image_verdict(results: Sequence[PolicyResult]) -> Verdict:
    """All policies must pass. A failure of an enforced policy fails; one that only warn-mode policies have (or
    that only logged checks carried) warns. A failure whose cause is the registry is an error, not a pass."""
    enforced_failures = [r for r in results if not r.passed and r.mode == "enforce"]
    if any(reason.code == Code.INTERNAL_ERROR for r in results for reason in r.reasons):
        return Verdict.ERROR  # a crash decided nothing
    if enforced_failures:
        primaries = [r.reasons[0].code for r in enforced_failures if r.reasons]
        if primaries and all(code in REGISTRY_CODES or code == Code.INTERNAL_ERROR for code in primaries):
            return Verdict.ERROR
        return Verdict.FAIL
    if any(not r.passed for r in results) or any(r.warnings for r in results):
        return Verdict.WARN
    return Verdict.PASS
