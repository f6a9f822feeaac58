"""Typed, validated configuration: what the YAML file means once loaded (no YAML, no I/O here)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["enforce", "warn"]
TlogMode = Literal["require", "ignore"]


@dataclass(frozen=True)
class Location:
    """Where a value was written: file and 1-based line (None when it came from the command line)."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"


@dataclass(frozen=True)
class KeyRef:
    """Public key material for a key-based authority.

    Exactly one of ``pem`` (already loaded from ``path``/``pem``/``env``) or ``kms`` (a key URI such as
    ``awskms:///alias/x``, resolved lazily by the verifier) is set. ``source`` is a human label without secrets.
    """

    source: str
    pem: bytes | None = None
    kms: str | None = None


@dataclass(frozen=True)
class Pattern:
    """A string condition: exact unless ``regexp`` (whole-string match)."""

    value: str
    regexp: bool = False

    def matches(self, s: str) -> bool:
        if self.regexp:
            return re.fullmatch(self.value, s) is not None
        return s == self.value

    def __str__(self) -> str:
        return f"/{self.value}/" if self.regexp else self.value


@dataclass(frozen=True)
class KeylessIdentity:
    """A Fulcio certificate identity: issuer + subject (SAN), plus required certificate extensions."""

    issuer: Pattern
    subject: Pattern
    claims: Mapping[str, Pattern] = field(default_factory=dict)  # extension name or OID -> expected


@dataclass(frozen=True)
class Authority:
    """Something whose signature counts: a key, a keyless identity, or a Notary Project trust store."""

    name: str
    location: Location
    key: KeyRef | None = None
    keyless: KeylessIdentity | None = None
    notation: Mapping[str, Any] | None = None  # validated by the notation verifier (issue 6)
    tlog: TlogMode = "require"
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        if self.key is not None:
            return "key"
        if self.keyless is not None:
            return "keyless"
        if self.notation is not None:
            return "notation"
        return "unknown"


@dataclass(frozen=True)
class AttestationRequirement:
    """A required attestation: predicate type, accepted authorities, and conditions on the predicate."""

    name: str
    predicate_type: str
    authorities: tuple[str, ...]  # authority names of the enclosing policy
    conditions: tuple[Mapping[str, Any], ...] = ()
    location: Location | None = None


@dataclass(frozen=True)
class Matcher:
    """An image-name matcher: an anchored glob (``*`` one path segment, ``**`` any number) or a regexp."""

    pattern: str
    compiled: re.Pattern[str]
    regexp: bool = False

    def matches(self, image_name: str) -> bool:
        return self.compiled.fullmatch(image_name) is not None

    def __str__(self) -> str:
        return f"regexp:{self.pattern}" if self.regexp else self.pattern


@dataclass(frozen=True)
class Policy:
    name: str
    match: tuple[Matcher, ...]
    authorities: tuple[Authority, ...]
    location: Location
    mode: Mode = "enforce"
    threshold: int = 1
    attestations: tuple[AttestationRequirement, ...] = ()
    platforms: str | tuple[str, ...] = "index"  # "index", "all", or normalised os/arch[/variant] names
    require_digest: bool = False  # a tag-only reference fails (DIGEST_REQUIRED) with the digest to pin it to

    def matches(self, image_name: str) -> bool:
        return any(m.matches(image_name) for m in self.match)


@dataclass(frozen=True)
class RegistrySettings:
    """Per-registry settings. ``insecure``: plain HTTP allowed (and only then)."""

    insecure: bool = False
    ca_file: str | None = None
    username_env: str | None = None
    password_env: str | None = None


@dataclass(frozen=True)
class ImageEntry:
    """An image to verify and where it was listed."""

    ref: str
    location: Location | None = None


@dataclass(frozen=True)
class BlobEntry:
    """A signed file to verify (``files:``; issue 5 verify-blob). Paths are absolute; ``path`` may be
    ``sha256:<hex>``. ``policy`` names the policy whose authorities apply."""

    path: str
    bundle: str | None = None
    signature: str | None = None
    certificate: str | None = None
    policy: str | None = None
    location: Location | None = None


@dataclass(frozen=True)
class Waiver:
    """A time-boxed exception: failures with ``codes`` of images matching ``images`` are reported as waived
    until the end of ``expires`` (a UTC day)."""

    images: tuple[Matcher, ...]
    reason: str
    expires: datetime.date
    codes: tuple[str, ...]
    location: Location

    @property
    def label(self) -> str:
        return f"waiver at {self.location} (expires {self.expires.isoformat()}): {self.reason}"

    def matches(self, image_name: str) -> bool:
        return any(m.matches(image_name) for m in self.images)


@dataclass(frozen=True)
class Config:
    path: str
    version: int
    images: tuple[ImageEntry, ...]
    policies: tuple[Policy, ...]
    registries: Mapping[str, RegistrySettings] = field(default_factory=dict)
    default: Literal["deny", "allow"] = "deny"
    trust_root: str = "embedded"  # embedded | tuf | absolute path to a trusted_root.json
    files: tuple[BlobEntry, ...] = ()  # signed files from the config (verify-blob)
    images_from: tuple[str, ...] = ()  # manifests/compose files whose images are verified (absolute paths)
    waivers: tuple[Waiver, ...] = ()
    max_waiver_days: int = 90

    def policies_for(self, image_name: str) -> tuple[Policy, ...]:
        """Every policy whose ``match`` covers the image (all of them must pass)."""
        return tuple(p for p in self.policies if p.matches(image_name))
