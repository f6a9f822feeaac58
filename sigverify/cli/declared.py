"""--images-from and ``images_from:``: add the images declared in manifests to the config's image list."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

from sigverify.errors import InvalidReferenceError
from sigverify.policy.model import Config, ImageEntry, Location
from sigverify.reference import parse
from sigverify.sources import STDIN, DeclaredImage, read_images

MAX_LISTED = 5


def _display(path: str) -> str:
    """A path under the working directory is shown (and annotated) relative to it, as the user would write it."""
    if path == STDIN or not os.path.isabs(path):
        return path
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def add_declared(config: Config, cli_paths: Sequence[str]) -> tuple[Config, str | None]:
    """The config with every declared image appended (after the listed ones) and the report note (skipped
    documents, images declared in more than one place). Raises ConfigError (exit 2) for a bad manifest."""
    paths: list[str] = []
    seen: set[str] = set()
    for p in [_display(p) for p in config.images_from] + list(cli_paths):
        key = p if p == STDIN else os.path.abspath(p)
        if key not in seen:  # the same file in the config and on the command line is read once
            seen.add(key)
            paths.append(p)
    if not paths:
        return config, None
    declared = read_images(paths)
    entries = tuple(ImageEntry(d.ref, Location(d.file, d.line)) for d in declared.images)
    notes = [n for n in (declared.note(), _repeated(declared.images)) if n]
    return replace(config, images=config.images + entries), "; ".join(notes) or None


def _repeated(images: Sequence[DeclaredImage]) -> str | None:
    """An image is verified once and reported where it is first declared: name the other places."""
    places: dict[str, list[DeclaredImage]] = {}
    for image in images:
        try:
            key = str(parse(image.ref))
        except InvalidReferenceError:
            continue  # reported as a configuration error with its line
        places.setdefault(key, []).append(image)
    repeated = [found for found in places.values() if len(found) > 1]
    if not repeated:
        return None
    parts = []
    for found in repeated[:MAX_LISTED]:
        first, rest = found[0], found[1:]
        others = ", ".join(f"{d.file}:{d.line}" for d in rest[:MAX_LISTED])
        more = f" and {len(rest) - MAX_LISTED} more" if len(rest) > MAX_LISTED else ""
        parts.append(f"{first.ref} (reported at {first.file}:{first.line}) is also declared at {others}{more}")
    more = f"; {len(repeated) - MAX_LISTED} more images are declared more than once" if len(repeated) > MAX_LISTED \
        else ""
    return "--images-from: " + "; ".join(parts) + more
