"""Parse and normalise image references (distribution reference grammar, Docker Hub defaults, OCI layouts)."""

from __future__ import annotations

import functools
import ipaddress
import os
import re

from sigverify.errors import InvalidReferenceError
from sigverify.models import ImageRef

DOCKER_HUB = "docker.io"
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
HTTPS_PORT = 443
MAX_PORT = 65535

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
        raise _fail(
            ref,
            f"unsupported or malformed digest {digest!r}",
            "Only sha256 (64 lowercase hex) and sha512 (128 lowercase hex) digests are verified.",
        )
    raise _fail(ref, f"malformed digest {digest!r}")


class HostError(ValueError):
    """A registry host[:port] that has no normal form: ``why`` says what is wrong, ``tip`` what to write."""

    def __init__(self, why: str, tip: str | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.tip = tip


_IPV4_LIKE = re.compile(r"[0-9.]+")
_IPV6_TEXT = re.compile(r"[0-9A-Fa-f:]+")  # the reference grammar's IPv6 literal: no zone, no dotted tail


def _compress_ipv6(address: ipaddress.IPv6Address) -> str:
    """RFC 5952 text in hexadecimal groups only (Python writes IPv4-mapped addresses with a dotted tail)."""
    groups = [f"{int(g, 16):x}" for g in address.exploded.split(":")]
    best_start, best_len, start = -1, 1, -1
    for i, g in enumerate([*groups, "end"]):
        if g == "0":
            start = i if start < 0 else start
            continue
        if start >= 0 and i - start > best_len:
            best_start, best_len = start, i - start
        start = -1
    if best_start < 0:
        return ":".join(groups)
    return ":".join(groups[:best_start]) + "::" + ":".join(groups[best_start + best_len :])


@functools.lru_cache(maxsize=4096)  # a pure function of the text, asked for every image and pattern
def normalise_host(host: str) -> str:
    """The one spelling of a registry ``host[:port]`` that every reference, pattern and setting is compared in.

    Host names are lower-cased; Docker Hub's names (``docker.io``, ``index.docker.io``, ``registry-1.docker.io``)
    are ``docker.io``; the HTTPS default port ``:443`` is dropped; ports lose leading zeros (``05000`` is
    ``5000``); IPv6 literals keep their brackets in compressed lower-case form (``[::1]``). ``:80`` is kept: it
    names a different registry (reached over plain HTTP only when the registry is listed as insecure). Raises
    HostError for what has no normal form: non-ASCII names, empty or out-of-range ports, numeric hosts that
    are not a dotted-quad IPv4 address, and one-word hosts without a port other than ``localhost`` (which
    would read as a Docker Hub namespace once lower-cased).
    """
    if not host:
        raise HostError("empty registry host")
    if not host.isascii():
        try:
            suggestion: str | None = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            suggestion = None
        idna = f" (its IDNA form is {suggestion})" if suggestion else ""
        raise HostError(f"registry host {host!r} is not ASCII{idna}", "write the host in its ASCII (IDNA) form.")
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            raise HostError(f"unclosed '[' in registry host {host!r}")
        name, rest = host[: end + 1], host[end + 1 :]
        if rest and not rest.startswith(":"):
            raise HostError(f"unexpected {rest!r} after the IPv6 address in {host!r}")
        port_text = rest[1:] if rest else None
        if not _IPV6_TEXT.fullmatch(name[1:-1]):
            raise HostError(f"invalid IPv6 address {name!r}", "write the address in hexadecimal groups, e.g. [::1].")
        try:
            name = f"[{_compress_ipv6(ipaddress.IPv6Address(name[1:-1]))}]"
        except ValueError as exc:
            raise HostError(f"invalid IPv6 address {name!r}") from exc
    else:
        name, sep, port_text_raw = host.partition(":")
        port_text = port_text_raw if sep else None
        name = name.lower()
        if not DOMAIN_RE.fullmatch(name) or ":" in port_text_raw:
            raise HostError(f"invalid registry host {host!r}")
        if _IPV4_LIKE.fullmatch(name):
            try:
                canonical_ip = str(ipaddress.IPv4Address(name))
            except ValueError as exc:
                raise HostError(
                    f"numeric registry host {name!r} is not a dotted-quad IPv4 address",
                    "write the address as four decimal numbers without leading zeros, e.g. 127.0.0.1.",
                ) from exc
            name = canonical_ip
        elif "." not in name and name != "localhost" and port_text is None:
            raise HostError(
                f"registry host {host!r} has no '.' and is not localhost, so its lower-case form "
                "would read as a Docker Hub namespace",
                "write the registry's full host name (with a domain), or lower-case the name for Docker Hub.",
            )
    port: int | None = None
    if port_text is not None:
        if not port_text:
            raise HostError(f"empty port in registry host {host!r}", "drop the ':' or write a port number.")
        if not port_text.isdigit() or not port_text.isascii():
            raise HostError(f"port {port_text!r} in {host!r} is not a number")
        port = int(port_text)
        if not 1 <= port <= MAX_PORT:
            raise HostError(f"port {port_text} in {host!r} is out of range (1-{MAX_PORT})")
    if name in DOCKER_HUB_ALIASES and port in (None, HTTPS_PORT):
        return DOCKER_HUB
    if port is None or port == HTTPS_PORT:
        return name
    return f"{name}:{port}"


def _split_domain(name: str) -> tuple[str, str]:
    """Split ``name`` into (registry, repository) the way docker does (``splitDockerDomain``)."""
    first, sep, rest = name.partition("/")
    if not sep or ("." not in first and ":" not in first and first != "localhost" and first.lower() == first):
        registry, repository = DOCKER_HUB, name
    else:
        registry, repository = first, rest
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    return registry, repository


def _parse_layout(ref: str, base_dir: str | None) -> ImageRef:
    body = ref[len("oci:") :]
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
        ref, tag = ref[:colon], ref[colon + 1 :]
        if not TAG_RE.fullmatch(tag):
            raise _fail(
                original,
                f"invalid tag {tag!r}",
                "Tags are up to 128 letters, digits, '_', '.', '-' (not starting with '.' or '-').",
            )

    if not ref:
        raise _fail(original, "missing repository name")
    registry, repository = _split_domain(ref)
    if registry != DOCKER_HUB:
        try:
            registry = normalise_host(registry)
        except HostError as exc:
            raise _fail(original, exc.why, exc.tip) from None
        if registry == DOCKER_HUB and "/" not in repository:
            repository = f"library/{repository}"
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
