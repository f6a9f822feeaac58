"""Claim names for keyless ``claims`` in the policy: the Fulcio extension table lives in crypto/claims.py."""

from __future__ import annotations

from sigverify.crypto.claims import CLAIM_NAMES, CLAIM_OIDS, FULCIO_ARC, RAW_ENCODED, claim_label, claim_oid

__all__ = ["CLAIM_NAMES", "CLAIM_OIDS", "FULCIO_ARC", "RAW_ENCODED", "claim_label", "claim_oid"]
