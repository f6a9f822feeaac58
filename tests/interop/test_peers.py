"""The peer tools are the pinned versions, and the referrers registry really serves the OCI referrers API."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import requests

from tests.fixtures.peers import RegistryProcess, require_peer
from tests.interop.oci import OCI_MANIFEST, Pusher, sha256

pytestmark = pytest.mark.peers

INSTALL = Path(__file__).resolve().parents[1] / "peers" / "install.sh"


def pinned() -> dict[str, str]:
    """name -> version, read from install.sh (the one place the pins live)."""
    text = INSTALL.read_text()
    return {m[0]: m[1] for m in re.findall(r'^\s*"([a-z0-9]+)\|[^|]+\|[^|]+\|(v[0-9.]+)"', text, re.M)}


@pytest.mark.parametrize(
    ("name", "argv"),
    [("cosign2", ["version"]), ("cosign3", ["version"]), ("notation", ["version"]), ("crane", ["version"]),
     ("actionlint", ["--version"])],
)
def test_peer_is_the_pinned_version(name: str, argv: list[str]) -> None:
    version = pinned()[name]
    out = subprocess.run([require_peer(name), *argv], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert re.search(rf"\b{re.escape(version)}\b", out.stdout + out.stderr), (
        f"{name}: expected {version} (tests/peers/install.sh), got:\n{out.stdout}{out.stderr}"
    )


def test_referrers_registry_serves_the_referrers_api(referrers_registry: RegistryProcess) -> None:
    pusher = Pusher(referrers_registry.host)
    subject = pusher.random_image("peers/probe", "v1")
    raw_subject, _ = pusher.get_manifest("peers/probe", subject)
    empty = pusher.blob("peers/probe", b"{}")
    artifact = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/example",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": len(raw_subject)},
    }).encode()
    digest = sha256(artifact)
    r = requests.put(f"{referrers_registry.url}/v2/peers/probe/manifests/{digest}",
                     data=artifact, headers={"Content-Type": OCI_MANIFEST}, timeout=10)
    assert r.status_code == 201, r.text
    assert r.headers.get("OCI-Subject") == subject, "distribution-spec v1.1: the registry says it indexed subject"
    listing = requests.get(f"{referrers_registry.url}/v2/peers/probe/referrers/{subject}", timeout=10)
    assert listing.status_code == 200
    found = listing.json()["manifests"]
    assert [d["digest"] for d in found] == [digest]
    # go-containerregistry's registry (v0.20.6) reports the config media type as artifactType even when the
    # manifest has its own artifactType (the spec says: the manifest's first). Real registries and fallback
    # indexes written by cosign do the same, so sigverify must not filter referrers on artifactType alone.
    assert found[0]["artifactType"] in ("application/example", "application/vnd.oci.empty.v1+json")
    assert referrers_registry.has_referrers_api("peers/probe")


def test_fallback_registry_has_no_referrers_api(fallback_registry: RegistryProcess) -> None:
    Pusher(fallback_registry.host).random_image("peers/probe", "v1")
    assert not fallback_registry.has_referrers_api("peers/probe")
