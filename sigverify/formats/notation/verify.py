"""Notary Project signature verification, step by step as the specification orders it, level-aware."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sigverify.errors import Failure
from sigverify.formats.base import signature_check
from sigverify.formats.notation import levels as lv
from sigverify.formats.notation.envelope import (
    MEDIA_TYPE_COSE,
    MEDIA_TYPE_JWS,
    SCHEME_SIGNING_AUTHORITY,
    SCHEME_X509,
    Envelope,
    TargetArtifact,
)
from sigverify.formats.notation.trustpolicy import AFTER_CERT_EXPIRY, NoApplicablePolicy, Policy, resolve_policy
from sigverify.models import Candidate, Code, Reason, SignatureCheck

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

    from sigverify.formats.base import VerifyContext
    from sigverify.policy.model import Authority

REVOCATION_TIP = (
    "Tip: sigverify runs offline and does not fetch CRLs or OCSP responses. If you accept that, set "
    "`overrides: {revocation: log}` (warn) or `{revocation: skip}` on this authority, or use level permissive."
)


class _Enforced(Exception):
    """An enforced check failed: verification stops with this reason."""

    def __init__(self, check: str, failure: Failure) -> None:
        super().__init__(failure.message)
        self.check = check
        self.failure = failure


@dataclass
class _Run:
    """The state of one verification: the level, the outcome of each check, what was only logged."""

    policy: Policy
    checks: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    logged: list[dict[str, Any]] = field(default_factory=list)

    def outcome(self, check: str, failure: Failure | None, *, always: bool = False) -> None:
        """Record a check result; raise _Enforced when it failed and the level enforces it."""
        action = lv.ENFORCE if always else self.policy.level.action(check)
        if failure is None:
            self.checks[check] = "passed"
            return
        if action == lv.ENFORCE:
            self.checks[check] = "failed"
            raise _Enforced(check, failure)
        self.checks[check] = "failed (logged)"
        level = self.policy.level.name
        self.warnings.append(f"{check} check failed but level {level!r} only logs it: {failure.message}")
        self.logged.append({"check": check, "code": failure.code, "message": failure.message})


def _guard(fn: Any, *args: Any) -> Failure | None:
    try:
        fn(*args)
    except Failure as f:
        return f
    return None


# ---------------------------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------------------------


def _content_digest_ok(candidate: Candidate) -> None:
    """Defence in depth: the envelope bytes are the layer the signature manifest names (discovery checks too)."""
    import hashlib

    algo, _, want = candidate.layer.digest.partition(":")
    if algo not in ("sha256", "sha384", "sha512"):
        raise Failure(Code.UNSUPPORTED_FORMAT, "unsupported digest algorithm", found=candidate.layer.digest)
    found = hashlib.new(algo, candidate.content).hexdigest()
    if found != want or len(candidate.content) != candidate.layer.size:
        raise Failure(
            Code.DIGEST_MISMATCH,
            "the envelope bytes do not match the layer descriptor",
            expected=f"{candidate.layer.digest} ({candidate.layer.size} bytes)",
            found=f"{algo}:{found} ({len(candidate.content)} bytes)",
        )


def _parse(candidate: Candidate) -> Envelope:
    _content_digest_ok(candidate)
    media_type = candidate.layer.media_type
    if media_type == MEDIA_TYPE_JWS:
        from sigverify.formats.notation.envelope_jws import parse_jws

        return parse_jws(candidate.content)
    if media_type == MEDIA_TYPE_COSE:
        from sigverify.formats.notation.envelope_cose import parse_cose

        return parse_cose(candidate.content)
    raise Failure(
        Code.UNSUPPORTED_FORMAT,
        "the signature layer is not a Notary Project envelope",
        expected=f"{MEDIA_TYPE_JWS} or {MEDIA_TYPE_COSE}",
        found=media_type,
    )


def _authenticity(env: Envelope, chain: list[Certificate], policy: Policy) -> None:
    kind = "signingAuthority" if env.signing_scheme == SCHEME_SIGNING_AUTHORITY else "ca"
    stores = policy.stores.get(kind, ())
    if not stores:
        have = ", ".join(sorted(k for k in policy.stores if k != "tsa")) or "none"
        raise Failure(
            Code.CERTIFICATE_INVALID,
            f"the signature uses signing scheme {env.signing_scheme}, which is verified against a {kind!r} "
            f"trust store, and this authority has none. Tip: "
            + ("set signing_authority: true" if kind == "signingAuthority" else "set signing_authority: false")
            + " if the trust store holds the right certificates.",
            expected=f"{kind} trust store",
            found=have,
        )
    from sigverify.formats.notation.chain import subject

    for store in stores:
        if any(store.contains(c) for c in chain):
            return
    raise Failure(
        Code.CERTIFICATE_INVALID,
        "the signing certificate chain does not lead to a certificate in the trust store. "
        "Tip: add the signer's root (or the self-signed signing certificate) to the trust store.",
        expected=f"a certificate from {', '.join(s.label for s in stores)}",
        found=" -> ".join(subject(c) for c in chain),
    )


def _identity(chain: list[Certificate], policy: Policy) -> None:
    if policy.wildcard:
        return
    from sigverify.formats.notation.identity import DNError, certificate_dn, is_subset

    leaf_subject = chain[0].subject.rfc4514_string()
    wanted = ", ".join(raw for raw, _ in policy.identities)
    try:
        have = certificate_dn(chain[0])
    except DNError as e:
        raise Failure(Code.IDENTITY_MISMATCH, str(e), expected=wanted, found=leaf_subject) from None
    if not any(is_subset(dn, have) for _, dn in policy.identities):
        raise Failure(
            Code.IDENTITY_MISMATCH,
            "the signing certificate subject matches none of the trusted identities "
            "(every attribute of an identity must be in the subject with the same value)",
            expected=wanted,
            found=leaf_subject,
        )


def _expiry(env: Envelope, now: _dt.datetime) -> None:
    if env.expiry is not None and now >= env.expiry:
        raise Failure(
            Code.EXPIRED,
            f"the signature expired at {env.expiry.isoformat()} (io.cncf.notary.expiry)",
            expected=f"expiry after {now.isoformat()}",
            found=env.expiry.isoformat(),
        )


@dataclass
class _TimestampInfo:
    value: Any = None  # timestamp.Timestamp once verified


def _authentic_timestamp(
    env: Envelope, chain: list[Certificate], policy: Policy, now: _dt.datetime, out: _TimestampInfo
) -> None:
    from sigverify.formats.notation.chain import subject, validity_problem

    if env.signing_scheme == SCHEME_SIGNING_AUTHORITY:
        for cert in chain:
            if not (cert.not_valid_before_utc <= env.signing_time <= cert.not_valid_after_utc):
                raise Failure(
                    Code.CERTIFICATE_INVALID,
                    f"certificate {subject(cert)!r} was not valid at the authentic signing time",
                    expected=f"{cert.not_valid_before_utc.isoformat()} .. {cert.not_valid_after_utc.isoformat()}",
                    found=env.signing_time.isoformat(),
                )
        return
    tsa_roots = [c for s in policy.stores.get("tsa", ()) for c in s.certs]
    use_timestamp = bool(policy.stores.get("tsa"))
    if use_timestamp and policy.verify_timestamp == AFTER_CERT_EXPIRY:
        use_timestamp = any(now > c.not_valid_after_utc for c in chain)
    if not use_timestamp:
        for cert in chain:
            problem = validity_problem(cert, now)
            if problem:
                tip = (
                    "Tip: a timestamp countersignature proves signing time; configure tsa_store to use it."
                    if not policy.stores.get("tsa")
                    else ""
                )
                raise Failure(
                    Code.CERTIFICATE_INVALID,
                    f"{problem}, and no trusted timestamp proves it was signed while valid. {tip}".strip(),
                    expected=f"valid at {now.isoformat()}",
                    found=f"{cert.not_valid_before_utc.isoformat()} .. {cert.not_valid_after_utc.isoformat()}",
                )
        return
    if not env.timestamp_token:
        raise Failure(
            Code.CERTIFICATE_INVALID,
            "no timestamp countersignature was found in the signature envelope, and the authority requires one "
            "(tsa_store is set, verify_timestamp: always)",
        )
    from sigverify.formats.notation.timestamp import verify_timestamp

    ts = verify_timestamp(env.timestamp_token, env.signature, tsa_roots)
    for cert in chain:
        if ts.earliest < cert.not_valid_before_utc:
            raise Failure(
                Code.CERTIFICATE_INVALID,
                f"the timestamp may be before certificate {subject(cert)!r} became valid",
                expected=f"timestamp >= {cert.not_valid_before_utc.isoformat()}",
                found=f"{ts.earliest.isoformat()} .. {ts.latest.isoformat()}",
            )
        if ts.latest > cert.not_valid_after_utc:
            raise Failure(
                Code.CERTIFICATE_INVALID,
                f"the timestamp may be after certificate {subject(cert)!r} expired",
                expected=f"timestamp <= {cert.not_valid_after_utc.isoformat()}",
                found=f"{ts.earliest.isoformat()} .. {ts.latest.isoformat()}",
            )
    for cert in ts.tsa_chain:
        problem = validity_problem(cert, ts.gen_time)
        if problem:
            raise Failure(Code.CERTIFICATE_INVALID, f"TSA {problem} at the timestamp time")
    out.value = ts


def _revocation(chain: list[Certificate], ts: Any, policy: Policy) -> None:
    from sigverify.formats.notation.chain import revocation_endpoints, subject

    certs = [("signing", c) for c in chain]
    if ts is not None and not policy.skip_tsa_revocation:
        certs += [("timestamping", c) for c in ts.tsa_chain]
    unknown = [(role, c, eps) for role, c in certs if (eps := revocation_endpoints(c))]
    if unknown:
        role, cert, eps = unknown[0]
        more = f" (and {len(unknown) - 1} more certificate(s))" if len(unknown) > 1 else ""
        raise Failure(
            Code.REVOKED,
            f"revocation status of {role} certificate {subject(cert)!r} is unknown: it names {', '.join(eps)}"
            f"{more}, which cannot be checked offline. {REVOCATION_TIP}",
            expected="revocation status checked",
            found="unknown (offline)",
        )


def _target(target: TargetArtifact, ctx: VerifyContext) -> None:
    want = ctx.subject
    if ctx.subject.digest != ctx.digest:
        raise Failure(Code.DIGEST_MISMATCH, "internal: the subject descriptor is not the resolved digest")
    if (target.digest, target.size, target.media_type) != (want.digest, want.size, want.media_type):
        raise Failure(
            Code.DIGEST_MISMATCH,
            "the signature's targetArtifact is not the image that was resolved",
            expected=f"{want.media_type} {want.digest} ({want.size} bytes)",
            found=f"{target.media_type} {target.digest} ({target.size} bytes)",
        )


def _metadata(target: TargetArtifact, policy: Policy) -> None:
    missing = {k: v for k, v in policy.metadata.items() if target.annotations.get(k) != v}
    if missing:
        raise Failure(
            Code.ANNOTATION_MISMATCH,
            "required user metadata is not signed with the same values (notation sign --user-metadata)",
            expected=", ".join(f"{k}={v}" for k, v in sorted(missing.items())),
            found=", ".join(f"{k}={target.annotations[k]}" for k in sorted(missing) if k in target.annotations)
            or "absent",
        )


# ---------------------------------------------------------------------------------------------------------------
# The verifier
# ---------------------------------------------------------------------------------------------------------------


def verify(candidate: Candidate, authority: Authority, ctx: VerifyContext) -> SignatureCheck:
    """Verify one Notary Project candidate against one notation authority."""
    if authority.notation is None:
        raise ValueError(f"authority {authority.name!r} has no notation settings")

    def result(ok: bool, reason: Reason | None = None, signer: str | None = None, *, signer_id: str | None = None,
               **details: Any) -> SignatureCheck:
        kept = {k: v for k, v in details.items() if v is not None}
        return signature_check(candidate, authority, ok, reason, signer=signer, details=kept, signer_id=signer_id)

    try:
        policy = resolve_policy(authority.name, authority.notation, ctx.image)
    except NoApplicablePolicy as e:
        return result(False, Reason(Code.NO_POLICY, str(e), authority=authority.name))
    run = _Run(policy)
    base: dict[str, Any] = {"level": policy.level.name, "trust_policy": policy.name}
    if policy.source != "authority":
        base["trust_policy_file"] = policy.source

    if candidate.subject_digest != ctx.digest:
        reason = Reason(
            Code.DIGEST_MISMATCH,
            "the signature was discovered for another digest",
            expected=ctx.digest,
            found=candidate.subject_digest,
            authority=authority.name,
        )
        return result(False, reason, **base)
    if policy.level.is_skip:
        warning = (
            f"verification level 'skip' (authority {authority.name!r}): this Notary Project signature was NOT "
            "verified; nothing about it was checked"
        )
        # nothing identifies the signer: it counts as this authority only, and always with the warning
        return result(True, None, None, signer_id=f"notation-skip:{authority.name}", **base, skipped=True,
                      warnings=[warning])

    env: Envelope | None = None
    chain: list[Certificate] = []
    signer: str | None = None
    ts_info = _TimestampInfo()
    try:
        from sigverify.formats.notation.chain import parse_chain, validate_chain
        from sigverify.formats.notation.envelope import parse_payload, verify_signature

        # 1. Integrity (always enforced): envelope, headers, signature, certificate requirements, payload.
        try:
            env = _parse(candidate)
            chain = parse_chain(env.chain_der)
            signer = chain[0].subject.rfc4514_string()
            verify_signature(env, chain[0])
            validate_chain(chain)
            target = parse_payload(env.payload)
        except Failure as f:
            run.outcome(lv.INTEGRITY, f, always=True)
            raise AssertionError("unreachable") from None
        run.outcome(lv.INTEGRITY, None, always=True)
        # 2. Authenticity: the chain reaches the trust store; the leaf subject is a trusted identity.
        failure = _guard(_authenticity, env, chain, policy) or _guard(_identity, chain, policy)
        run.outcome(lv.AUTHENTICITY, failure)
        # 3. Expiry.
        run.outcome(lv.EXPIRY, _guard(_expiry, env, ctx.now))
        # 4. Authentic timestamp.
        run.outcome(lv.AUTHENTIC_TIMESTAMP, _guard(_authentic_timestamp, env, chain, policy, ctx.now, ts_info))
        # 5. Revocation (unless skipped).
        if policy.level.action(lv.REVOCATION) == lv.SKIP:
            run.checks[lv.REVOCATION] = "skipped"
        else:
            run.outcome(lv.REVOCATION, _guard(_revocation, chain, ts_info.value, policy))
        # 6. The signed descriptor is exactly the resolved image; 7. required user metadata.
        run.outcome("targetArtifact", _guard(_target, target, ctx), always=True)
        run.outcome("metadata", _guard(_metadata, target, policy), always=True)
    except _Enforced as e:
        bad = e.failure
        enforced: Reason | None = Reason(bad.code, f"{e.check}: {bad.message}", bad.expected, bad.found,
                                         authority=authority.name)
    except Exception as e:  # fail closed: an unexpected error on hostile input is a failure, never a pass
        from sigverify.formats.base import crash_reason

        failed_at = next((c for c in lv.CHECKS if c not in run.checks), "verification")
        reason = crash_reason(e, f"{failed_at}: verifying the Notary Project signature", authority.name)
        return result(False, reason, signer, **base, checks=run.checks)
    else:
        enforced = None
    # the same details on a pass and on an enforced failure
    return result(
        enforced is None,
        enforced,
        signer,
        signer_id=_leaf_signer_id(chain),
        **base,
        **_env_details(env, ts_info, signer),
        checks=run.checks,
        warnings=run.warnings or None,
        logged_failures=run.logged or None,
    )


def _leaf_signer_id(chain: list[Certificate]) -> str | None:
    """``x509-spki:`` + SHA-256 of the leaf certificate's SubjectPublicKeyInfo (what thresholds count)."""
    import hashlib

    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    if not chain:
        return None
    try:
        spki = chain[0].public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    except Exception:  # an unreadable leaf key identifies no signer: the check counts for nothing
        return None
    return "x509-spki:" + hashlib.sha256(spki).hexdigest()


def _env_details(env: Envelope | None, ts: _TimestampInfo, signer: str | None) -> dict[str, Any]:
    if env is None:
        return {}
    d: dict[str, Any] = {
        "envelope": env.kind,
        "signing_scheme": env.signing_scheme,
        "signing_time": env.signing_time.isoformat(),
        "certificate_subject": signer,
    }
    if env.signing_scheme == SCHEME_X509:
        d["signing_time_authentic"] = False
    if env.expiry is not None:
        d["expiry"] = env.expiry.isoformat()
    if ts.value is not None:
        d["timestamp"] = ts.value.gen_time.isoformat()
        d["timestamp_authority"] = ts.value.tsa_chain[0].subject.rfc4514_string()
    if env.signing_agent:
        d["signing_agent"] = env.signing_agent
    return d
