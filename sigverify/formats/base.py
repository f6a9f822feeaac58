"""The interface of a signature verifier (one candidate and one authority in, one SignatureCheck out), and the one
way verifiers build that SignatureCheck."""

from __future__ import annotations

import datetime as _dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sigverify.errors import ConfigError, Failure
from sigverify.models import Candidate, Code, Descriptor, ImageRef, Reason, SignatureCheck

if TYPE_CHECKING:
    from collections.abc import Callable

    from sigverify.crypto.trustroot import TrustStore
    from sigverify.policy.model import Authority


@dataclass(frozen=True)
class VerifyContext:
    """What every verifier needs besides the candidate and the authority.

    ``digest`` is the digest resolved once for the image: every signature must be bound to exactly it.
    ``subject`` is the resolved manifest's descriptor (media type, size) for formats that sign a descriptor.
    ``trust`` lazily loads trust roots (Sigstore trusted root, Rekor keys) — only when a verifier asks.
    """

    image: ImageRef
    digest: str
    subject: Descriptor
    trust: TrustStore
    offline: bool = True
    now: _dt.datetime = field(default_factory=lambda: _dt.datetime.now(_dt.UTC))


class Verifier(Protocol):
    """Verifies candidates of some formats for some authority kinds. Never raises for a bad signature:
    a failure is a ``SignatureCheck(ok=False, reason=...)``. May raise only for broken configuration."""

    def verify(self, candidate: Candidate, authority: Authority, ctx: VerifyContext) -> SignatureCheck: ...


def key_signer_id(spki_der: bytes) -> str:
    """The signer id of a public key: ``spki:`` + SHA-256 of its SubjectPublicKeyInfo DER (PEM, KMS alike)."""
    return "spki:" + hashlib.sha256(spki_der).hexdigest()


def identity_signer_id(issuer: str | None, subject: str | None) -> str | None:
    """The signer id of a keyless (Fulcio) identity: the OIDC issuer and the SAN, never the ephemeral cert
    (None without both)."""
    return "fulcio:" + issuer + "\0" + subject if issuer and subject else None


def signer_id_of(authority: Authority, details: Mapping[str, Any]) -> str | None:
    """The signer an ok check of ``authority`` counts as: the key the authority holds (a key check verifies only
    with it), or the certificate identity the verifier read. None when unknown (the check then counts for nothing)."""
    if authority.key is not None:
        from sigverify.crypto import keys

        try:
            return key_signer_id(keys.resolve(authority.key).der)
        except Exception:  # an unknown signer counts for nothing (fail closed)
            return None
    ident = details.get("identity")
    if authority.keyless is not None and isinstance(ident, Mapping):
        issuer, subject = ident.get("issuer"), ident.get("subject")
        if isinstance(issuer, str) and isinstance(subject, str):
            return identity_signer_id(issuer, subject)
    return None


def signature_check(candidate: Candidate, authority: Authority, ok: bool, reason: Reason | None = None, *,
                    signer: str | None = None, details: dict[str, Any] | None = None,
                    signer_id: str | None = None) -> SignatureCheck:
    """The outcome of checking ``candidate`` against ``authority`` (the reason is kept as given). An ok check
    carries the signer id thresholds count: ``signer_id`` when the verifier gives one, else ``signer_id_of``."""
    kept = details if details is not None else {}
    return SignatureCheck(
        format=candidate.format,
        storage=candidate.storage,
        layer_digest=candidate.layer.digest,
        authority=authority.name,
        ok=ok,
        reason=reason,
        signer=signer,
        details=kept,
        signer_id=(signer_id or signer_id_of(authority, kept)) if ok else None,
    )


def crash_reason(exc: BaseException, what: str, authority: str | None = None) -> Reason:
    """The reason for an exception a verifier did not expect: RESOURCE_LIMIT when hostile content exhausted
    recursion or memory (RecursionError, MemoryError: a property of the input), INTERNAL_ERROR otherwise (a bug)."""
    if isinstance(exc, RecursionError | MemoryError):
        return Reason(Code.RESOURCE_LIMIT, f"{what}: the content is too deeply nested or too large to verify "
                      f"({type(exc).__name__})", expected="content within the parsers' bounds", authority=authority)
    return Reason(Code.INTERNAL_ERROR, f"{what} crashed: {type(exc).__name__}: {exc}", authority=authority)


def run_checked(candidate: Candidate, authority: Authority, details: dict[str, Any], what: str,
                check: Callable[[], None]) -> SignatureCheck:
    """Run ``check`` (which raises ``Failure`` and fills ``details``) and turn its outcome into a SignatureCheck.

    Shared by the `.sig` keyless and `.att` verifiers: a ``Failure`` is a failure with its reason, a ConfigError
    propagates (exit 2), any other exception fails closed as INTERNAL_ERROR ("<what> verification crashed").
    ``details['signer']``, when set, becomes the check's signer."""

    def result(ok: bool, reason: Reason | None = None) -> SignatureCheck:
        signer = details.pop("signer", None)
        if reason is not None:
            reason = Reason(reason.code, reason.message, reason.expected, reason.found, authority=authority.name)
        return signature_check(candidate, authority, ok, reason, signer=signer, details=details)

    try:
        check()
    except Failure as f:
        return result(False, f.reason())
    except ConfigError:  # a broken trusted root or key file is a configuration error (exit 2)
        raise
    except Exception as e:  # fail closed
        return result(False, crash_reason(e, f"{what} verification"))
    return result(True)
