"""Multi-arch images: which platform manifests of an image index a policy's ``platforms:`` asks to verify, and one
row for the image made of the index's own verdict and its platform rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sigverify.crypto.strictjson import PayloadError, loads_strict
from sigverify.errors import RegistryError
from sigverify.models import Code, Descriptor, ImageRef, ImageResult, PolicyResult, Reason, Verdict
from sigverify.policy.model import Policy
from sigverify.policy.platforms import platform_of, selects
from sigverify.registry.base import Source
from sigverify.registry.content import INDEX_TYPES, index_descriptors, parse_descriptor, parse_manifest

MAX_INDEX_ENTRIES = 256  # entries read from one image index
MAX_PLATFORMS = 64  # platform manifests verified under one image
MAX_CONFIG_BYTES = 1024 * 1024  # an image config read for its platform
_UNKNOWN = "unknown/unknown"  # build attestations stored next to the platforms (buildkit), not a platform
_RANK = {Verdict.PASS: 0, Verdict.WAIVED: 1, Verdict.WARN: 2, Verdict.FAIL: 3, Verdict.ERROR: 4}


@dataclass(frozen=True)
class Child:
    """One entry of an image index: its normalised platform (None when it names none) and its descriptor."""

    platform: str | None
    descriptor: Descriptor


def wants_platforms(policies: Sequence[Policy]) -> bool:
    return any(p.platforms != "index" for p in policies)


def is_index(descriptor: Descriptor) -> bool:
    return descriptor.media_type in INDEX_TYPES


def index_children(source: Source, ref: ImageRef, digest: str) -> list[Child]:
    """The entries of the index ``digest`` (fetched size-capped and digest-checked, entry count bounded)."""
    manifest = source.get_manifest(ref, digest)
    where = f"image index {ref.name}@{digest}"
    obj = parse_manifest(manifest.raw, manifest.descriptor.media_type, where)
    descriptors = index_descriptors(obj, where, MAX_INDEX_ENTRIES)
    entries = obj.get("manifests", [])
    out = []
    for entry, descriptor in zip(entries, descriptors, strict=True):
        platform = entry.get("platform")
        out.append(Child(platform_of(platform) if isinstance(platform, dict) else None, descriptor))
    return out


@dataclass
class Plan:
    """What to verify under one index: digest -> (platform, policies that select it); failures of the selection."""

    children: dict[str, tuple[str, list[Policy]]]
    missing: list[Reason]


def plan(children: Sequence[Child], policies: Sequence[Policy]) -> Plan:
    """Select the platform manifests every ``all``/list policy asks for; a listed platform absent is a failure."""
    out = Plan({}, [])
    present = sorted({c.platform for c in children if c.platform and c.platform != _UNKNOWN})
    for policy in policies:
        if policy.platforms == "index":
            continue
        if policy.platforms == "all":
            # Every entry but build attestations: one without a usable platform is verified too (fail closed).
            chosen = [c for c in children if c.platform != _UNKNOWN]
            if not chosen:
                out.missing.append(Reason(
                    Code.PLATFORM_MISSING, "the image index lists no platform manifest", policy=policy.name,
                    expected="at least one entry that is not a build attestation", found=f"{len(children)} entries"))
        else:
            chosen = []
            for wanted in policy.platforms:
                hits = [c for c in children if c.platform and selects(wanted, c.platform)]
                if not hits:
                    out.missing.append(Reason(
                        Code.PLATFORM_MISSING, f"platform {wanted} is not in the image index", policy=policy.name,
                        expected=wanted, found="platforms in the index: " + (", ".join(present) or "none")))
                chosen.extend(hits)
        for child in chosen:
            entry = out.children.setdefault(child.descriptor.digest, (child.platform or "(no platform)", []))
            if policy not in entry[1]:
                entry[1].append(policy)
    if len(out.children) > MAX_PLATFORMS:
        out.missing.append(Reason(
            Code.RESOURCE_LIMIT, "the image index selects too many platform manifests to verify",
            expected=f"at most {MAX_PLATFORMS}", found=str(len(out.children))))
        out.children = dict(list(out.children.items())[:MAX_PLATFORMS])
    return out


def worst(*verdicts: Verdict) -> Verdict:
    return max(verdicts, key=lambda v: _RANK[v], default=Verdict.PASS)


def missing_verdict(missing: Sequence[Reason], policies: Sequence[Policy]) -> Verdict:
    """A missing platform fails the image, or warns when every policy that listed it is in ``mode: warn``."""
    if not missing:
        return Verdict.PASS
    modes = {p.name: p.mode for p in policies}
    return Verdict.WARN if all(modes.get(r.policy or "") == "warn" for r in missing) else Verdict.FAIL


def combine(parent: ImageResult, rows: Sequence[ImageResult], missing: Sequence[Reason],
            policies: Sequence[Policy]) -> ImageResult:
    """The image's row: its own (index) verdict, the missing platforms and the worst platform row.

    A platform row that did not pass puts its reasons on the image too (named by platform); a waived platform row
    makes the image at best ``waived``, never ``pass``."""
    carried: list[Reason] = []
    for row in rows:
        if row.verdict in (Verdict.PASS, Verdict.WAIVED):
            continue
        for r in row.reasons or (Reason(row.verdict.value.upper(), "no reason recorded"),):
            carried.append(replace(r, message=f"platform {row.platform}: {r.message}"))
    verdict = worst(parent.verdict, missing_verdict(missing, policies), *(r.verdict for r in rows))
    if not rows and not missing and parent.verdict is Verdict.PASS and not parent.policies:
        verdict = Verdict.FAIL  # nothing was verified: never a pass
        carried.append(Reason(Code.PLATFORM_MISSING, "no platform manifest was verified"))
    judged = tuple(_platform_policy(p, rows, missing) for p in policies if p.platforms != "index")
    return replace(parent, verdict=verdict, reasons=(*parent.reasons, *missing, *carried), platforms=tuple(rows),
                   policies=(*parent.policies, *judged))


def _platform_policy(policy: Policy, rows: Sequence[ImageResult], missing: Sequence[Reason]) -> PolicyResult:
    """How an ``all``/list policy judged the image: through the platform rows it selected."""
    reasons = [r for r in missing if r.policy == policy.name]
    verified: set[str] = set()
    for row in rows:
        for result in row.policies:
            if result.policy != policy.name:
                continue
            verified.update(result.verified_by)
            if not result.passed:
                reasons.extend(replace(r, message=f"platform {row.platform}: {r.message}") for r in result.reasons)
    return PolicyResult(policy=policy.name, mode=policy.mode, passed=not reasons, threshold=policy.threshold,
                        verified_by=tuple(sorted(verified)) if not reasons else (), reasons=tuple(reasons))


def manifest_platform(source: Source, ref: ImageRef, digest: str) -> str | None:
    """The platform an image manifest's config names (config fetched size-capped and digest-checked), or None."""
    manifest = source.get_manifest(ref, digest)
    where = f"image manifest {ref.name}@{digest}"
    obj = parse_manifest(manifest.raw, manifest.descriptor.media_type, where)
    config = parse_descriptor(obj.get("config"), f"{where} config")
    raw = source.get_blob(ref, config, max_size=MAX_CONFIG_BYTES)
    try:
        data = loads_strict(raw, what="image config", max_bytes=MAX_CONFIG_BYTES)
    except PayloadError as exc:
        raise RegistryError(f"{where}: {exc.message}", expected=exc.expected, found=exc.found) from None
    return platform_of(data) if isinstance(data, dict) else None


def single_platform(result: ImageResult, platform: str | None, policies: Sequence[Policy]) -> ImageResult:
    """A single-platform image under policies that list platforms: each listed platform must be the image's."""
    missing = [
        Reason(Code.PLATFORM_MISSING, f"platform {wanted} is not this image's: it is a single-platform image, not "
               "an index", policy=p.name, expected=wanted, found=f"the image's platform: {platform or 'none named'}")
        for p in policies if isinstance(p.platforms, tuple)
        for wanted in p.platforms if platform is None or not selects(wanted, platform)
    ]
    if not missing:
        return result
    verdict = worst(result.verdict, missing_verdict(missing, policies))
    return replace(result, verdict=verdict, reasons=(*missing, *result.reasons))
