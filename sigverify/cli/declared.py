"""--images-from and ``images_from:``: add the images declared in manifests to the config's image list."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

from sigverify.policy.model import Config, ImageEntry, Location
from sigverify.sources import STDIN, read_images


def _display(path: str) -> str:
    """A path under the working directory is shown (and annotated) relative to it, as the user would write it."""
    if path == STDIN or not os.path.isabs(path):
        return path
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def add_declared(config: Config, cli_paths: Sequence[str]) -> tuple[Config, str | None]:
    """The config with every declared image appended (after the listed ones) and the note on skipped documents.
    Raises ConfigError (exit 2) for a malformed or unreadable manifest."""
    paths = [_display(p) for p in config.images_from] + list(cli_paths)
    if not paths:
        return config, None
    declared = read_images(paths)
    entries = tuple(ImageEntry(d.ref, Location(d.file, d.line)) for d in declared.images)
    return replace(config, images=config.images + entries), declared.note()
