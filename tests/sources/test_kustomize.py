"""Real `kustomize build` output (the pinned kustomize of tests/peers/install.sh, offline): the rewritten image
is the one read, at the line of the rendered stream it is on."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from sigverify.sources import read_images
from tests.fixtures.peers import require_peer


@pytest.fixture(scope="module")
def kustomize() -> str:
    return require_peer("kustomize")


def test_kustomize_build_output_from_stdin(tmp_path: Path, kustomize: str) -> None:
    base = tmp_path / "base"
    base.mkdir()
    (base / "deployment.yaml").write_text("""apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers:
      - {name: migrate, image: ghcr.io/acme/migrate:1.0}
      containers:
      - {name: web, image: ghcr.io/acme/web:1.0}
""")
    (base / "service.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n"
    )
    (base / "kustomization.yaml").write_text("""resources: [deployment.yaml, service.yaml]
images:
- name: ghcr.io/acme/web
  newTag: "2.0"
- name: ghcr.io/acme/migrate
  digest: sha256:4f0d1c3d8c0d3e5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b
""")
    rendered = subprocess.run([kustomize, "build", str(base)], capture_output=True, text=True, check=True,
                              timeout=60).stdout
    declared = read_images(["-"], stdin=io.StringIO(rendered))
    lines = rendered.splitlines()
    refs = sorted(d.ref for d in declared.images)
    assert refs == ["ghcr.io/acme/migrate@sha256:4f0d1c3d8c0d3e5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b",
                    "ghcr.io/acme/web:2.0"]
    for d in declared.images:
        assert d.line is not None and d.ref in lines[d.line - 1], (d, lines[d.line - 1])
    assert dict(declared.skipped) == {"Service": 1}
