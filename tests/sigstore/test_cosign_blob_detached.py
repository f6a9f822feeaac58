"""Real cosign v2/v3 `sign-blob --key` uploading to a local Rekor v1 API server (entries logged by the test
Sigstore): sigverify verifies what cosign wrote (legacy blob bundle, detached signature looked up by hash),
and refuses it for another file or another key."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sigverify.cli.verify_blob import main
from tests.fixtures.peers import cosign2, cosign3
from tests.fixtures.rekorserver import RekorServer, serve, trusted_root_for
from tests.fixtures.testsigstore import TestSigstore

__all__ = ["cosign2", "cosign3"]


@pytest.fixture
def rekor(test_sigstore: TestSigstore) -> Iterator[RekorServer]:
    server = RekorServer(test_sigstore)
    running = serve(server)
    try:
        yield server
    finally:
        running.stop()


def _cosign(binary: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(home), "COSIGN_PASSWORD": "", "PATH": "/usr/bin:/bin", "TUF_ROOT": str(home / "tuf")}
    return subprocess.run([binary, *args], capture_output=True, text=True, env=env, cwd=home, timeout=120,
                          check=False)


@pytest.fixture
def keypair(cosign2: str, tmp_path: Path) -> tuple[Path, Path]:
    proc = _cosign(cosign2, tmp_path, "generate-key-pair")
    assert proc.returncode == 0, proc.stderr
    return tmp_path / "cosign.key", tmp_path / "cosign.pub"


@pytest.mark.parametrize("which", ["cosign2", "cosign3"])
def test_cosign_sign_blob_key_with_log(which: str, request: pytest.FixtureRequest, rekor: RekorServer,
                                       test_sigstore: TestSigstore, keypair: tuple[Path, Path],
                                       tmp_path: Path) -> None:
    binary = request.getfixturevalue(which)
    key, pub = keypair
    art = tmp_path / "kubectl"
    art.write_bytes(b"\x7fELF kubectl\n")
    extra = ["--use-signing-config=false", "--new-bundle-format=false"] if which == "cosign3" else []
    proc = _cosign(binary, tmp_path, "sign-blob", "--yes", "--key", str(key), "--rekor-url", rekor.url, *extra,
                   "--bundle", "kubectl.bundle", "--output-signature", "kubectl.sig", str(art))
    assert proc.returncode == 0, proc.stderr
    assert any(r == "POST /api/v1/log/entries" for r in rekor.requests)
    root = trusted_root_for(test_sigstore, rekor.url, tmp_path)
    base = ["--key", str(pub), "--trusted-root", str(root)]
    assert main([*base, "--bundle", str(tmp_path / "kubectl.bundle"), "--offline", str(art)]) == 0
    assert main([*base, "--signature", str(tmp_path / "kubectl.sig"), str(art)]) == 0
    other = tmp_path / "other"
    other.write_bytes(b"\x7fELF kubectl!\n")
    assert main([*base, "--bundle", str(tmp_path / "kubectl.bundle"), "--offline", str(other)]) == 1
    assert main([*base, "--signature", str(tmp_path / "kubectl.sig"), str(other)]) == 1
    (tmp_path / "k2").mkdir()
    proc = _cosign(binary, tmp_path / "k2", "generate-key-pair")
    assert proc.returncode == 0, proc.stderr
    wrong = ["--key", str(tmp_path / "k2" / "cosign.pub"), "--trusted-root", str(root)]
    assert main([*wrong, "--bundle", str(tmp_path / "kubectl.bundle"), "--offline", str(art)]) == 1
    assert main([*wrong, "--signature", str(tmp_path / "kubectl.sig"), str(art)]) == 1

