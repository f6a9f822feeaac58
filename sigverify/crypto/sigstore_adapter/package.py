"""The installed sigstore-python package: its version, the trusted roots it ships, its TUF client."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def package_dir() -> Path | None:
    """Where the installed sigstore package lives, found without importing it."""
    spec = importlib.util.find_spec("sigstore")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def package_version() -> str:
    """The installed sigstore version, read from its dist-info (importing importlib.metadata costs ~30 ms)."""
    base = package_dir()
    found = sorted(base.parent.glob("sigstore-[0-9]*.dist-info")) if base else []
    if len(found) == 1:
        try:
            with (found[0] / "METADATA").open(encoding="utf-8") as f:
                for line in f:
                    if line.startswith("Version: "):
                        return line[len("Version: "):].strip()
                    if not line.strip():
                        break
        except OSError:
            pass
    from importlib import metadata

    try:
        return metadata.version("sigstore")
    except metadata.PackageNotFoundError:
        return "unknown"


def embedded_trusted_root(instance_dir: str) -> Path | None:
    """The trusted_root.json sigstore-python ships for an instance (its ``_store`` directory), or None."""
    base = package_dir()
    return base / "_store" / instance_dir / "trusted_root.json" if base else None


def tuf_trusted_root(url: str) -> Path:  # pragma: no cover - needs network
    """Refresh the trusted root from a TUF repository with sigstore-python's updater; its local path."""
    from sigstore._internal.tuf import TrustUpdater

    return Path(TrustUpdater(url, offline=False).get_trusted_root_path())
