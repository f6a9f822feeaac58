"""The interface every content source (remote registry, OCI layout on disk) offers to discovery."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sigverify.models import Descriptor, ImageRef, Manifest

# Caps: a body larger than these is an error (SIZE_LIMIT), never truncated.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_BLOB_BYTES = 16 * 1024 * 1024  # signature payloads, bundles, envelopes: never image layers
MAX_REFERRERS = 1000
MAX_LAYERS = 1000

MANIFEST_ACCEPT = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


@dataclass(frozen=True)
class Referrers:
    """Referrer descriptors of a digest and how they were found: ``referrers API`` or ``referrers tag``."""

    descriptors: tuple[Descriptor, ...]
    via: str


class Source(Protocol):
    """Read-only access to one registry (or layout). Every method verifies what it returns.

    * ``resolve``: the only place a tag is trusted; returns the descriptor (digest, media type, size) of the image
      manifest. For a digest reference it confirms the manifest exists and returns that digest.
    * ``get_manifest``: ``reference`` is a tag or a digest; the body is size-capped while streaming; when it is a
      digest the body's digest must equal it (DIGEST_MISMATCH otherwise). The returned descriptor's digest is always
      computed from the bytes.
    * ``get_blob``: size-capped at ``min(descriptor.size, max_size)`` while streaming and digest-checked.
    * ``referrers``: the OCI referrers API, or on 404 the ``sha256-<hex>`` tag fallback; bounded count; NOT filtered
      by artifactType (callers filter by content).
    Missing things raise ``NotFoundError``; other failures ``RegistryError`` with a category code.
    """

    def resolve(self, ref: ImageRef) -> Descriptor: ...

    def get_manifest(self, ref: ImageRef, reference: str, *, max_size: int = MAX_MANIFEST_BYTES) -> Manifest: ...

    def get_blob(self, ref: ImageRef, descriptor: Descriptor, *, max_size: int = MAX_BLOB_BYTES) -> bytes: ...

    def referrers(self, ref: ImageRef, digest: str) -> Referrers: ...
