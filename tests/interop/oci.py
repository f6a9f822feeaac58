"""Minimal OCI distribution client for tests and the benchmark: push small random images, copy manifests."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import requests

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
ACCEPT = ", ".join(
    [
        OCI_MANIFEST,
        OCI_INDEX,
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Pusher:
    """Pushes blobs and manifests to ``http://<host>`` over one pooled session."""

    def __init__(self, host: str, user_agent: str = "sigverify-tests-pusher") -> None:
        self.host = host
        self.base = f"http://{host}"
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent

    def blob(self, repo: str, data: bytes) -> str:
        digest = sha256(data)
        head = self.session.head(f"{self.base}/v2/{repo}/blobs/{digest}", timeout=30)
        if head.status_code == 200:
            return digest
        r = self.session.post(f"{self.base}/v2/{repo}/blobs/uploads/", timeout=30)
        r.raise_for_status()
        loc = r.headers["Location"]
        if loc.startswith("/"):
            loc = self.base + loc
        sep = "&" if "?" in loc else "?"
        r = self.session.put(
            f"{loc}{sep}digest={digest}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            timeout=30,
        )
        r.raise_for_status()
        return digest

    def manifest(self, repo: str, ref: str, raw: bytes, media_type: str) -> str:
        r = self.session.put(
            f"{self.base}/v2/{repo}/manifests/{ref}", data=raw, headers={"Content-Type": media_type}, timeout=30
        )
        if r.status_code >= 300:
            raise RuntimeError(f"PUT manifest {repo}:{ref} -> {r.status_code}: {r.text[:500]}")
        return sha256(raw)

    def get_manifest(self, repo: str, ref: str) -> tuple[bytes, str]:
        r = self.session.get(f"{self.base}/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT}, timeout=30)
        r.raise_for_status()
        return r.content, r.headers["Content-Type"].split(";")[0]

    def exists(self, repo: str, ref: str) -> bool:
        r = self.session.head(f"{self.base}/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT}, timeout=30)
        return r.status_code == 200

    def random_image(self, repo: str, tag: str, size: int = 256, platform: str = "linux/amd64") -> str:
        """Push a one-layer image with random content under ``repo:tag``; return its manifest digest."""
        layer = os.urandom(size)
        os_, arch = platform.split("/")
        config = json.dumps(
            {
                "architecture": arch,
                "os": os_,
                "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]},
                "config": {},
            },
            separators=(",", ":"),
        ).encode()
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": self.blob(repo, config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": self.blob(repo, layer), "size": len(layer)}],
        }
        raw = json.dumps(manifest, separators=(",", ":")).encode()
        return self.manifest(repo, tag, raw, OCI_MANIFEST)

    def random_index(self, repo: str, tag: str, platforms: tuple[str, ...] = ("linux/amd64", "linux/arm64")
                     ) -> tuple[str, list[str]]:
        """Push an image index over fresh random images; return (index digest, child digests)."""
        children = []
        entries = []
        for i, plat in enumerate(platforms):
            child_tag = f"{tag}-child{i}"
            d = self.random_image(repo, child_tag, platform=plat)
            raw, _mt = self.get_manifest(repo, d)
            os_, arch = plat.split("/")
            platform_ = {"os": os_, "architecture": arch}
            entries.append({"mediaType": OCI_MANIFEST, "digest": d, "size": len(raw), "platform": platform_})
            children.append(d)
        raw = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries},
                         separators=(",", ":")).encode()
        return self.manifest(repo, tag, raw, OCI_INDEX), children

    def copy_manifest(self, repo: str, src_ref: str, dst_ref: str) -> str:
        """Copy a manifest (same repository, so blobs are shared) to another tag, byte for byte."""
        raw, media_type = self.get_manifest(repo, src_ref)
        return self.manifest(repo, dst_ref, raw, media_type)


def sig_tag(digest: str, suffix: str = ".sig") -> str:
    """cosign's tag for a digest: ``sha256-<hex>.sig`` (``.att`` for attestations, "" for the referrers tag)."""
    algo, hexpart = digest.split(":", 1)
    return f"{algo}-{hexpart}{suffix}"
