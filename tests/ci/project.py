"""A CI project on disk for the CI tests: a policy file, a key, and real signed/unsigned images in a registry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.fixtures.cosign_sign import KeyPair, generate_key, sign_image, signature_manifest
from tests.fixtures.registry import RegistryServer, unique_repo

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Project:
    root: Path  # the workspace (repository checkout)
    config: Path  # root/<sub>/sigverify.yaml
    good: str  # signed with the trusted key, annotation env=production
    good_digest: str
    bad: str  # pushed, never signed
    bad_digest: str
    key: KeyPair

    def config_line(self, ref: str) -> int:
        """1-based line of ``ref`` in the config file."""
        for n, line in enumerate(self.config.read_text().splitlines(), 1):
            if ref in line:
                return n
        raise AssertionError(f"{ref} not in {self.config}")


def push_signed(registry: RegistryServer, repo: str, tag: str, key: KeyPair | None) -> tuple[str, str]:
    digest, _ = registry.push_image(repo, tag)
    if key is not None:
        art = signature_manifest(digest, [sign_image(key, digest, annotations={"env": "production"})])
        for blob in art.blobs.values():
            registry.push_blob(repo, blob)
        registry.push_manifest(repo, art.tag, art.manifest, art.media_type)
    return f"{registry.host}/{repo}:{tag}", digest


def make_project(
    registry: RegistryServer, root: Path, *, sub: str = "", images: tuple[str, ...] = ("good", "bad")
) -> Project:
    """Push a signed and an unsigned image; write ``<root>/<sub>/sigverify.yaml`` listing ``images``."""
    key = generate_key("p256")
    repo = unique_repo("ci")
    good, good_digest = push_signed(registry, repo, "1.0", key)
    bad, bad_digest = push_signed(registry, repo, "unsigned", None)
    where = root / sub if sub else root
    (where / "keys").mkdir(parents=True, exist_ok=True)
    key.write_public(where / "keys", "cosign.pub")
    refs = {"good": good, "bad": bad}
    doc = {
        "version": 1,
        "images": [refs[i] for i in images],
        "registries": {registry.host: {"insecure": True}},
        "policies": [
            {
                "name": "release",
                "match": [f"{registry.host}/**"],
                "authorities": [
                    {
                        "name": "release-key",
                        "key": {"path": "keys/cosign.pub"},
                        "tlog": "ignore",
                        "annotations": {"env": "production"},
                    }
                ],
            }
        ],
    }
    config = where / "sigverify.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    return Project(root, config, good, good_digest, bad, bad_digest, key)


def read_github_output(path: Path) -> dict[str, str]:
    """Parse a $GITHUB_OUTPUT file the way the runner does (``name=value`` and ``name<<DELIM`` blocks)."""
    out: dict[str, str] = {}
    lines = path.read_text().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.fullmatch(r"([^=<]+)<<(.+)", line)
        if m:
            name, delim = m.groups()
            end = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
        elif "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
            i += 1
        else:
            assert line == "", f"unexpected line in GITHUB_OUTPUT: {line!r}"
            i += 1
    return out
