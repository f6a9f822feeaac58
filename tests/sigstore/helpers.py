"""Small builders shared by the Sigstore tests: authorities, contexts, candidates."""

from __future__ import annotations

from collections.abc import Mapping

from sigverify.crypto.trustroot import TrustStore
from sigverify.formats.base import VerifyContext
from sigverify.models import Candidate, Descriptor, Format, ImageRef
from sigverify.policy.model import Authority, KeylessIdentity, KeyRef, Location, Pattern


def keyless(name: str, subject: str, issuer: str, *, regexp: bool = False,
            claims: Mapping[str, str] | None = None, annotations: Mapping[str, str] | None = None) -> Authority:
    return Authority(
        name=name,
        location=Location("test.yaml", 1),
        keyless=KeylessIdentity(
            issuer=Pattern(issuer, regexp=regexp),
            subject=Pattern(subject, regexp=regexp),
            claims={k: Pattern(v) for k, v in (claims or {}).items()},
        ),
        annotations=dict(annotations or {}),
    )


def key_authority(name: str, pem: bytes, *, tlog: str = "require") -> Authority:
    return Authority(name=name, location=Location("test.yaml", 1), key=KeyRef(source=f"{name}.pub", pem=pem),
                     tlog=tlog)  # type: ignore[arg-type]


def context(digest: str, trust: TrustStore, *, media_type: str = "application/vnd.oci.image.manifest.v1+json",
            size: int = 0) -> VerifyContext:
    return VerifyContext(
        image=ImageRef("registry.test", "repo", tag="latest", digest=digest),
        digest=digest,
        subject=Descriptor(media_type, digest, size),
        trust=trust,
    )


def bundle_candidate(content: bytes, subject_digest: str, *, storage: str = "referrers API") -> Candidate:
    import hashlib

    return Candidate(
        format=Format.SIGSTORE_BUNDLE,
        storage=storage,
        subject_digest=subject_digest,
        manifest_digest="sha256:" + "0" * 64,
        layer=Descriptor("application/vnd.dev.sigstore.bundle.v0.3+json",
                         "sha256:" + hashlib.sha256(content).hexdigest(), len(content)),
        content=content,
    )
