"""THE table of signature formats: where each is stored, its media types, who verifies it (imported when used).

Every other module reads formats from here (discovery, the verifier dispatch, the gate); none lists them.
Format modules are imported lazily, by the ``verifier`` string, so a key-only run never loads Sigstore code.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sigverify.crypto.bundle.model import BUNDLE_MEDIA_PREFIX
from sigverify.models import Format

if TYPE_CHECKING:
    from sigverify.formats.base import Verifier


SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
NOTARY_SIGNATURE = "application/vnd.cncf.notary.signature"


@dataclass(frozen=True)
class FormatSpec:
    """One stored signature format.

    ``tag_suffix``: stored under the cosign tag ``sha256-<hex>.<suffix>`` (None: stored as an OCI referrer).
    ``media_type``: the layer media type (a prefix when ``media_prefix``), or for referrers the artifact type.
    ``verifiers``: authority kind -> "module:attribute" of the Verifier (imported on first use).
    ``looked_for``: authority kinds for which discovery looks for it (signatures); ``attestations``: it also
    carries attestations, so it is looked for when a policy requires some. ``single_layer``: exactly one layer.
    """

    format: Format
    tag_suffix: str | None
    media_type: str
    verifiers: dict[str, str]
    looked_for: tuple[str, ...] = ()
    attestations: bool = False
    media_prefix: bool = False
    single_layer: bool = False


FORMATS: tuple[FormatSpec, ...] = (
    FormatSpec(Format.COSIGN_CLASSIC, "sig", SIMPLE_SIGNING_MEDIA_TYPE,
               {"key": "sigverify.formats.cosign_sig.key:VERIFIER",
                "keyless": "sigverify.formats.cosign_sig.keyless:VERIFIER"},
               looked_for=("key", "keyless")),
    FormatSpec(Format.COSIGN_ATTESTATION, "att", DSSE_MEDIA_TYPE,
               {"key": "sigverify.formats.cosign_att:VERIFIER", "keyless": "sigverify.formats.cosign_att:VERIFIER"},
               attestations=True),
    FormatSpec(Format.SIGSTORE_BUNDLE, None, BUNDLE_MEDIA_PREFIX,
               {"key": "sigverify.formats.sigstore_bundle:VERIFIER",
                "keyless": "sigverify.formats.sigstore_bundle:VERIFIER"},
               looked_for=("key", "keyless"), attestations=True, media_prefix=True),
    FormatSpec(Format.NOTATION, None, NOTARY_SIGNATURE, {"notation": "sigverify.formats.notation:VERIFIER"},
               looked_for=("notation",), single_layer=True),
)
SPEC: dict[str, FormatSpec] = {spec.format: spec for spec in FORMATS}

# Derived views (read-only for callers; ``register`` is the one way to add a verifier).
TAG_FORMATS: dict[str, str] = {s.format: s.tag_suffix for s in FORMATS if s.tag_suffix is not None}
REFERRER_FORMATS: frozenset[str] = frozenset(s.format for s in FORMATS if s.tag_suffix is None)
FORMATS_FOR_KIND: dict[str, tuple[str, ...]] = {
    kind: tuple(s.format for s in FORMATS if kind in s.looked_for) for kind in ("key", "keyless", "notation")
}
ATTESTATION_FORMATS: tuple[str, ...] = tuple(s.format for s in FORMATS if s.attestations)
VERIFIERS: dict[tuple[str, str], str] = {(s.format, kind): t for s in FORMATS for kind, t in s.verifiers.items()}

_loaded: dict[str, Verifier] = {}


def applicable(candidate_format: str, authority_kind: str) -> bool:
    """Whether an authority of this kind can verify a candidate of this format."""
    return (candidate_format, authority_kind) in VERIFIERS


def verifier_for(candidate_format: str, authority_kind: str) -> Verifier | None:
    """The Verifier for the pair (imported on first use); None when the pair does not apply."""
    target = VERIFIERS.get((candidate_format, authority_kind))
    if target is None:
        return None
    if target not in _loaded:
        module_name, attr = target.split(":")
        _loaded[target] = getattr(importlib.import_module(module_name), attr)
    return _loaded[target]


def register(candidate_format: str, authority_kind: str, target: str) -> None:
    """Add a pair to the table (used by tests)."""
    VERIFIERS[(candidate_format, authority_kind)] = target


def wanted_formats(kinds_and_attestations: list[tuple[list[str], bool]]) -> tuple[list[str], list[str]]:
    """Formats worth looking for, given each policy's authority kinds and whether it requires attestations:
    (tag-stored, referrer-stored), in table order per policy, only those a verifier exists for."""
    wanted: list[str] = []
    for kinds, attestations in kinds_and_attestations:
        for kind in kinds:
            for fmt in FORMATS_FOR_KIND.get(kind, ()):
                if applicable(fmt, kind) and fmt not in wanted:
                    wanted.append(fmt)
        if attestations:
            for fmt in ATTESTATION_FORMATS:
                if fmt not in wanted and any(applicable(fmt, k) for k in kinds):
                    wanted.append(fmt)
    return [f for f in wanted if f in TAG_FORMATS], [f for f in wanted if f in REFERRER_FORMATS]
