"""Parse and normalise image references (distribution reference grammar, Docker Hub defaults, OCI layouts)."""

from __future__ import annotations

import os
import re

from sigverify.errors import InvalidReferenceError
from sigverify.models import ImageRef

DOCKER_HUB = "docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

# distribution/reference regexp.go
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"

PATH_RE = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
DOMAIN_RE = re.compile(_DOMAIN)
TAG_RE = re.compile(_TAG)
# Only digests we can verify: sha256 and sha512, lowercase hex of the exact length.
DIGEST_RE = re.compile(r"(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})")
_ANY_DIGEST_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")

NAME_TOTAL_LENGTH_MAX = 255


def _fail(ref: str, why: str, tip: str | None = None) -> InvalidReferenceError:
    return InvalidReferenceError(
        f"invalid image reference {ref!r}: {why}",
        expected="[registry[:port]/]repository[:tag][@sha256:<64 hex>]  or  oci:<layout dir>[:tag|@digest]",
        found=ref,
        tip=tip or "Write the reference as `docker pull` accepts it, e.g. ghcr.io/acme/app:1.2.3.",
    )


def check_digest(ref: str, digest: str) -> str:
    if DIGEST_RE.fullmatch(digest):
        return digest
    if _ANY_DIGEST_RE.fullmatch(digest):
        raise _fail(ref, f"unsupported or malformed digest {digest!r}",
                    "Only sha256 (64 lowercase hex) and sha512 (128 lowercase hex) digests are verified.")
    raise _fail(ref, f"malformed digest {digest!r}")


def _split_domain(name: str) -> tuple[str, str]:
    """Split ``name`` into (registry, repository) the way docker does (``splitDockerDomain``)."""
    first, sep, rest = name.partition("/")
    if not sep or ("." not in first and ":" not in first and first != "localhost" and first.lower() == first):
        registry, repository = DOCKER_HUB, name
    else:
        registry, repository = first, rest
    if registry in _HUB_ALIASES:
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    return registry, repository


def _parse_layout(ref: str, base_dir: str | None) -> ImageRef:
    body = ref[len("oci:"):]
    if not body:
        raise _fail(ref, "empty OCI layout path")
    digest: str | None = None
    tag: str | None = None
    if "@" in body:
        body, _, digest = body.rpartition("@")
        check_digest(ref, digest)
    # A tag is what follows the last ':' when it contains no path separator (paths may contain ':').
    head, sep, tail = body.rpartition(":")
    if sep and head and "/" not in tail:
        if not TAG_RE.fullmatch(tail):
            raise _fail(ref, f"invalid tag {tail!r}")
        body, tag = head, tail
    if not body:
        raise _fail(ref, "empty OCI layout path")
    path = body if os.path.isabs(body) else os.path.join(base_dir or os.getcwd(), body)
    path = os.path.normpath(path)
    if tag is None and digest is None:
        tag = "latest"
    return ImageRef(registry="oci", repository=path, tag=tag, digest=digest, layout=path, original=ref)


def parse(ref: str, *, base_dir: str | None = None) -> ImageRef:
    """Parse ``ref``; ``base_dir`` resolves relative OCI layout paths (the config file's directory)."""
    original = ref
    if not isinstance(ref, str) or not ref or ref != ref.strip():
        raise _fail(str(ref), "empty or surrounded by white space")
    if ref.startswith("oci:"):
        return _parse_layout(ref, base_dir)
    if "://" in ref:
        raise _fail(ref, "a URL scheme is not part of an image reference", "Drop the scheme, e.g. ghcr.io/acme/app.")

    digest: str | None = None
    if "@" in ref:
        ref, _, digest = ref.partition("@")
        check_digest(original, digest)

    tag: str | None = None
    last_slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > last_slash:
        ref, tag = ref[:colon], ref[colon + 1:]
        if not TAG_RE.fullmatch(tag):
            raise _fail(original, f"invalid tag {tag!r}",
                        "Tags are up to 128 letters, digits, '_', '.', '-' (not starting with '.' or '-').")

    if not ref:
        raise _fail(original, "missing repository name")
    registry, repository = _split_domain(ref)
    if registry != DOCKER_HUB and not DOMAIN_RE.fullmatch(registry):
        raise _fail(original, f"invalid registry host {registry!r}")
    if not PATH_RE.fullmatch(repository):
        if repository.lower() != repository:
            raise _fail(original, "repository names must be lowercase")
        raise _fail(original, f"invalid repository name {repository!r}")
    if len(f"{registry}/{repository}") > NAME_TOTAL_LENGTH_MAX:
        raise _fail(original, f"name longer than {NAME_TOTAL_LENGTH_MAX} characters")
    if tag is None and digest is None:
        tag = "latest"
    return ImageRef(registry=registry, repository=repository, tag=tag, digest=digest, original=original)


def signature_tag(digest: str, suffix: str | None) -> str:
    """cosign's tag for a digest: ``sha256-<hex>.sig`` / ``.att``; ``sha256-<hex>`` (no suffix) for referrers."""
    alg, _, hexpart = digest.partition(":")
    base = f"{alg}-{hexpart}"
    return f"{base}.{suffix}" if suffix else base
