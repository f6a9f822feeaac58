"""Pick the verifier for a (candidate format, authority kind) pair; modules are imported only when used."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from sigverify.models import Format

if TYPE_CHECKING:
    from sigverify.verifiers.base import Verifier

# (candidate format, authority kind) -> "module:attribute" of a Verifier. Pairs not listed do not apply
# (a notation envelope is not checked against a cosign key); a candidate no authority applies to is reported.
_TABLE: dict[tuple[str, str], str] = {
    (Format.COSIGN_CLASSIC, "key"): "sigverify.verifiers.cosign_classic:VERIFIER",
    (Format.COSIGN_CLASSIC, "keyless"): "sigverify.verifiers.cosign_keyless:VERIFIER",
    (Format.SIGSTORE_BUNDLE, "key"): "sigverify.verifiers.bundle:VERIFIER",
    (Format.SIGSTORE_BUNDLE, "keyless"): "sigverify.verifiers.bundle:VERIFIER",
    (Format.COSIGN_ATTESTATION, "key"): "sigverify.verifiers.attestation:VERIFIER",
    (Format.COSIGN_ATTESTATION, "keyless"): "sigverify.verifiers.attestation:VERIFIER",
    (Format.NOTATION, "notation"): "sigverify.verifiers.notation:VERIFIER",
}

_loaded: dict[str, Verifier] = {}


def applicable(candidate_format: str, authority_kind: str) -> bool:
    return (candidate_format, authority_kind) in _TABLE


def verifier_for(candidate_format: str, authority_kind: str) -> Verifier | None:
    target = _TABLE.get((candidate_format, authority_kind))
    if target is None:
        return None
    if target not in _loaded:
        module_name, attr = target.split(":")
        _loaded[target] = getattr(importlib.import_module(module_name), attr)
    return _loaded[target]


def register(candidate_format: str, authority_kind: str, target: str) -> None:
    """Add a pair to the table (used by format modules that are built later, and by tests)."""
    _TABLE[(candidate_format, authority_kind)] = target


# Formats that each authority kind can verify: discovery looks only for these (fewer registry requests).
FORMATS_FOR_KIND: dict[str, tuple[str, ...]] = {
    "key": (Format.COSIGN_CLASSIC, Format.SIGSTORE_BUNDLE),
    "keyless": (Format.COSIGN_CLASSIC, Format.SIGSTORE_BUNDLE),
    "notation": (Format.NOTATION,),
}
