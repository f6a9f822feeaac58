"""Notary Project (notation) signatures: JWS and COSE envelopes verified against X.509 trust stores.

Importing this package is cheap; cryptography, cbor2, asn1crypto and rfc3161-client load on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sigverify.formats.base import VerifyContext
    from sigverify.models import Candidate, SignatureCheck
    from sigverify.policy.model import Authority


class NotationVerifier:
    """Verifier for (Format.NOTATION, "notation"). See ``verify.verify`` for the steps."""

    def verify(self, candidate: Candidate, authority: Authority, ctx: VerifyContext) -> SignatureCheck:
        from sigverify.formats.notation.verify import verify

        return verify(candidate, authority, ctx)


VERIFIER = NotationVerifier()


def check_config(name: str, notation: Mapping[str, Any]) -> None:
    """Load and validate an authority's notation settings now (trust stores, levels, identities, policy file).

    Raises ``sigverify.errors.ConfigError``; the loader may call it so that a broken store is exit code 2 early.
    """
    from sigverify.formats.notation.trustpolicy import _load_document, direct_policy

    if "trust_policy" in notation or "trust_store_dir" in notation:
        from pathlib import Path

        path = notation.get("trust_policy")
        if isinstance(path, str) and Path(path).is_file():
            _load_document(path, Path(path).stat().st_mtime_ns)
        return
    direct_policy(name, notation)


__all__ = ["VERIFIER", "NotationVerifier", "check_config"]
