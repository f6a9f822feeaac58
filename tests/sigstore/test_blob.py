"""`sigverify verify-blob` on files signed by the test Sigstore: a real process, JSON output, digests, tampering."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sigverify.cli.verify_blob import main
from tests.fixtures.testsigstore import FULCIO, GITHUB_ISSUER, WORKFLOW, TestSigstore, statement

REPO = Path(__file__).resolve().parents[2]


def _files(tmp_path: Path, ts: TestSigstore, data: bytes = b"release tarball\n") -> tuple[Path, Path, Path]:
    art = tmp_path / "app.tar.gz"
    art.write_bytes(data)
    bundle = tmp_path / "app.tar.gz.sigstore.json"
    bundle.write_bytes(ts.blob_bundle(data))
    return art, bundle, ts.write_trusted_root(tmp_path)


def _identity() -> list[str]:
    return ["--certificate-identity", WORKFLOW, "--certificate-oidc-issuer", GITHUB_ISSUER]


def test_real_process_json(test_sigstore: TestSigstore, tmp_path: Path) -> None:
    art, bundle, root = _files(tmp_path, test_sigstore)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "sigverify.cli.verify_blob", "--bundle", str(bundle), *_identity(), "--trusted-root",
           str(root), "--offline", "--format", "json", str(art)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["verified"] is True and out["signer"] == f"{WORKFLOW} (issuer {GITHUB_ISSUER})"
    assert out["trust_root"] == str(root) and out["details"]["content"] == "message_signature"
    assert out["layer"] == "sha256:" + hashlib.sha256(art.read_bytes()).hexdigest()
    tampered = tmp_path / "other"
    tampered.write_bytes(b"release tarball!\n")
    proc = subprocess.run([*cmd[:-1], str(tampered)], capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["verified"] is False


def test_digest_instead_of_file(test_sigstore: TestSigstore, tmp_path: Path) -> None:
    art, bundle, root = _files(tmp_path, test_sigstore)
    digest = "sha256:" + hashlib.sha256(art.read_bytes()).hexdigest()
    assert main(["--bundle", str(bundle), *_identity(), "--trusted-root", str(root), digest]) == 0
    assert main(["--bundle", str(bundle), *_identity(), "--trusted-root", str(root), "sha256:" + "0" * 64]) == 1


def test_claims_and_regexps(test_sigstore: TestSigstore, tmp_path: Path) -> None:
    art, bundle, root = _files(tmp_path, test_sigstore)
    base = ["--bundle", str(bundle), "--trusted-root", str(root)]
    assert main([*base, "--certificate-identity-regexp", r"https://github\.com/acme/app/.*",
                 "--certificate-oidc-issuer-regexp", r"https://token\.actions\.githubusercontent\.com",
                 "--claim", "source_repository_ref=refs/heads/main", "--claim", f"{FULCIO}11=github-hosted",
                 str(art)]) == 0
    assert main([*base, *_identity(), "--claim", "source_repository_ref=refs/heads/dev", str(art)]) == 1


def test_embedded_root_rejects_test_instance(test_sigstore: TestSigstore, tmp_path: Path) -> None:
    art, bundle, _ = _files(tmp_path, test_sigstore)
    assert main(["--bundle", str(bundle), *_identity(), str(art)]) == 1


def test_dsse_bundle_subject(test_sigstore: TestSigstore, tmp_path: Path) -> None:
    sbom = tmp_path / "sbom.spdx.json"
    sbom.write_bytes(b'{"spdxVersion": "SPDX-2.3"}')
    digest = hashlib.sha256(sbom.read_bytes()).hexdigest()
    bundle = tmp_path / "sbom.sigstore.json"
    bundle.write_bytes(test_sigstore.dsse_bundle(statement(digest, "https://spdx.dev/Document", predicate={},
                                                           name="sbom.spdx.json")))
    root = test_sigstore.write_trusted_root(tmp_path)
    assert main(["--bundle", str(bundle), *_identity(), "--trusted-root", str(root), str(sbom)]) == 0
    sbom.write_bytes(b'{"spdxVersion": "SPDX-2.2"}')
    assert main(["--bundle", str(bundle), *_identity(), "--trusted-root", str(root), str(sbom)]) == 1


def test_key_signed_bundle_with_key(test_sigstore: TestSigstore, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pub = tmp_path / "cosign.pub"
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    sbom = tmp_path / "x.json"
    sbom.write_bytes(b"{}")
    bundle = tmp_path / "x.sigstore.json"
    bundle.write_bytes(test_sigstore.key_dsse_bundle(statement(hashlib.sha256(b"{}").hexdigest(), "https://x/y",
                                                               predicate={}), key))
    root = test_sigstore.write_trusted_root(tmp_path)
    assert main(["--bundle", str(bundle), "--key", str(pub), "--trusted-root", str(root), str(sbom)]) == 0
    # the same bundle checked against a keyless identity fails: there is no certificate
    assert main(["--bundle", str(bundle), *_identity(), "--trusted-root", str(root), str(sbom)]) == 1


def test_staging_flag_uses_staging_root(vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sp = vectors / "sigstore-python/test/assets"
    rc = main(["verify-bundle", "--staging", "--bundle", str(sp / "bundle_v3.txt.sigstore"),
               "--certificate-identity", "william@yossarian.net", "--certificate-oidc-issuer",
               "https://github.com/login/oauth", str(sp / "bundle_v3.txt")])
    assert rc == 0


def test_sign_bundle_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sign-bundle", "--identity-token", "x", "--bundle", "b", "f"]) == 2


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0


def test_modules_do_not_import_sigstore_at_import_time() -> None:
    code = ("import sys, sigverify.formats.blob, sigverify.evaluate.attestations, sigverify.formats.sigstore_bundle, "
            "sigverify.formats.cosign_sig.keyless, sigverify.formats.cosign_att, sigverify.crypto.fulcio, "
            "sigverify.crypto.sigstore_adapter, sigverify.crypto.intoto; "
            "heavy = [m for m in sys.modules if m.split('.')[0] in "
            "('sigstore', 'sigstore_models', 'rekor_types', 'tuf', 'jmespath', 'pydantic')]; "
            "print(heavy); sys.exit(1 if heavy else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_detached_key_signature_needs_explicit_tlog_opt_out(tmp_path: Path) -> None:
    import base64

    from cryptography.hazmat.primitives import hashes

    key = ec.generate_private_key(ec.SECP256R1())
    pub = tmp_path / "k.pub"
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    art = tmp_path / "bin"
    art.write_bytes(b"\x7fELF binary")
    sig = tmp_path / "bin.sig"
    sig.write_bytes(base64.b64encode(key.sign(art.read_bytes(), ec.ECDSA(hashes.SHA256()))))
    base = ["--key", str(pub), "--signature", str(sig)]
    assert main([*base, "--offline", str(art)]) == 2  # no tlog proof, no lookup allowed, no opt-out: usage error
    assert main([*base, "--insecure-ignore-tlog", str(art)]) == 0
    digest = "sha256:" + hashlib.sha256(art.read_bytes()).hexdigest()
    assert main([*base, "--insecure-ignore-tlog", digest]) == 0
    art.write_bytes(b"\x7fELF binarY")
    assert main([*base, "--insecure-ignore-tlog", str(art)]) == 1


def test_verify_file_for_config_entries(test_sigstore: TestSigstore, tmp_path: Path) -> None:
    from sigverify.crypto.trustroot import TrustStore
    from sigverify.formats.blob import verify_file
    from sigverify.models import Code
    from sigverify.policy.model import BlobEntry
    from tests.sigstore.helpers import keyless

    art, bundle, root = _files(tmp_path, test_sigstore)
    trust = TrustStore(str(root))
    good = keyless("gha", WORKFLOW, GITHUB_ISSUER)
    other = keyless("other", "someone@example.com", GITHUB_ISSUER)
    checks = verify_file(BlobEntry(path=str(art), bundle=str(bundle)), [good, other], trust)
    assert [c.ok for c in checks] == [True, False]
    assert checks[1].reason is not None and checks[1].reason.code == Code.IDENTITY_MISMATCH
    missing = verify_file(BlobEntry(path=str(tmp_path / "nope"), bundle=str(bundle)), [good], trust)
    assert not missing[0].ok and missing[0].reason is not None and missing[0].reason.code == Code.NOT_FOUND
    detached = verify_file(BlobEntry(path=str(art), signature=str(bundle)), [good], trust)
    assert not detached[0].ok and detached[0].reason is not None
    assert detached[0].reason.code == Code.TLOG_INVALID


def test_through_the_sigverify_command(test_sigstore: TestSigstore, tmp_path: Path) -> None:
    """`sigverify verify-blob --bundle ...` (leading options reach verify-blob intact)."""
    art, bundle, root = _files(tmp_path, test_sigstore)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    base = [sys.executable, "-m", "sigverify", "verify-blob", "--bundle", str(bundle), "--trusted-root", str(root)]
    ok = subprocess.run([*base, *_identity(), str(art)], capture_output=True, text=True, env=env, timeout=120,
                        check=False)
    assert ok.returncode == 0, ok.stderr
    assert "Verified OK" in ok.stdout
    bad = subprocess.run([*base, "--certificate-identity", "x", "--certificate-oidc-issuer", GITHUB_ISSUER, str(art)],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert bad.returncode == 1 and "IDENTITY_MISMATCH" in bad.stderr
    usage = subprocess.run([*base, str(art)], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert usage.returncode == 2


def test_embedded_root_works_without_any_network(vectors: Path) -> None:
    """`unshare -n`: no network namespace at all; the embedded production root still verifies."""
    import shutil

    from tests.fixtures.vectors import missing

    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare or "unshare", "-n", "true"], capture_output=True, check=False) if unshare else None
    if probe is None or probe.returncode != 0:
        missing("`unshare -n` (util-linux, root)", "Run the tests as root on Linux with util-linux installed.")
    suite = vectors / "sigstore-conformance/test/assets/bundle-verify"
    proc = subprocess.run(
        [str(unshare), "-n", sys.executable, "-m", "sigverify", "verify-blob", "--bundle",
         str(suite / "happy-path-v0.3/bundle.sigstore.json"), "--certificate-identity-regexp", ".*",
         "--certificate-oidc-issuer-regexp", ".*", "--offline", str(suite / "a.txt")],
        capture_output=True, text=True, timeout=120, check=False, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr
