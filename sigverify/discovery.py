"""Find the candidate signatures stored for one digest (cosign tags, OCI referrers); no cryptography here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sigverify.errors import NotFoundError, RegistryError
from sigverify.formats import FORMATS, REFERRER_FORMATS, SPEC, TAG_FORMATS, FormatSpec
from sigverify.models import Candidate, Code, Descriptor, ImageRef, Reason
from sigverify.reference import signature_tag
from sigverify.registry.base import MAX_LAYERS, MAX_REFERRERS, Source
from sigverify.registry.content import parse_descriptor, parse_manifest


@dataclass
class Discovery:
    """What was found: candidates, where we looked, and problems with individual stored objects."""

    candidates: list[Candidate] = field(default_factory=list)
    looked_in: list[str] = field(default_factory=list)
    problems: list[Reason] = field(default_factory=list)
    skipped: int = 0  # referrers that are not signatures (SBOMs, other artifacts)

    def extend(self, other: Discovery) -> None:
        self.candidates.extend(other.candidates)
        self.looked_in.extend(other.looked_in)
        self.problems.extend(other.problems)
        self.skipped += other.skipped


def _problem(err: RegistryError, what: str) -> Reason:
    return Reason(code=err.code, message=f"{what}: {err.message_and_tip()}", expected=err.expected, found=err.found)


def _layers(doc: dict[str, Any], where: str) -> list[Descriptor]:
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise RegistryError(f"{where} has no layers list", code=Code.UNSUPPORTED_FORMAT)
    if len(layers) > MAX_LAYERS:
        raise RegistryError(f"{where} has {len(layers)} layers", code=Code.SIZE_LIMIT,
                            expected=f"at most {MAX_LAYERS}", found=str(len(layers)))
    return [parse_descriptor(layer, f"{where} layer {i}") for i, layer in enumerate(layers)]


def _from_tag(source: Source, ref: ImageRef, digest: str, fmt: str) -> Discovery:
    """cosign tag-based storage: one layer per signature under ``sha256-<hex>.<suffix>``."""
    tag = signature_tag(digest, TAG_FORMATS[fmt])
    found = Discovery(looked_in=[f"tag {tag}"])
    try:
        manifest = source.get_manifest(ref, tag)
    except NotFoundError:
        return found
    except RegistryError as err:
        found.problems.append(_problem(err, f"signature manifest {tag}"))
        return found
    storage = f"tag {tag}"
    try:
        layers = _layers(parse_manifest(manifest.raw, None, f"signature manifest {tag}"), f"signature manifest {tag}")
    except RegistryError as err:
        found.problems.append(_problem(err, storage))
        return found
    for layer in layers:
        try:
            content = source.get_blob(ref, layer)
        except RegistryError as err:
            found.problems.append(_problem(err, f"{storage} layer {layer.digest}"))
            continue
        found.candidates.append(Candidate(
            format=fmt, storage=storage, subject_digest=digest, manifest_digest=manifest.descriptor.digest,
            layer=layer, content=content,
        ))
    return found


def _layer_matches(spec: FormatSpec, media_type: str) -> bool:
    return media_type.startswith(spec.media_type) if spec.media_prefix else media_type == spec.media_type


def _classify(doc: dict[str, Any], layers: list[Descriptor]) -> str | None:
    """Which signature format a referrer manifest holds, judged by content, not by the (untrusted) index entry:
    its artifact type (or config media type), else its first layer's media type."""
    config = doc.get("config") if isinstance(doc.get("config"), dict) else {}
    artifact_type = doc.get("artifactType")
    referrers = [s for s in FORMATS if s.format in REFERRER_FORMATS]
    for spec in referrers:
        if not spec.media_prefix and (artifact_type == spec.media_type or (
                isinstance(config, dict) and config.get("mediaType") == spec.media_type)):
            return spec.format
    for spec in referrers:
        if spec.media_prefix and layers and _layer_matches(spec, layers[0].media_type):
            return spec.format
    return None


def _from_referrers(source: Source, ref: ImageRef, digest: str, formats: Iterable[str]) -> Discovery:
    wanted = set(formats)
    found = Discovery()
    try:
        referrers = source.referrers(ref, digest)
    except RegistryError as err:
        found.looked_in.append("referrers")
        found.problems.append(_problem(err, "referrers"))
        return found
    found.looked_in.append(referrers.via)
    for entry in referrers.descriptors[:MAX_REFERRERS]:
        where = f"referrer {entry.digest}"
        try:
            manifest = source.get_manifest(ref, entry.digest)
            doc = parse_manifest(manifest.raw, None, where)
            subject = doc.get("subject")
            # The referrers list (above all the tag fallback) is unsigned: keep only what points at us.
            if subject is None or parse_descriptor(subject, f"{where} subject").digest != digest:
                found.skipped += 1
                continue
            layers = _layers(doc, where)
            fmt = _classify(doc, layers)
            if fmt is None or fmt not in wanted:
                found.skipped += 1
                continue
            spec = SPEC[fmt]
            if spec.single_layer and len(layers) != 1:
                found.problems.append(Reason(Code.UNSUPPORTED_FORMAT,
                                             f"{where}: a Notary signature manifest must have exactly one layer",
                                             expected="1", found=str(len(layers))))
                continue
            annotations = doc.get("annotations") if isinstance(doc.get("annotations"), dict) else {}
            for layer in layers[:1] if spec.single_layer else layers:
                if spec.media_prefix and not _layer_matches(spec, layer.media_type):
                    continue
                content = source.get_blob(ref, layer)
                found.candidates.append(Candidate(
                    format=fmt, storage=referrers.via, subject_digest=digest,
                    manifest_digest=manifest.descriptor.digest, layer=layer, content=content,
                    manifest_annotations={k: v for k, v in (annotations or {}).items() if isinstance(v, str)},
                    artifact_type=doc.get("artifactType") if isinstance(doc.get("artifactType"), str) else None,
                ))
        except RegistryError as err:
            found.problems.append(_problem(err, where))
    return found


def discover(source: Source, ref: ImageRef, digest: str, formats: Iterable[str]) -> Discovery:
    """Every stored candidate of the given formats for ``digest``. Registry problems with single objects are
    returned as ``problems`` (the caller decides); only a failure of the whole source raises."""
    wanted = list(dict.fromkeys(formats))
    result = Discovery()
    for fmt in wanted:
        if fmt in TAG_FORMATS:
            result.extend(_from_tag(source, ref, digest, fmt))
    referrer_formats = [f for f in wanted if f in REFERRER_FORMATS]
    if referrer_formats:
        result.extend(_from_referrers(source, ref, digest, referrer_formats))
    return result
