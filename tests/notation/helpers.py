"""Build notation candidates from OCI layouts on disk, authorities and contexts, for verifier tests."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sigverify.crypto.trustroot import TrustStore
from sigverify.formats.base import VerifyContext
from sigverify.formats.notation import VERIFIER
from sigverify.models import Candidate, Descriptor, Format, ImageRef, SignatureCheck
from sigverify.policy.model import Authority, Location

NOTARY_SIGNATURE = "application/vnd.cncf.notary.signature"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read_blob(layout: Path, digest: str, size: int | None = None) -> bytes:
    data = (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()
    assert sha256(data) == digest, f"blob {digest} does not match its digest"
    assert size is None or len(data) == size, f"blob {digest} size {len(data)} != {size}"
    return data


def layout_subject(layout: Path) -> Descriptor:
    """The tagged image of an e2e layout (ref name v1), digest-checked."""
    index = json.loads((layout / "index.json").read_text())
    ref = "org.opencontainers.image.ref.name"
    entry = next(m for m in index["manifests"] if m.get("annotations", {}).get(ref) == "v1")
    read_blob(layout, entry["digest"], entry["size"])
    return Descriptor(entry["mediaType"], entry["digest"], entry["size"])


def layout_candidates(layout: Path, subject: Descriptor) -> list[Candidate]:
    """Every Notary signature for ``subject``: the ``sha256-<hex>`` fallback index and manifests whose subject
    is the image (both manifest forms), each manifest and layer digest-checked."""
    index = json.loads((layout / "index.json").read_text())
    tag = "sha256-" + subject.digest.split(":", 1)[1]
    refs: dict[str, tuple[int, str]] = {}
    for m in index["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            fallback = json.loads(read_blob(layout, m["digest"], m["size"]))
            for r in fallback["manifests"]:
                refs[r["digest"]] = (r["size"], "referrers tag")
        elif m["mediaType"] == MANIFEST and m["digest"] != subject.digest:
            doc = json.loads(read_blob(layout, m["digest"], m["size"]))
            if doc.get("subject", {}).get("digest") == subject.digest:
                refs.setdefault(m["digest"], (m["size"], "layout"))
    if not refs:  # some tools record referrers only as blobs: scan the layout's manifests for the subject
        for blob in (layout / "blobs" / "sha256").iterdir():
            if blob.stat().st_size > 64 * 1024:
                continue
            try:
                doc = json.loads(blob.read_bytes())
            except ValueError:
                continue
            if isinstance(doc, dict) and doc.get("subject", {}).get("digest") == subject.digest:
                refs[f"sha256:{blob.name}"] = (blob.stat().st_size, "layout")
    out = []
    for digest, (size, storage) in refs.items():
        doc = json.loads(read_blob(layout, digest, size))
        kind = doc.get("artifactType") or doc["config"]["mediaType"]
        if kind != NOTARY_SIGNATURE:
            continue
        assert doc["subject"]["digest"] == subject.digest
        (layer,) = doc["layers"]
        content = read_blob(layout, layer["digest"], layer["size"])
        desc = Descriptor(layer["mediaType"], layer["digest"], layer["size"], layer.get("annotations", {}))
        out.append(
            Candidate(Format.NOTATION, storage, subject.digest, digest, desc, content, doc.get("annotations", {}), kind)
        )
    return out


def envelope_candidate(content: bytes, media_type: str, subject_digest: str) -> Candidate:
    layer = Descriptor(media_type, sha256(content), len(content))
    return Candidate(Format.NOTATION, "vector", subject_digest, "sha256:" + "0" * 64, layer, content)


def authority(notation: Mapping[str, Any], name: str = "notary") -> Authority:
    return Authority(name=name, location=Location("test.yaml", 1), notation=dict(notation))


def context(
    subject: Descriptor, *, now: _dt.datetime | None = None, registry: str = "localhost:5000", repo: str = "e2e"
) -> VerifyContext:
    image = ImageRef(registry, repo, "v1", subject.digest)
    kwargs: dict[str, Any] = {}
    if now is not None:
        kwargs["now"] = now
    return VerifyContext(image=image, digest=subject.digest, subject=subject, trust=TrustStore(), **kwargs)


def run(candidate: Candidate, notation: Mapping[str, Any], subject: Descriptor, **ctx: Any) -> SignatureCheck:
    return VERIFIER.verify(candidate, authority(notation), context(subject, **ctx))


def at(text: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(text)
