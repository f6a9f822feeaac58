"""Match a Fulcio certificate's identity (issuer, SAN, claims) against a keyless authority of the policy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sigverify.crypto.claims import claim_label
from sigverify.crypto.fulcio import claim_oid
from sigverify.models import Code, Reason

if TYPE_CHECKING:
    from sigverify.crypto.fulcio import CertIdentity
    from sigverify.policy.model import KeylessIdentity


def match_identity(want: KeylessIdentity, have: CertIdentity) -> Reason | None:
    """None when issuer, subject and every claim match; else an IDENTITY_MISMATCH reason (expected vs found)."""
    if have.issuer is None or not want.issuer.matches(have.issuer):
        return Reason(
            Code.IDENTITY_MISMATCH,
            "the certificate's OIDC issuer does not match. Tip: GitHub Actions is "
            "https://token.actions.githubusercontent.com, GitLab https://gitlab.com; `found` is what it carried",
            expected=f"issuer {want.issuer}",
            found=f"issuer {have.issuer or '(none)'}",
        )
    if not want.subject.matches(have.subject):
        return Reason(
            Code.IDENTITY_MISMATCH,
            "the certificate's identity (SAN) does not match. Tip: matching is exact unless you write "
            "subject_regexp (whole-string); `found` is the identity the signature carried",
            expected=f"subject {want.subject}",
            found=f"subject {have.subject}",
        )
    for name, pattern in want.claims.items():
        oid = claim_oid(name)
        value = have.claim(name) if oid is not None else None
        if value is None or not pattern.matches(value):
            label = claim_label(name)
            return Reason(
                Code.IDENTITY_MISMATCH,
                f"certificate claim {label} does not match. Tip: claims compare exactly unless given as a "
                "regexp; `found` is the value in the certificate",
                expected=f"{name} {pattern}",
                found=f"{name} {value if value is not None else '(absent)'}",
            )
    return None


def unknown_claims(want: KeylessIdentity) -> list[str]:
    """Claim names that are neither a known name nor a Fulcio OID (a configuration error)."""
    return [n for n in want.claims if claim_oid(n) is None]
