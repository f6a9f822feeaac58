"""Frozen values passed between stages: references, descriptors, candidates, checks and results."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# ---------------------------------------------------------------------------------------------------------------
# Reason codes (machine readable). Stable strings: reports and users depend on them.
# ---------------------------------------------------------------------------------------------------------------


class Code(enum.StrEnum):
    """Reason codes (the values are what reports show). Add new codes here, with a one-line meaning."""

    NO_POLICY = "NO_POLICY"  # the image matched no policy and default is deny
    DEFAULT_ALLOW = "DEFAULT_ALLOW"  # no policy matched; passed only because `default: allow`
    NO_SIGNATURE = "NO_SIGNATURE"  # no signature of any kind is stored for the digest
    NO_MATCHING_SIGNATURE = "NO_MATCHING_SIGNATURE"  # signatures exist, none verified with the authorities
    THRESHOLD_NOT_MET = "THRESHOLD_NOT_MET"  # fewer distinct authorities verified than the threshold
    DIGEST_MISMATCH = "DIGEST_MISMATCH"  # a signature (or content) is bound to another digest
    ANNOTATION_MISMATCH = "ANNOTATION_MISMATCH"  # signed annotations differ from the policy's
    TLOG_INVALID = "TLOG_INVALID"  # transparency-log proof missing, invalid, or bound to something else
    INVALID_SIGNATURE = "INVALID_SIGNATURE"  # cryptographic check failed
    INVALID_PAYLOAD = "INVALID_PAYLOAD"  # the signed payload is malformed (bad JSON, dup keys, wrong type)
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"  # a stored object we do not understand (never a pass)
    IDENTITY_MISMATCH = "IDENTITY_MISMATCH"  # keyless: certificate identity/issuer/claims differ
    CERTIFICATE_INVALID = "CERTIFICATE_INVALID"  # chain, validity window, EKU or SCT failed
    ATTESTATION_MISSING = "ATTESTATION_MISSING"  # a required attestation type is absent
    ATTESTATION_MISMATCH = "ATTESTATION_MISMATCH"  # a required attestation's predicate condition failed
    EXPIRED = "EXPIRED"  # signature expiry passed (notation)
    REVOKED = "REVOKED"  # certificate revoked or revocation could not be checked under strict
    KEY_ERROR = "KEY_ERROR"  # key material could not be loaded (KMS, PEM)
    VERIFICATION_WARNING = "VERIFICATION_WARNING"  # a check the verification level only logs failed
    NOT_APPLICABLE = "NOT_APPLICABLE"  # a stored signature no authority of the matching policies can check
    # registry categories
    AUTH_ERROR = "AUTH_ERROR"
    NOT_FOUND = "NOT_FOUND"
    RATE_LIMITED = "RATE_LIMITED"
    REGISTRY_ERROR = "REGISTRY_ERROR"
    SIZE_LIMIT = "SIZE_LIMIT"
    INSECURE_REFUSED = "INSECURE_REFUSED"
    TIMEOUT = "TIMEOUT"  # a request, an image or the whole run (--timeout) exceeded its time bound
    INVALID_REFERENCE = "INVALID_REFERENCE"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    RESOURCE_LIMIT = "RESOURCE_LIMIT"  # hostile content exhausted recursion or memory while it was verified
    DIGEST_REQUIRED = "DIGEST_REQUIRED"  # `require_digest: true` and the image was given by tag only
    PLATFORM_MISSING = "PLATFORM_MISSING"  # a platform the policy lists is not in the image index
    WAIVER_EXPIRED = "WAIVER_EXPIRED"  # the failure was covered by a waiver whose expiry has passed
    WAIVED = "WAIVED"  # a failure covered by an unexpired waiver (the verdict is `waived`, never `pass`)
    # sigverify merge: the reports do not make up one whole sharded run
    SHARD_MISSING = "SHARD_MISSING"  # no report for some shard I of N
    SHARD_DUPLICATE = "SHARD_DUPLICATE"  # two reports for the same shard
    SHARD_MISMATCH = "SHARD_MISMATCH"  # reports of another N, config fingerprint or version, or unmarked


class Exit(enum.IntEnum):
    """Process exit codes of every sigverify command."""

    OK = 0  # every enforced check passed
    FAIL = 1  # verification failed (a reason says why)
    USAGE = 2  # bad input or configuration: nothing was verified
    INTERNAL = 3  # internal error, or the environment cannot be written: nothing was approved


class Verdict(enum.StrEnum):
    PASS = "pass"  # noqa: S105
    FAIL = "fail"
    WARN = "warn"  # failed, but every failing policy is in `mode: warn`
    ERROR = "error"  # could not be decided (registry/internal error); never a pass
    WAIVED = "waived"  # failed, but every failure is covered by an unexpired waiver (exit 0); never a pass

    def __str__(self) -> str:
        return self.value


# ---------------------------------------------------------------------------------------------------------------
# References and registry objects
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageRef:
    """A normalised image reference.

    ``registry`` is the canonical host[:port] (``docker.io`` for Docker Hub); ``repository`` the path
    (``library/nginx``). For an OCI image layout on disk, ``layout`` is the directory and ``registry`` is
    ``"oci"``. At least one of ``tag`` / ``digest`` is set after parsing (``latest`` is filled in).
    """

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None
    layout: str | None = None
    original: str = ""

    @property
    def name(self) -> str:
        """``registry/repository`` (or ``oci:<path>`` for a layout): what policies match against."""
        if self.layout is not None:
            return f"oci:{self.layout}"
        return f"{self.registry}/{self.repository}"

    @property
    def is_layout(self) -> bool:
        return self.layout is not None

    def with_digest(self, digest: str) -> ImageRef:
        return ImageRef(self.registry, self.repository, self.tag, digest, self.layout, self.original)

    def __str__(self) -> str:
        s = self.name
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor. ``digest`` is ``algorithm:hex``; ``size`` in bytes."""

    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    artifact_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.artifact_type:
            d["artifactType"] = self.artifact_type
        if self.annotations:
            d["annotations"] = dict(self.annotations)
        return d


@dataclass(frozen=True)
class Manifest:
    """A fetched manifest: its descriptor (digest computed from the bytes) and the exact bytes."""

    descriptor: Descriptor
    raw: bytes


# ---------------------------------------------------------------------------------------------------------------
# Discovery and verification values
# ---------------------------------------------------------------------------------------------------------------


class Format(enum.StrEnum):
    """Signature format names (values appear in reports); what each one is lives in ``sigverify.formats``."""

    COSIGN_CLASSIC = "cosign-classic"  # simple-signing payload in a `.sig` layer
    COSIGN_ATTESTATION = "cosign-attestation"  # DSSE envelope in an `.att` layer
    SIGSTORE_BUNDLE = "sigstore-bundle"  # Sigstore bundle in an OCI referrer
    NOTATION = "notation"  # Notary Project JWS / COSE envelope in an OCI referrer
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Candidate:
    """One stored signature (or attestation) found for a digest, before any cryptography.

    ``content`` is the layer blob, already size-capped and digest-checked against ``layer``.
    ``storage`` says where it was found (``tag sha256-<hex>.sig``, ``referrers API``, ``referrers tag``, ``layout``).
    """

    format: str
    storage: str
    subject_digest: str  # the image digest this candidate was discovered for
    manifest_digest: str  # digest of the signature manifest that holds it
    layer: Descriptor
    content: bytes
    manifest_annotations: Mapping[str, str] = field(default_factory=dict)
    artifact_type: str | None = None

    @property
    def label(self) -> str:
        return f"{self.format} ({self.storage}, layer {self.layer.digest[:19]})"


@dataclass(frozen=True)
class Reason:
    """Why something failed (or a notable note). ``expected``/``found`` are shown to humans verbatim."""

    code: str
    message: str
    expected: str | None = None
    found: str | None = None
    policy: str | None = None
    authority: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"code": self.code, "message": self.message}
        for k in ("expected", "found", "policy", "authority"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        return d


@dataclass(frozen=True)
class CheckFacts:
    """What evaluation reads from a check's ``details``, typed (verifiers write them; reports show all details).

    ``kind``: "signature" (counts toward thresholds) or "attestation" (satisfies attestation requirements only);
    ``predicate_type``/``predicate``: the signed in-toto statement's; ``statement_subject_ok``: the statement names
    the image digest; ``warnings``: checks the verification level only logs.
    """

    kind: str = "signature"
    predicate_type: str | None = None
    predicate: Any = None
    statement_subject_ok: bool = False
    warnings: tuple[str, ...] = ()

    @classmethod
    def of(cls, details: Mapping[str, Any]) -> CheckFacts:
        raw = details.get("warnings") or []
        warnings = tuple(str(w) for w in raw) if isinstance(raw, list | tuple) else (str(raw),)
        predicate_type = details.get("predicate_type")
        return cls(
            kind=str(details.get("kind", "signature")),
            predicate_type=None if predicate_type is None else str(predicate_type),
            predicate=details.get("predicate"),
            statement_subject_ok=details.get("statement_subject_ok") is True,
            warnings=warnings,
        )


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of checking one candidate against one authority.

    ``ok`` means the signature verified and all of the authority's conditions held. ``signer`` names what signed
    it when known (a key fingerprint, a certificate identity) even when ``ok`` is false, for the report.
    ``signer_id`` is the one spelling of the signer that thresholds count (``spki:<sha256 hex>`` of a key,
    ``fulcio:<issuer>\0<SAN>`` of a keyless identity, ``x509-spki:<sha256 hex>`` of a Notary Project leaf);
    an ok check without one counts toward no threshold.
    """

    format: str
    storage: str
    layer_digest: str
    authority: str
    ok: bool
    reason: Reason | None = None
    signer: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    signer_id: str | None = None

    @property
    def facts(self) -> CheckFacts:
        """The typed view of ``details`` that evaluation reads."""
        return CheckFacts.of(self.details)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "format": self.format,
            "storage": self.storage,
            "layer": self.layer_digest,
            "authority": self.authority,
            "verified": self.ok,
        }
        if self.signer is not None:
            d["signer"] = self.signer
        if self.reason is not None:
            d["reason"] = self.reason.to_dict()
        if self.details:
            d["details"] = dict(self.details)
        return d


@dataclass(frozen=True)
class PolicyResult:
    """How one policy judged one image."""

    policy: str
    mode: str  # enforce | warn
    passed: bool
    threshold: int
    verified_by: tuple[str, ...]  # distinct authority names that verified
    reasons: tuple[Reason, ...] = ()
    warnings: tuple[Reason, ...] = ()  # checks a verification level only logged (never a silent pass)

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "mode": self.mode,
            "passed": self.passed,
            "threshold": self.threshold,
            "verified_by": list(self.verified_by),
            "reasons": [r.to_dict() for r in self.reasons],
            "warnings": [r.to_dict() for r in self.warnings],
        }


@dataclass(frozen=True)
class ImageResult:
    """The verdict for one image, with every reason and every signature check."""

    reference: str  # as the user wrote it
    resolved: str  # canonical form, with the digest that was verified when known
    digest: str | None
    verdict: Verdict
    policies: tuple[PolicyResult, ...] = ()
    reasons: tuple[Reason, ...] = ()
    signatures: tuple[SignatureCheck, ...] = ()
    source_line: int | None = None  # line in the config file where the image was listed
    source_file: str | None = None
    duration_ms: float = 0.0
    platform: str | None = None  # os/arch[/variant] when this row is one platform manifest of an image index
    platforms: tuple[ImageResult, ...] = ()  # the platform rows verified under this image (`platforms:` policy)

    @property
    def policy_names(self) -> list[str]:
        return [p.policy for p in self.policies]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "reference": self.reference,
            "resolved": self.resolved,
            "digest": self.digest,
            "policy": ", ".join(self.policy_names) if self.policies else None,
            "policies": [p.to_dict() for p in self.policies],
            "verdict": self.verdict.value,
            "reasons": [r.to_dict() for r in self.reasons],
            "signatures": [s.to_dict() for s in self.signatures],
            "duration_ms": round(self.duration_ms, 1),
        }
        if self.source_file is not None:
            d["source"] = {"file": self.source_file, "line": self.source_line}
        if self.platform is not None:
            d["platform"] = self.platform
        if self.platforms:
            d["platforms"] = [p.to_dict() for p in self.platforms]
        return d


@dataclass(frozen=True)
class LintNote:
    """A rule of the config that accepts too much (``sigverify lint``), shown once at the top of every report."""

    code: str
    message: str
    fix: str
    file: str
    line: int | None = None
    where: str = ""  # "config", "policy 'p', authority 'a'", "waiver"

    @property
    def location(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "file": self.file, "line": self.line,
                "where": self.where, "fix": self.fix}


@dataclass(frozen=True)
class RunResult:
    """Everything one run decided. Renderers are pure functions of this value."""

    images: tuple[ImageResult, ...]
    config_path: str | None = None
    tool_version: str = ""
    trust_root: str | None = None
    fail_on_warn: bool = False
    notes: tuple[str, ...] = ()
    shard: str | None = None
    fingerprint: str | None = None  # sha256 of the canonical config and full image list (sigverify merge)
    lint: tuple[LintNote, ...] = ()  # the config's lint warnings (sigverify lint), in file order

    @property
    def summary(self) -> dict[str, int]:
        counts = {"total": len(self.images), "pass": 0, "fail": 0, "warn": 0, "error": 0}
        for img in self.images:
            counts[img.verdict.value] = counts.get(img.verdict.value, 0) + 1  # "waived" only when there is one
        return counts

    @property
    def exit_code(self) -> int:
        """0 when every enforced check passed, 1 otherwise (warnings fail only with fail_on_warn); 3 when an
        internal error prevented a decision for some image."""
        if any(r.code == Code.INTERNAL_ERROR for img in self.images for r in img.reasons):
            return int(Exit.INTERNAL)
        for img in self.images:
            if img.verdict in (Verdict.FAIL, Verdict.ERROR):
                return int(Exit.FAIL)
            if img.verdict is Verdict.WARN and self.fail_on_warn:
                return int(Exit.FAIL)
        return int(Exit.OK)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "tool": {"name": "sigverify", "version": self.tool_version},
            "config": self.config_path,
            "trust_root": self.trust_root,
            "images": [i.to_dict() for i in self.images],
            "summary": {**self.summary, "exit_code": self.exit_code},
        }
        if self.shard:
            d["shard"] = self.shard
        if self.notes:
            d["notes"] = list(self.notes)
        if self.lint:
            d["lint"] = [w.to_dict() for w in self.lint]
        return d
