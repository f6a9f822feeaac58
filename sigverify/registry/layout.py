"""A Source over an OCI image layout on disk (air-gapped use), with the same caps and digest checks."""

from __future__ import annotations

import errno
import os
import re
import stat
import threading
from typing import Any

from sigverify.crypto.strictjson import PayloadError, loads_strict
from sigverify.errors import NotFoundError, RegistryError
from sigverify.models import Code, Descriptor, ImageRef, Manifest
from sigverify.registry.base import MAX_BLOB_BYTES, MAX_MANIFEST_BYTES, MAX_REFERRERS, Referrers
from sigverify.registry.content import (
    INDEX_TYPES,
    artifact_type_of,
    check_digest,
    check_reference,
    fallback_tag,
    index_descriptors,
    is_digest,
    manifest_descriptor,
    parse_manifest,
    string_map,
    verify_digest,
)

REF_NAME = "org.opencontainers.image.ref.name"
_ALGORITHMS = frozenset({"sha256", "sha384", "sha512", "md5", "blake3"})
_DIGEST_GRAMMAR = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")  # OCI digest grammar
MAX_INDEX_ENTRIES = 10_000


def _check_layout_reference(reference: str) -> None:
    """A digest (strict: it becomes a path) or a ref name looked up in index.json (never used as a path).

    Ref names may be plain tags (``v1``) or full names as some tools write them (``docker.io/library/x:1``).
    """
    if is_digest(reference):
        return
    algorithm = reference.split(":", 1)[0]
    looks_like_digest = _DIGEST_GRAMMAR.fullmatch(reference) is not None or algorithm in _ALGORITHMS
    if looks_like_digest or not reference or len(reference) > 512 or not reference.isprintable():
        check_reference(reference)  # raises INVALID_REFERENCE with the expected forms


class LayoutSource:
    """Read-only access to one OCI image layout directory; thread-safe (index.json is read once)."""

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)
        self._lock = threading.Lock()
        self._entries: list[Descriptor] | None = None
        self._subjects: dict[str, list[Descriptor]] | None = None

    # -- Source protocol ------------------------------------------------------------------------------------

    def resolve(self, ref: ImageRef) -> Descriptor:
        if ref.digest is not None:
            return self.get_manifest(ref, check_digest(ref.digest, f"reference {ref}")).descriptor
        if ref.tag is None:
            raise RegistryError(f"{ref}: neither a tag nor a digest to resolve", code=Code.INVALID_REFERENCE)
        entry = self._tagged(ref.tag)
        return self._read_manifest(entry.digest, MAX_MANIFEST_BYTES, entry.media_type).descriptor

    def get_manifest(self, ref: ImageRef, reference: str, *, max_size: int = MAX_MANIFEST_BYTES) -> Manifest:
        _check_layout_reference(reference)
        if is_digest(reference):
            hint = next((e.media_type for e in self._index() if e.digest == reference), None)
            return self._read_manifest(reference, max_size, hint)
        entry = self._tagged(reference)
        return self._read_manifest(entry.digest, max_size, entry.media_type)

    def get_blob(self, ref: ImageRef, descriptor: Descriptor, *, max_size: int = MAX_BLOB_BYTES) -> bytes:
        digest = check_digest(descriptor.digest, f"blob in {self.root}")
        if descriptor.size > max_size:
            raise RegistryError(
                f"blob {digest} in layout {self.root} is larger than allowed (not read)",
                code=Code.SIZE_LIMIT,
                expected=f"at most {max_size} bytes",
                found=f"{descriptor.size} bytes (descriptor size)",
            )
        data = self._read_blob(digest, descriptor.size, f"blob {digest}")
        if len(data) != descriptor.size:
            raise RegistryError(
                f"blob {digest} in layout {self.root}: size does not match its descriptor",
                code=Code.DIGEST_MISMATCH,
                expected=f"{descriptor.size} bytes",
                found=f"{len(data)} bytes",
            )
        verify_digest(data, digest, f"layout {self.root} blob")
        return data

    def referrers(self, ref: ImageRef, digest: str) -> Referrers:
        """The fallback tag's index (when present) plus every manifest listed in index.json whose subject is
        ``digest`` (tools such as notation list referrers there directly)."""
        check_digest(digest, f"referrers in {self.root}")
        found: dict[str, Descriptor] = {}
        via = "layout"
        tag = fallback_tag(digest)
        if any(e.annotations.get(REF_NAME) == tag for e in self._index()):
            manifest = self.get_manifest(ref, tag)
            where = f"referrers tag {tag} in layout {self.root}"
            if manifest.descriptor.media_type not in INDEX_TYPES:
                raise RegistryError(f"{where}: is not an image index", found=manifest.descriptor.media_type)
            obj = parse_manifest(manifest.raw, None, where)
            for d in index_descriptors(obj, where, MAX_REFERRERS):
                found.setdefault(d.digest, d)
            via = "referrers tag"
        extra = [d for d in self._subject_map().get(digest, []) if d.digest not in found]
        for d in extra:
            found[d.digest] = d
        if extra and via == "referrers tag":
            via = "referrers tag + layout index"
        if len(found) > MAX_REFERRERS:
            raise RegistryError(
                f"layout {self.root}: more than {MAX_REFERRERS} referrers for {digest}", code=Code.SIZE_LIMIT
            )
        return Referrers(tuple(found.values()), via)

    # -- internals ------------------------------------------------------------------------------------------

    def _index(self) -> list[Descriptor]:
        with self._lock:
            if self._entries is not None:
                return self._entries
        try:
            marker = loads_strict(self._read_file("oci-layout", 64 * 1024, "oci-layout"), what="oci-layout")
        except PayloadError:
            marker = None
        if not isinstance(marker, dict) or not isinstance(marker.get("imageLayoutVersion"), str):
            raise RegistryError(
                f"{self.root} is not an OCI image layout: `oci-layout` is missing or invalid",
                expected='{"imageLayoutVersion": "1.0.0"}',
                tip="Create the layout with `skopeo copy ... oci:DIR:TAG`, `oras cp --to-oci-layout` or cosign save.",
            )
        raw = self._read_file("index.json", MAX_MANIFEST_BYTES, "index.json")
        where = f"layout {self.root} index.json"
        obj = parse_manifest(raw, None, where)
        entries = index_descriptors(obj, where, MAX_INDEX_ENTRIES)
        with self._lock:
            self._entries = entries
        return entries

    def _tagged(self, tag: str) -> Descriptor:
        _check_layout_reference(tag)
        matches = [e for e in self._index() if e.annotations.get(REF_NAME) == tag]
        if not matches:
            raise NotFoundError(
                f"tag {tag!r} not found in OCI layout {self.root}",
                tip=f"The layout's index.json must list the manifest with annotation {REF_NAME}={tag}.",
            )
        if len({e.digest for e in matches}) > 1:
            raise RegistryError(
                f"tag {tag!r} names {len(matches)} different manifests in OCI layout {self.root}",
                expected="one manifest per tag",
                found=", ".join(sorted({e.digest for e in matches})),
            )
        return matches[0]

    def _read_manifest(self, digest: str, max_size: int, media_type_hint: str | None) -> Manifest:
        raw = self._read_blob(digest, max_size, f"manifest {digest}")
        where = f"layout {self.root} manifest {digest}"
        verify_digest(raw, digest, where)
        obj = parse_manifest(raw, media_type_hint, where)
        return Manifest(descriptor=manifest_descriptor(obj, raw, digest, media_type_hint), raw=raw)

    def _subject_map(self) -> dict[str, list[Descriptor]]:
        """subject digest -> referrer descriptors, for manifests listed in index.json (read once, bounded)."""
        with self._lock:
            if self._subjects is not None:
                return self._subjects
        subjects: dict[str, list[Descriptor]] = {}
        for entry in self._index()[:MAX_REFERRERS]:
            if entry.media_type in INDEX_TYPES or entry.size > MAX_MANIFEST_BYTES:
                continue
            try:
                manifest = self._read_manifest(entry.digest, MAX_MANIFEST_BYTES, entry.media_type)
            except NotFoundError:
                continue
            obj: Any = loads_strict(manifest.raw, what="manifest")  # parsed (and bounded) by _read_manifest
            subject = obj.get("subject")
            if not isinstance(subject, dict) or not isinstance(subject.get("digest"), str):
                continue
            config = obj.get("config")
            artifact_type = artifact_type_of(obj.get("artifactType")) or artifact_type_of(
                config.get("mediaType") if isinstance(config, dict) else None)
            subjects.setdefault(subject["digest"], []).append(
                Descriptor(
                    media_type=manifest.descriptor.media_type,
                    digest=entry.digest,
                    size=manifest.descriptor.size,
                    annotations=string_map(obj.get("annotations")),
                    artifact_type=artifact_type,
                )
            )
        with self._lock:
            self._subjects = subjects
        return subjects

    def _read_blob(self, digest: str, cap: int, what: str) -> bytes:
        algorithm, hexpart = check_digest(digest, f"layout {self.root}").split(":", 1)
        try:
            return self._read_file(os.path.join("blobs", algorithm, hexpart), cap, what)
        except FileNotFoundError:
            raise NotFoundError(
                f"{what} not found in OCI layout {self.root} (no file blobs/{algorithm}/{hexpart})",
                tip="The layout is incomplete; copy it again with all blobs.",
            ) from None

    def _read_file(self, relative: str, cap: int, what: str) -> bytes:
        """Read ``relative`` (under the layout root) with the registry's caps. It must be a regular file inside
        the layout: symlinks may point within the layout, never out of it; FIFOs, devices, sockets and
        directories are refused before they are read (a FIFO would block forever, a device never end)."""
        path = os.path.realpath(os.path.join(self.root, relative))
        if os.path.commonpath([path, self.root]) != self.root:
            raise RegistryError(
                f"layout {self.root}: {what} resolves outside the layout ({path})",
                expected="a regular file inside the layout directory",
                found=f"a symlink to {path}",
                tip="Layout files must be inside the layout directory; symlinks out of it are refused.",
            )
        try:
            before = os.lstat(path)
            if not stat.S_ISREG(before.st_mode):
                raise self._not_regular(what, before.st_mode)
            flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
            fd = os.open(path, flags)
        except FileNotFoundError:
            if what in ("oci-layout", "index.json"):
                raise RegistryError(
                    f"{self.root} is not an OCI image layout: {what} is missing",
                    tip="Point `oci:` at the directory that holds oci-layout, index.json and blobs/.",
                ) from None
            raise
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # swapped for a symlink after it was checked
                raise RegistryError(f"{what} in layout {self.root} changed into a symlink while being read") from None
            raise RegistryError(f"cannot read {what} in layout {self.root}: {exc.strerror}") from None
        try:
            opened = os.fstat(fd)
            if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino):
                raise self._not_regular(what, opened.st_mode)
            if opened.st_size > cap:
                raise self._too_large(what, cap, f"{opened.st_size} bytes")
            data = _read_at_most(fd, cap + 1)
        except OSError as exc:
            raise RegistryError(f"cannot read {what} in layout {self.root}: {exc.strerror}") from None
        finally:
            os.close(fd)
        if len(data) > cap:
            raise self._too_large(what, cap, f"more than {cap} bytes (stopped reading)")
        return data

    def _not_regular(self, what: str, mode: int) -> RegistryError:
        kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
        return RegistryError(
            f"{what} in layout {self.root} is {kind}, not a regular file (not read)",
            expected="a regular file",
            found=kind,
            tip="Copy the layout again (skopeo copy, oras cp, cosign save); sigverify reads only regular files.",
        )

    def _too_large(self, what: str, cap: int, found: str) -> RegistryError:
        return RegistryError(
            f"{what} in layout {self.root} is larger than allowed",
            code=Code.SIZE_LIMIT,
            expected=f"at most {cap} bytes",
            found=found,
        )


_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symlink"),
)


def _read_at_most(fd: int, limit: int) -> bytes:
    """Up to ``limit`` bytes from a regular file (a short read is not the end: loop until EOF or the limit)."""
    parts: list[bytes] = []
    total = 0
    while total < limit:
        chunk = os.read(fd, min(1024 * 1024, limit - total))
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)
