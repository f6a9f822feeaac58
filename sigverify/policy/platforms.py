"""Platform names (``os/arch[/variant]``) as policies write them and as image indexes describe them: one spelling."""

from __future__ import annotations

import re
from collections.abc import Mapping

_SEGMENT = re.compile(r"[a-z0-9][a-z0-9._-]*")
# The same platform written two ways (the OCI image-index specification's normalisation, as containerd does).
_SAME = {"linux/arm64/v8": "linux/arm64", "linux/amd64/v1": "linux/amd64"}
_ARCH = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64"}  # architecture aliases in image indexes


def normalise_platform(text: str) -> str | None:
    """``os/arch[/variant]`` in its one spelling, or None when it is not of that shape."""
    parts = text.split("/")
    if not 2 <= len(parts) <= 3 or not all(_SEGMENT.fullmatch(p) for p in parts):
        return None
    name = "/".join(parts)
    return _SAME.get(name, name)


def platform_of(entry: Mapping[str, object]) -> str | None:
    """The normalised platform of an index entry's ``platform`` object, or None when it has none usable."""
    os_name, arch, variant = entry.get("os"), entry.get("architecture"), entry.get("variant")
    if not isinstance(os_name, str) or not isinstance(arch, str):
        return None
    parts = [os_name, arch] + ([variant] if isinstance(variant, str) and variant else [])
    parts = [_ARCH.get(x, x) for x in (part.lower() for part in parts)]  # as container runtimes read them
    return normalise_platform("/".join(parts))


def selects(wanted: str, platform: str) -> bool:
    """A policy's platform selects an index entry's: equal, or the policy names no variant and the os/arch agree."""
    if wanted == platform:
        return True
    return wanted.count("/") == 1 and platform.rsplit("/", 1)[0] == wanted and platform.count("/") == 2
