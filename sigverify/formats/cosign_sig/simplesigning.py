"""The cosign simple-signing payload of a `.sig` layer, parsed strictly (docs/formats.md §1.4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sigverify.crypto.strictjson import PayloadError, json_type, loads_object

SIMPLE_SIGNING_TYPE = "cosign container image signature"


@dataclass(frozen=True)
class SimpleSigning:
    """The fields of a cosign simple-signing payload that verification uses."""

    manifest_digest: str
    type: str
    docker_reference: str | None
    optional: Mapping[str, Any] = field(default_factory=dict)  # {} when the payload says null


def _exact_key(obj: Mapping[str, Any], name: str, where: str) -> Any:
    """Get ``name`` from ``obj``; refuse keys that equal ``name`` only case-insensitively.

    Go's encoding/json (cosign) matches struct fields case-insensitively, so ``{"Critical": ...}`` would be
    read by cosign but not by us: refusing such keys closes that parser differential.
    """
    for k in obj:
        if k != name and k.casefold() == name.casefold():
            raise PayloadError(
                f"{where}: key {k!r} differs from {name!r} only by case (ambiguous for Go-based verifiers)",
                expected=repr(name),
                found=repr(k),
            )
    return obj.get(name)


def _object(value: Any, where: str, *, required: bool = True) -> Mapping[str, Any] | None:
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        raise PayloadError(f"{where} must be a JSON object", expected="object", found=json_type(value))
    return value


def _string(value: Any, where: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{where} must be a JSON string", expected="string", found=json_type(value))
    return value


def parse_simple_signing(blob: bytes) -> SimpleSigning:
    """Parse the exact layer bytes as a simple-signing payload. Raises ``PayloadError``."""
    top = loads_object(blob, what="simple-signing payload")
    critical = _object(_exact_key(top, "critical", "payload"), "critical")
    assert critical is not None
    image = _object(_exact_key(critical, "image", "critical"), "critical.image")
    assert image is not None
    digest = _string(
        _exact_key(image, "docker-manifest-digest", "critical.image"), "critical.image.docker-manifest-digest"
    )
    assert digest is not None
    typ = _string(_exact_key(critical, "type", "critical"), "critical.type")
    assert typ is not None
    identity = _object(_exact_key(critical, "identity", "critical"), "critical.identity", required=False)
    ref = None
    if identity is not None:
        ref = _string(
            _exact_key(identity, "docker-reference", "critical.identity"),
            "critical.identity.docker-reference",
            required=False,
        )
    optional = _object(_exact_key(top, "optional", "payload"), "optional", required=False)
    return SimpleSigning(manifest_digest=digest, type=typ, docker_reference=ref, optional=dict(optional or {}))
