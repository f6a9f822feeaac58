"""Discovery on a real OCI image layout on disk: which stored objects become candidates of which format, read
from the formats table, and which are skipped or reported."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sigverify.discovery import discover
from sigverify.formats import NOTARY_SIGNATURE, REFERRER_FORMATS, SIMPLE_SIGNING_MEDIA_TYPE, TAG_FORMATS
from sigverify.models import Code, Format
from sigverify.reference import parse
from sigverify.registry.layout import LayoutSource

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"


class Layout:
    """An OCI image layout written file by file: blobs by digest, index.json entries."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True)
        (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
        self.entries: list[dict[str, Any]] = []

    def blob(self, data: bytes, media_type: str) -> dict[str, Any]:
        digest = hashlib.sha256(data).hexdigest()
        (self.root / "blobs" / "sha256" / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}

    def manifest(self, layers: list[dict[str, Any]], *, tag: str | None = None, listed: bool = True,
                 **extra: Any) -> dict[str, Any]:
        config = self.blob(b"{}", extra.pop("config_type", EMPTY))
        doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": layers, **extra}
        desc = self.blob(json.dumps(doc).encode(), OCI_MANIFEST)
        if listed:
            entry = dict(desc)
            if tag is not None:
                entry["annotations"] = {"org.opencontainers.image.ref.name": tag}
            self.entries.append(entry)
        return desc

    def write_index(self) -> None:
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": self.entries}
        (self.root / "index.json").write_text(json.dumps(index))


def _image(tmp_path: Path) -> tuple[Layout, dict[str, Any]]:
    layout = Layout(tmp_path / "layout")
    image = layout.manifest([layout.blob(b"layer", "application/vnd.oci.image.layer.v1.tar")], tag="app")
    return layout, image


def _discover(layout: Layout, digest: str, formats: list[str]) -> Any:
    layout.write_index()
    ref = parse(f"oci:{layout.root}:app")
    return discover(LayoutSource(str(layout.root)), ref, digest, formats)


def test_the_table_places_every_format_in_one_storage() -> None:
    assert set(TAG_FORMATS) == {Format.COSIGN_CLASSIC, Format.COSIGN_ATTESTATION}
    assert TAG_FORMATS[Format.COSIGN_CLASSIC] == "sig" and TAG_FORMATS[Format.COSIGN_ATTESTATION] == "att"
    assert set(REFERRER_FORMATS) == {Format.SIGSTORE_BUNDLE, Format.NOTATION}


def test_every_layer_of_the_sig_tag_is_a_candidate(tmp_path: Path) -> None:
    layout, image = _image(tmp_path)
    digest = image["digest"]
    tag = f"sha256-{digest.removeprefix('sha256:')}.sig"
    layers = [layout.blob(b'{"n": 1}', SIMPLE_SIGNING_MEDIA_TYPE), layout.blob(b'{"n": 2}', SIMPLE_SIGNING_MEDIA_TYPE)]
    layout.manifest(layers, tag=tag)
    found = _discover(layout, digest, [Format.COSIGN_CLASSIC])
    assert [c.format for c in found.candidates] == [Format.COSIGN_CLASSIC, Format.COSIGN_CLASSIC]
    assert [c.content for c in found.candidates] == [b'{"n": 1}', b'{"n": 2}']
    assert {c.storage for c in found.candidates} == {f"tag {tag}"}
    assert found.looked_in == [f"tag {tag}"] and found.problems == []


def test_a_missing_signature_tag_is_no_candidate_and_no_problem(tmp_path: Path) -> None:
    layout, image = _image(tmp_path)
    found = _discover(layout, image["digest"], [Format.COSIGN_CLASSIC, Format.COSIGN_ATTESTATION])
    assert found.candidates == [] and found.problems == []
    assert len(found.looked_in) == 2


def test_referrers_are_classified_by_their_own_content(tmp_path: Path) -> None:
    layout, image = _image(tmp_path)
    digest = image["digest"]
    subject = {"mediaType": OCI_MANIFEST, "digest": digest, "size": image["size"]}
    layout.manifest([layout.blob(b"jws", "application/jose+json")], subject=subject, artifactType=NOTARY_SIGNATURE)
    layout.manifest([layout.blob(b"cose", "application/cose")], subject=subject, config_type=NOTARY_SIGNATURE)
    layout.manifest([layout.blob(b'{"bundle": 1}', BUNDLE)], subject=subject, artifactType=BUNDLE)
    sbom = "application/spdx+json"
    layout.manifest([layout.blob(b"sbom", sbom)], subject=subject, artifactType=sbom)
    other = {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "0" * 64, "size": 1}
    layout.manifest([layout.blob(b"elsewhere", BUNDLE)], subject=other, artifactType=BUNDLE)
    found = _discover(layout, digest, [Format.SIGSTORE_BUNDLE, Format.NOTATION])
    by_format = sorted((c.format, c.content) for c in found.candidates)
    assert by_format == [(Format.NOTATION, b"cose"), (Format.NOTATION, b"jws"),
                         (Format.SIGSTORE_BUNDLE, b'{"bundle": 1}')]
    assert found.skipped == 1  # the SBOM; the referrer of another digest is not listed for this one
    assert found.problems == []


def test_only_wanted_referrer_formats_are_fetched(tmp_path: Path) -> None:
    layout, image = _image(tmp_path)
    subject = {"mediaType": OCI_MANIFEST, "digest": image["digest"], "size": image["size"]}
    layout.manifest([layout.blob(b'{"bundle": 1}', BUNDLE)], subject=subject, artifactType=BUNDLE)
    found = _discover(layout, image["digest"], [Format.NOTATION])
    assert found.candidates == [] and found.skipped == 1


def test_a_notary_signature_with_two_layers_is_reported_not_verified(tmp_path: Path) -> None:
    layout, image = _image(tmp_path)
    subject = {"mediaType": OCI_MANIFEST, "digest": image["digest"], "size": image["size"]}
    layers = [layout.blob(b"one", "application/jose+json"), layout.blob(b"two", "application/jose+json")]
    layout.manifest(layers, subject=subject, artifactType=NOTARY_SIGNATURE)
    found = _discover(layout, image["digest"], [Format.NOTATION])
    assert found.candidates == []
    assert [p.code for p in found.problems] == [Code.UNSUPPORTED_FORMAT]
    assert "exactly one layer" in found.problems[0].message


def test_bundle_referrer_layers_of_other_types_are_ignored(tmp_path: Path) -> None:
    layout, image = _image(tmp_path)
    subject = {"mediaType": OCI_MANIFEST, "digest": image["digest"], "size": image["size"]}
    layers = [layout.blob(b'{"bundle": 2}', BUNDLE), layout.blob(b"note", "text/plain")]
    layout.manifest(layers, subject=subject, artifactType=BUNDLE)
    found = _discover(layout, image["digest"], [Format.SIGSTORE_BUNDLE])
    assert [c.content for c in found.candidates] == [b'{"bundle": 2}']
