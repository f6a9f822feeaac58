"""Fulcio certificate extension names (snake_case) and their OIDs, for keyless ``claims``."""

from __future__ import annotations

import re

FULCIO_ARC = "1.3.6.1.4.1.57264.1."

# fulcio docs/oid-info.md (docs/formats.md §3.2). .7 is an OtherName SAN type-id, not an extension.
CLAIM_OIDS: dict[str, str] = {
    "issuer_v1": FULCIO_ARC + "1",  # deprecated raw form; prefer keyless.issuer
    "github_workflow_trigger": FULCIO_ARC + "2",
    "github_workflow_sha": FULCIO_ARC + "3",
    "github_workflow_name": FULCIO_ARC + "4",
    "github_workflow_repository": FULCIO_ARC + "5",
    "github_workflow_ref": FULCIO_ARC + "6",
    "issuer_v2": FULCIO_ARC + "8",
    "build_signer_uri": FULCIO_ARC + "9",
    "build_signer_digest": FULCIO_ARC + "10",
    "runner_environment": FULCIO_ARC + "11",
    "source_repository_uri": FULCIO_ARC + "12",
    "source_repository_digest": FULCIO_ARC + "13",
    "source_repository_ref": FULCIO_ARC + "14",
    "source_repository_identifier": FULCIO_ARC + "15",
    "source_repository_owner_uri": FULCIO_ARC + "16",
    "source_repository_owner_identifier": FULCIO_ARC + "17",
    "build_config_uri": FULCIO_ARC + "18",
    "build_config_digest": FULCIO_ARC + "19",
    "build_trigger": FULCIO_ARC + "20",
    "run_invocation_uri": FULCIO_ARC + "21",
    "source_repository_visibility_at_signing": FULCIO_ARC + "22",
    "deployment_environment": FULCIO_ARC + "23",
    "token_subject": FULCIO_ARC + "24",
}
CLAIM_NAMES: dict[str, str] = {oid: name for name, oid in CLAIM_OIDS.items()}
RAW_ENCODED = frozenset(FULCIO_ARC + str(n) for n in range(1, 7))  # .1-.6: raw bytes, no DER wrapper
_OID = re.compile(re.escape(FULCIO_ARC) + r"([1-9][0-9]*)")


def claim_oid(name_or_oid: str) -> str | None:
    """The OID for a claim name or a Fulcio OID; None when it is neither (or is the .7 SAN type-id)."""
    if name_or_oid in CLAIM_OIDS:
        return CLAIM_OIDS[name_or_oid]
    m = _OID.fullmatch(name_or_oid)
    if m is None or m.group(1) == "7":
        return None
    return name_or_oid


def claim_label(name_or_oid: str) -> str:
    """A readable label: ``source_repository_ref (1.3.6.1.4.1.57264.1.14)``."""
    oid = claim_oid(name_or_oid)
    if oid is None:
        return name_or_oid
    name = CLAIM_NAMES.get(oid)
    return f"{name} ({oid})" if name else oid
