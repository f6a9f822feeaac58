"""Content checks shared by every source: digest syntax and hashing, manifest and index validation."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from sigverify.crypto.strictjson import PayloadError, loads_strict
from sigverify.errors import RegistryError
from sigverify.models import Code, Descriptor

DIGEST_RE = re.compile(r"(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})")
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# distribution reference grammar: path components separated by '/', lowercase alnum with . _ __ - separators
REPOSITORY_RE = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*")
MEDIA_TYPE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})


def is_digest(value: str) -> bool:
    """True when ``value`` is a syntactically valid sha256/sha512 digest (lowercase hex, exact length)."""
    return DIGEST_RE.fullmatch(value) is not None


def check_digest(value: object, where: str) -> str:
    """Return ``value`` if it is a valid digest; raise REGISTRY_ERROR otherwise (it goes into URLs and paths)."""
    if not isinstance(value, str) or not is_digest(value):
        raise RegistryError(
            f"{where}: invalid digest {_short(value)!s}",
            expected="sha256:<64 lowercase hex> or sha512:<128 lowercase hex>",
            found=_short(value),
        )
    return value


def check_repository(repository: str) -> str:
    if REPOSITORY_RE.fullmatch(repository) is None or len(repository) > 255:
        raise RegistryError(
            f"invalid repository name {_short(repository)}",
            code=Code.INVALID_REFERENCE,
            expected="lowercase path components such as team/app",
            found=_short(repository),
        )
    return repository


def check_reference(reference: str) -> str:
    """A manifest reference is a digest or a tag; anything else never reaches a URL or a path."""
    if is_digest(reference) or TAG_RE.fullmatch(reference) is not None:
        return reference
    raise RegistryError(
        f"invalid manifest reference {_short(reference)}",
        code=Code.INVALID_REFERENCE,
        expected="a tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}) or a digest (sha256:<hex>)",
        found=_short(reference),
    )


def new_hash(algorithm: str) -> Any:
    if algorithm == "sha256":
        return hashlib.sha256()
    if algorithm == "sha512":
        return hashlib.sha512()
    raise RegistryError(f"unsupported digest algorithm {algorithm!r}", expected="sha256 or sha512")


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    h = new_hash(algorithm)
    h.update(data)
    return f"{algorithm}:{h.hexdigest()}"


def verify_digest(data: bytes, expected: str, where: str) -> None:
    """Raise DIGEST_MISMATCH unless ``data`` hashes to ``expected``."""
    algorithm = expected.split(":", 1)[0]
    found = digest_of(data, algorithm)
    if found != expected:
        raise RegistryError(
            f"{where}: content does not match the requested digest",
            code=Code.DIGEST_MISMATCH,
            expected=expected,
            found=found,
            tip="The registry (or layout) served different bytes than the digest names; do not trust it.",
        )


def fallback_tag(digest: str) -> str:
    """The OCI referrers tag schema: ``<alg>-<hex>`` truncated to 128 characters."""
    return digest.replace(":", "-", 1)[:128]


def bare_media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def parse_manifest(raw: bytes, content_type: str | None, where: str) -> dict[str, Any]:
    """Minimal validation: strict bounded JSON (crypto.strictjson), an object, schemaVersion 2, consistent type."""
    try:
        obj = loads_strict(raw, what="manifest")
    except PayloadError as exc:
        raise RegistryError(
            f"{where}: {exc.message}",
            expected=exc.expected,
            found=exc.found,
            tip="The registry (or layout) sent something that is not a bounded, strict JSON document.",
        ) from None
    if not isinstance(obj, dict):
        raise RegistryError(f"{where}: manifest is not a JSON object", found=type(obj).__name__)
    if obj.get("schemaVersion") != 2:
        raise RegistryError(
            f"{where}: unsupported manifest schemaVersion",
            expected="2",
            found=_short(obj.get("schemaVersion")),
            tip="Docker schema 1 manifests are not supported; re-push the image with a current client.",
        )
    media_type = obj.get("mediaType")
    if media_type is not None and not isinstance(media_type, str):
        raise RegistryError(f"{where}: manifest mediaType is not a string")
    header = bare_media_type(content_type)
    if (
        isinstance(media_type, str)
        and header is not None
        and header in INDEX_TYPES | MANIFEST_TYPES
        and header != media_type
    ):
        raise RegistryError(
            f"{where}: manifest mediaType does not match the Content-Type header",
            expected=header,
            found=media_type,
        )
    return obj


def manifest_media_type(obj: Mapping[str, Any], content_type: str | None) -> str:
    media_type = obj.get("mediaType")
    if isinstance(media_type, str) and media_type:
        return media_type
    header = bare_media_type(content_type)
    if header:
        return header
    return OCI_INDEX if "manifests" in obj else OCI_MANIFEST


def artifact_type_of(value: object) -> str | None:
    """An ``artifactType`` (or fallback media type) if it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def manifest_descriptor(obj: Mapping[str, Any], raw: bytes, digest: str, content_type: str | None) -> Descriptor:
    """The descriptor of a manifest already read (``raw``, digest-checked) and parsed (``obj``)."""
    return Descriptor(
        media_type=manifest_media_type(obj, content_type),
        digest=digest,
        size=len(raw),
        annotations=string_map(obj.get("annotations")),
        artifact_type=artifact_type_of(obj.get("artifactType")),
    )


def string_map(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def parse_descriptor(obj: object, where: str) -> Descriptor:
    """Validate one descriptor object (digest syntax, non-negative size, string media type)."""
    if not isinstance(obj, dict):
        raise RegistryError(f"{where}: descriptor is not a JSON object")
    digest = check_digest(obj.get("digest"), where)
    size = obj.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise RegistryError(f"{where}: descriptor size is not a non-negative integer", found=_short(size))
    media_type = obj.get("mediaType")
    if not isinstance(media_type, str):
        raise RegistryError(f"{where}: descriptor mediaType is missing or not a string")
    return Descriptor(
        media_type=media_type,
        digest=digest,
        size=size,
        annotations=string_map(obj.get("annotations")),
        artifact_type=artifact_type_of(obj.get("artifactType")),
    )


def index_descriptors(obj: Mapping[str, Any], where: str, limit: int) -> list[Descriptor]:
    """The ``manifests`` of an image index, validated and bounded by ``limit``."""
    media_type = obj.get("mediaType")
    if media_type is not None and media_type not in INDEX_TYPES:
        raise RegistryError(f"{where}: expected an image index", expected=OCI_INDEX, found=_short(media_type))
    manifests = obj.get("manifests", [])
    if not isinstance(manifests, list):
        raise RegistryError(f"{where}: index `manifests` is not a list")
    if len(manifests) > limit:
        raise RegistryError(
            f"{where}: too many entries in the index",
            code=Code.SIZE_LIMIT,
            expected=f"at most {limit}",
            found=str(len(manifests)),
        )
    return [parse_descriptor(m, f"{where} manifests[{i}]") for i, m in enumerate(manifests)]


def _short(value: object, limit: int = 80) -> str:
    text = repr(value) if not isinstance(value, str) else value
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[:limit] + "..."
