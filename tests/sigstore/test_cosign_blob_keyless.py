"""Real cosign v2/v3 `sign-blob` keyless against the test Sigstore (a local Fulcio-like CA and Rekor v1 API on
127.0.0.1): cosign writes the detached signature, the base64 certificate and the legacy bundle, as Kubernetes
publishes them; sigverify verifies them (lookup, --rekor-entry offline, legacy bundle) and so does cosign."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from sigverify.cli.verify_blob import main
from tests.fixtures.peers import cosign2, cosign3
from tests.fixtures.rekorserver import RekorServer, serve, trusted_root_for
from tests.fixtures.testsigstore import TestSigstore

__all__ = ["cosign2", "cosign3"]

KREL = "krel-staging@k8s-releng-prod.iam.gserviceaccount.com"
GOOGLE = "https://accounts.google.com"


@pytest.fixture
def sigstore_server(test_sigstore: TestSigstore) -> Iterator[RekorServer]:
    server = RekorServer(test_sigstore)
    running = serve(server)
    try:
        yield server
    finally:
        running.stop()


def _token(email: str = KREL, issuer: str = GOOGLE) -> str:
    """An OIDC identity token as the test CA reads it (its signature is never checked by a test CA)."""
    def part(doc: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"iss": issuer, "sub": "1", "aud": "sigstore", "email": email, "email_verified": True, "iat": now,
              "exp": now + 600}
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2ln"


def _cosign(binary: str, home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {"HOME": str(home), "PATH": "/usr/bin:/bin", "TUF_ROOT": str(home / "tuf"), **(env or {})}
    return subprocess.run([binary, *args], capture_output=True, text=True, env=base, cwd=home, timeout=120,
                          check=False)


def _sign(binary: str, which: str, server: RekorServer, home: Path, art: Path) -> None:
    extra = ["--use-signing-config=false", "--new-bundle-format=false"] if which == "cosign3" else []
    proc = _cosign(binary, home, "sign-blob", "--yes", *extra, "--fulcio-url", server.url, "--rekor-url", server.url,
                   "--identity-token", _token(), "--insecure-skip-verify", "--output-signature", f"{art.name}.sig",
                   "--output-certificate", f"{art.name}.cert", "--bundle", f"{art.name}.bundle", str(art))
    assert proc.returncode == 0, proc.stderr


def _cosign_env(ts: TestSigstore, home: Path) -> dict[str, str]:
    """cosign's own offline trust settings for the test Sigstore (Fulcio roots, Rekor and CT keys)."""
    pem, spki = serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    (home / "fulcio.pem").write_bytes(ts.intermediate.public_bytes(pem) + ts.root.public_bytes(pem))
    (home / "rekor.pub").write_bytes(ts.rekor_key.public_key().public_bytes(pem, spki))
    (home / "ct.pub").write_bytes(ts.ct_key.public_key().public_bytes(pem, spki))
    return {"SIGSTORE_ROOT_FILE": str(home / "fulcio.pem"), "SIGSTORE_REKOR_PUBLIC_KEY": str(home / "rekor.pub"),
            "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE": str(home / "ct.pub")}


def _krel(identity: str = KREL) -> list[str]:
    return ["--certificate-identity", identity, "--certificate-oidc-issuer", GOOGLE]


@pytest.mark.parametrize("which", ["cosign2", "cosign3"])
def test_cosign_keyless_detached_and_legacy_bundle(which: str, request: pytest.FixtureRequest,
                                                   sigstore_server: RekorServer, test_sigstore: TestSigstore,
                                                   tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = request.getfixturevalue(which)
    art = tmp_path / "kubectl"
    art.write_bytes(b"\x7fELF kubectl v1.31.0\n")
    _sign(binary, which, sigstore_server, tmp_path, art)
    assert "POST /api/v1/signingCert" in sigstore_server.requests
    assert "POST /api/v1/log/entries" in sigstore_server.requests
    assert (tmp_path / "kubectl.cert").read_bytes().startswith(b"LS0t")  # base64 PEM, as dl.k8s.io serves it
    root = trusted_root_for(test_sigstore, sigstore_server.url, tmp_path)
    detached = [str(art), "--signature", str(tmp_path / "kubectl.sig"), "--certificate",
                str(tmp_path / "kubectl.cert"), "--trusted-root", str(root)]
    assert main([*detached, *_krel()]) == 0
    capsys.readouterr()
    assert main([*detached, *_krel("someone@example.com"), "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["reason"]["code"] == "IDENTITY_MISMATCH"
    other = tmp_path / "kubectl-other"
    other.write_bytes(b"\x7fELF kubectl v1.31.1\n")
    assert main([other.as_posix(), *detached[1:], *_krel(), "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["reason"]["code"] == "TLOG_INVALID"
    # offline: the entry as the API serves it, saved next to the file
    (uuid,) = sigstore_server.entries
    (tmp_path / "kubectl.rekor.json").write_text(json.dumps({uuid: sigstore_server.entries[uuid]}))
    sigstore_server.requests.clear()
    assert main([*detached, *_krel(), "--offline", "--rekor-entry", str(tmp_path / "kubectl.rekor.json")]) == 0
    assert main([*detached, *_krel(), "--offline"]) == 2
    legacy = ["--bundle", str(tmp_path / "kubectl.bundle"), "--trusted-root", str(root), "--offline"]
    assert main([*legacy, *_krel(), str(art)]) == 0
    assert main([*legacy, *_krel(), str(other)]) == 1
    assert main([*legacy, *_krel("someone@example.com"), str(art)]) == 1
    assert sigstore_server.requests == []
    # cosign agrees, with its own offline trust settings and the same log
    env = _cosign_env(test_sigstore, tmp_path)
    theirs = _cosign(binary, tmp_path, "verify-blob", str(art), "--signature", "kubectl.sig", "--certificate",
                     "kubectl.cert", *_krel(), "--rekor-url", sigstore_server.url, env=env)
    assert theirs.returncode == 0, theirs.stderr
    theirs = _cosign(binary, tmp_path, "verify-blob", str(other), "--signature", "kubectl.sig", "--certificate",
                     "kubectl.cert", *_krel(), "--rekor-url", sigstore_server.url, env=env)
    assert theirs.returncode != 0
