"""One signer, one authority: what each authority of a policy trusts, in one spelling, to find two that trust the same
signer (a threshold counts distinct signers, so two such authorities could never both count)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from sigverify.policy.model import Authority, Pattern


def signer_key(authority: Authority) -> tuple[str, str] | None:
    """(what it is, a comparable value) for what ``authority`` trusts; None when it cannot be told statically.

    A PEM key (path, pem or env; PKCS#1 or SPKI) is its SPKI SHA-256, read by the verifiers' own key parser; a KMS
    key is its URI with the scheme in lower case (keys that resolve alike are compared once fetched); a keyless
    identity is its issuer, subject and claims as written; a Notary Project authority is its trust store and
    trusted identities (or its trust policy and store directory)."""
    if authority.key is not None:
        if authority.key.kms is not None:
            scheme, sep, rest = authority.key.kms.strip().partition(":")
            return "the same KMS key", f"{scheme.lower()}{sep}{rest}"
        if authority.key.pem is None:
            return None
        from sigverify.crypto.keys import load_pem_public_key
        from sigverify.errors import SigverifyError

        try:
            der = load_pem_public_key(authority.key.pem, authority.key.source).der
        except SigverifyError:
            return None  # reported when the key is used (KEY_ERROR)
        return "the same public key", "sha256:" + hashlib.sha256(der).hexdigest()
    if authority.keyless is not None:
        ident = authority.keyless
        from sigverify.crypto.fulcio import claim_oid

        claims = sorted((claim_oid(name) or name, _pattern(p)) for name, p in ident.claims.items())
        value = json.dumps([_pattern(ident.issuer), _pattern(ident.subject), claims])
        return "the same keyless identity", value
    if authority.notation is not None:
        n = authority.notation
        if "trust_store" in n:
            ids = sorted(str(i) for i in n.get("trusted_identities") or ())
            parts = ["store", n.get("trust_store"), n.get("signing_authority") is True, ids]
        else:
            parts = ["policy", n.get("trust_policy"), n.get("trust_store_dir")]
        return "the same Notary Project trust store and identities", json.dumps(parts, default=str)
    return None


def _pattern(p: Pattern) -> list[object]:
    return [p.regexp, p.value]


def duplicate_signers(authorities: Sequence[Authority]) -> list[tuple[int, int, str]]:
    """(index of the first, index of the second, message) for each authority that trusts what an earlier one of
    the same policy trusts."""
    seen: dict[tuple[str, str], int] = {}
    out: list[tuple[int, int, str]] = []
    for i, authority in enumerate(authorities):
        key = signer_key(authority)
        if key is None:
            continue
        first = seen.setdefault(key, i)
        if first != i:
            what, value = key
            shown = f" ({value})" if value.startswith("sha256:") else ""
            out.append((first, i, f"authorities '{authorities[first].name}' and '{authority.name}' hold "
                                   f"{what}{shown}: a threshold counts distinct signers, so they count once"))
    return out


def resolved_duplicates(authorities: Sequence[Authority]) -> list[tuple[Authority, Authority, str]]:
    """(first, second, SPKI fingerprint) for key authorities of one policy whose keys, once loaded (KMS keys
    fetched, through the run's key cache), are one key: an alias and an ARN of one KMS key, or a KMS key and its
    exported PEM. Only when a KMS key is among them (PEM keys are compared by ``duplicate_signers`` without any
    fetching). A key that cannot be loaded is skipped: its signatures fail with KEY_ERROR and count for nothing."""
    from sigverify.crypto import keys

    with_keys = [a for a in authorities if a.key is not None]
    if len(with_keys) < 2 or not any(a.key is not None and a.key.kms is not None for a in with_keys):
        return []
    seen: dict[str, Authority] = {}
    out: list[tuple[Authority, Authority, str]] = []
    for authority in with_keys:
        assert authority.key is not None
        try:
            fingerprint: str | None = keys.resolve(authority.key).fingerprint
        except Exception:  # reported when the key is used (KEY_ERROR); it verifies nothing
            fingerprint = None
        if fingerprint is None:
            continue
        first = seen.setdefault(fingerprint, authority)
        if first is not authority:
            out.append((first, authority, fingerprint))
    return out
