"""`sigverify verify-blob FILE --signature FILE.sig --certificate FILE.cert` (and --key, and cosign's legacy blob
bundle) with the transparency-log entry given as a file or looked up in a local Rekor v1 API server that serves
entries logged by the test Sigstore."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sigverify.cli.verify_blob import main
from tests.fixtures.rekorserver import RekorServer, rekor_server, trusted_root_for
from tests.fixtures.testsigstore import GITHUB_ISSUER, WORKFLOW, Signer, TestSigstore

__all__ = ["rekor_server"]

KREL = "krel-staging@k8s-releng-prod.iam.gserviceaccount.com"
GOOGLE = "https://accounts.google.com"


def _pem(signer: Signer) -> bytes:
    return signer.cert.public_bytes(serialization.Encoding.PEM)


def _signed(tmp_path: Path, ts: TestSigstore, data: bytes = b"kubectl binary\n", *, name: str = "kubectl",
            signer: Signer | None = None, b64_cert: bool = True) -> tuple[Path, Path, Path, Signer, bytes]:
    """FILE, FILE.sig (base64), FILE.cert (base64 PEM, as dl.k8s.io serves it), the signer, the raw signature."""
    signer = signer or ts.issue(san=KREL, san_type="email", issuer=GOOGLE)
    art = tmp_path / name
    art.write_bytes(data)
    sig = signer.sign(data)
    (tmp_path / f"{name}.sig").write_bytes(base64.b64encode(sig))
    pem = _pem(signer)
    (tmp_path / f"{name}.cert").write_bytes(base64.b64encode(pem) if b64_cert else pem)
    return art, tmp_path / f"{name}.sig", tmp_path / f"{name}.cert", signer, sig


def _krel() -> list[str]:
    return ["--certificate-identity", KREL, "--certificate-oidc-issuer", GOOGLE]


def _entry_file(tmp_path: Path, rekor: RekorServer, data: bytes, sig: bytes, pem: bytes) -> Path:
    _uuid, doc = rekor.log_hashedrekord(data, sig, pem)
    path = tmp_path / "entry.json"
    path.write_text(json.dumps(doc))
    return path


def _json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    out = capsys.readouterr().out
    return dict(json.loads(out))


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = main([*args, "--format", "json"])
    return code, _json(capsys)


def _reason(doc: dict[str, object]) -> dict[str, str]:
    r = doc["reason"]
    assert isinstance(r, dict)
    return r


# -- offline: the entry is given --------------------------------------------------------------------------------


def test_detached_with_entry_file_passes_offline(test_sigstore: TestSigstore, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    rekor = RekorServer(test_sigstore)  # not serving: --offline must not ask it
    art, sig, cert, signer, raw = _signed(tmp_path, test_sigstore)
    entry = _entry_file(tmp_path, rekor, art.read_bytes(), raw, _pem(signer))
    root = test_sigstore.write_trusted_root(tmp_path)
    code, doc = _run(capsys, str(art), "--signature", str(sig), "--certificate", str(cert), *_krel(),
                     "--rekor-entry", str(entry), "--trusted-root", str(root), "--offline")
    assert code == 0, doc
    assert doc["verified"] is True and doc["signer"] == f"{KREL} (issuer {GOOGLE})"
    details = doc["details"]
    assert isinstance(details, dict) and details["content"] == "detached"


def test_pem_certificate_and_chain(test_sigstore: TestSigstore, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    rekor = RekorServer(test_sigstore)
    art, sig, cert, signer, raw = _signed(tmp_path, test_sigstore, b64_cert=False)
    entry = _entry_file(tmp_path, rekor, art.read_bytes(), raw, _pem(signer))
    root = test_sigstore.write_trusted_root(tmp_path)
    chain = tmp_path / "chain.pem"
    chain.write_bytes(test_sigstore.intermediate.public_bytes(serialization.Encoding.PEM)
                      + test_sigstore.root.public_bytes(serialization.Encoding.PEM))
    base = [str(art), "--signature", str(sig), "--certificate", str(cert), *_krel(), "--rekor-entry", str(entry),
            "--trusted-root", str(root), "--offline"]
    assert main([*base, "--certificate-chain", str(chain)]) == 0
    capsys.readouterr()
    foreign = tmp_path / "foreign.pem"
    foreign.write_bytes(_pem(test_sigstore.issue()))
    code, doc = _run(capsys, *base, "--certificate-chain", str(foreign))
    assert code == 1 and _reason(doc)["code"] == "CERTIFICATE_INVALID"


@pytest.mark.parametrize(("flags", "code"), [
    (["--certificate-identity", "someone@example.com", "--certificate-oidc-issuer", GOOGLE], "IDENTITY_MISMATCH"),
    (["--certificate-identity", KREL, "--certificate-oidc-issuer", "https://token.actions.githubusercontent.com"],
     "IDENTITY_MISMATCH"),
])
def test_wrong_identity(flags: list[str], code: str, test_sigstore: TestSigstore, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    rekor = RekorServer(test_sigstore)
    art, sig, cert, signer, raw = _signed(tmp_path, test_sigstore)
    entry = _entry_file(tmp_path, rekor, art.read_bytes(), raw, _pem(signer))
    root = test_sigstore.write_trusted_root(tmp_path)
    rc, doc = _run(capsys, str(art), "--signature", str(sig), "--certificate", str(cert), *flags,
                   "--rekor-entry", str(entry), "--trusted-root", str(root), "--offline")
    assert rc == 1 and _reason(doc)["code"] == code


def test_tampered_file_and_wrong_root(test_sigstore: TestSigstore, other_sigstore: TestSigstore, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    rekor = RekorServer(test_sigstore)
    art, sig, cert, signer, raw = _signed(tmp_path, test_sigstore)
    entry = _entry_file(tmp_path, rekor, art.read_bytes(), raw, _pem(signer))
    root = test_sigstore.write_trusted_root(tmp_path)
    other = tmp_path / "kubectl-other"
    other.write_bytes(b"kubectl binary!\n")
    rc, doc = _run(capsys, str(other), "--signature", str(sig), "--certificate", str(cert), *_krel(),
                   "--rekor-entry", str(entry), "--trusted-root", str(root), "--offline")
    assert rc == 1 and _reason(doc)["code"] == "TLOG_INVALID"
    assert "another artifact" in _reason(doc)["message"]
    rc, doc = _run(capsys, str(art), "--signature", str(sig), "--certificate", str(cert), *_krel(),
                   "--rekor-entry", str(entry), "--trusted-root", str(other_sigstore.write_trusted_root(tmp_path)),
                   "--offline")
    assert rc == 1 and _reason(doc)["code"] in ("TLOG_INVALID", "CERTIFICATE_INVALID")


def test_entry_with_tampered_proof(test_sigstore: TestSigstore, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    rekor = RekorServer(test_sigstore)
    art, sig, cert, signer, raw = _signed(tmp_path, test_sigstore)
    _uuid, doc = rekor.log_hashedrekord(art.read_bytes(), raw, _pem(signer))
    entry = next(iter(doc.values()))
    entry["verification"]["inclusionProof"]["rootHash"] = "00" * 32
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    root = test_sigstore.write_trusted_root(tmp_path)
    rc, out = _run(capsys, str(art), "--signature", str(sig), "--certificate", str(cert), *_krel(),
                   "--rekor-entry", str(path), "--trusted-root", str(root), "--offline")
    assert rc == 1 and _reason(out)["code"] == "TLOG_INVALID"


def test_offline_without_entry_is_refused(test_sigstore: TestSigstore, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    art, sig, cert, _signer, _raw = _signed(tmp_path, test_sigstore)
    root = test_sigstore.write_trusted_root(tmp_path)
    assert main([str(art), "--signature", str(sig), "--certificate", str(cert), *_krel(), "--trusted-root",
                 str(root), "--offline"]) == 2
    err = capsys.readouterr().err
    assert "--offline" in err and "--rekor-entry" in err


def test_certificate_without_identity_is_a_usage_error(test_sigstore: TestSigstore, tmp_path: Path) -> None:
    art, sig, cert, _signer, _raw = _signed(tmp_path, test_sigstore)
    assert main([str(art), "--signature", str(sig), "--certificate", str(cert)]) == 2
    assert main([str(art), "--signature", str(sig)]) == 2


# -- online: the entry is looked up -----------------------------------------------------------------------------


def test_lookup_finds_the_entry(rekor_server: RekorServer, test_sigstore: TestSigstore, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    art, sig, cert, signer, raw = _signed(tmp_path, test_sigstore)
    rekor_server.log_hashedrekord(art.read_bytes(), raw, _pem(signer))
    root = trusted_root_for(test_sigstore, rekor_server.url, tmp_path)
    code, doc = _run(capsys, str(art), "--signature", str(sig), "--certificate", str(cert), *_krel(),
                     "--trusted-root", str(root))
    assert code == 0, doc
    assert "POST /api/v1/index/retrieve" in rekor_server.requests
    assert any(r.startswith("GET /api/v1/log/entries/") for r in rekor_server.requests)


def test_lookup_with_rekor_url(rekor_server: RekorServer, test_sigstore: TestSigstore, tmp_path: Path) -> None:
    art, sig, cert, signer, raw = _signed(tmp_path, test_sigstore)
    rekor_server.log_hashedrekord(art.read_bytes(), raw, _pem(signer))
    root = test_sigstore.write_trusted_root(tmp_path)  # names https://test.rekor.test, never asked
    assert main([str(art), "--signature", str(sig), "--certificate", str(cert), *_krel(), "--trusted-root",
                 str(root), "--rekor-url", rekor_server.url]) == 0


def test_lookup_skips_entries_of_other_signatures(rekor_server: RekorServer, test_sigstore: TestSigstore,
                                                  tmp_path: Path) -> None:
    """The same file signed twice: the log has two entries for its hash, the one for this signature binds."""
    art, sig, cert, signer, raw = _signed(tmp_path, test_sigstore)
    first = test_sigstore.issue(san=KREL, san_type="email", issuer=GOOGLE)
    rekor_server.log_hashedrekord(art.read_bytes(), first.sign(art.read_bytes()), _pem(first))
    rekor_server.log_hashedrekord(art.read_bytes(), raw, _pem(signer))
    root = trusted_root_for(test_sigstore, rekor_server.url, tmp_path)
    assert main([str(art), "--signature", str(sig), "--certificate", str(cert), *_krel(), "--trusted-root",
                 str(root)]) == 0


def test_lookup_entry_for_another_artifact(rekor_server: RekorServer, test_sigstore: TestSigstore, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    art, sig, cert, signer, _raw = _signed(tmp_path, test_sigstore)
    other = b"another file\n"
    rekor_server.log_hashedrekord(other, signer.sign(other), _pem(signer), indexed_under=art.read_bytes())
    root = trusted_root_for(test_sigstore, rekor_server.url, tmp_path)
    code, doc = _run(capsys, str(art), "--signature", str(sig), "--certificate", str(cert), *_krel(),
                     "--trusted-root", str(root))
    assert code == 1
    assert _reason(doc)["code"] == "TLOG_INVALID" and "another artifact" in _reason(doc)["message"]


def test_lookup_entry_for_another_certificate(rekor_server: RekorServer, test_sigstore: TestSigstore,
                                              tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    art, sig, cert, _signer, raw = _signed(tmp_path, test_sigstore)
    someone = test_sigstore.issue(san=KREL, san_type="email", issuer=GOOGLE)
    rekor_server.log_hashedrekord(art.read_bytes(), raw, _pem(someone))
    root = trusted_root_for(test_sigstore, rekor_server.url, tmp_path)
    code, doc = _run(capsys, str(art), "--signature", str(sig), "--certificate", str(cert), *_krel(),
                     "--trusted-root", str(root))
    assert code == 1
    assert _reason(doc)["code"] == "TLOG_INVALID" and "another certificate" in _reason(doc)["message"]


def test_lookup_no_entry(rekor_server: RekorServer, test_sigstore: TestSigstore, tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    art, sig, cert, _signer, _raw = _signed(tmp_path, test_sigstore)
    root = trusted_root_for(test_sigstore, rekor_server.url, tmp_path)
    code, doc = _run(capsys, str(art), "--signature", str(sig), "--certificate", str(cert), *_krel(),
                     "--trusted-root", str(root))
    assert code == 1
    assert _reason(doc)["code"] == "TLOG_INVALID" and "no entry" in _reason(doc)["message"]
    assert rekor_server.requests == ["POST /api/v1/index/retrieve"]


def test_lookup_unreachable_log_fails(test_sigstore: TestSigstore, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    art, sig, cert, _signer, _raw = _signed(tmp_path, test_sigstore)
    root = trusted_root_for(test_sigstore, "http://127.0.0.1:9", tmp_path)
    code, doc = _run(capsys, str(art), "--signature", str(sig), "--certificate", str(cert), *_krel(),
                     "--trusted-root", str(root))
    assert code == 1 and _reason(doc)["code"] == "REGISTRY_ERROR"


# -- keys and cosign's legacy blob bundle ---------------------------------------------------------------------


def test_key_signed_blob_with_lookup(rekor_server: RekorServer, test_sigstore: TestSigstore, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "cosign.pub").write_bytes(pub)
    data = b"sbom.spdx\n"
    art = tmp_path / "sbom.spdx"
    art.write_bytes(data)
    raw = key.sign(data, ec.ECDSA(hashes.SHA256()))
    (tmp_path / "sbom.spdx.sig").write_bytes(base64.b64encode(raw))
    rekor_server.log_hashedrekord(data, raw, pub)
    root = trusted_root_for(test_sigstore, rekor_server.url, tmp_path)
    base = [str(art), "--signature", str(tmp_path / "sbom.spdx.sig"), "--trusted-root", str(root)]
    code, doc = _run(capsys, *base, "--key", str(tmp_path / "cosign.pub"))
    assert code == 0, doc
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    (tmp_path / "other.pub").write_bytes(other.public_bytes(serialization.Encoding.PEM,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo))
    code, doc = _run(capsys, *base, "--key", str(tmp_path / "other.pub"))
    assert code == 1 and _reason(doc)["code"] == "TLOG_INVALID" and "another key" in _reason(doc)["message"]


def _legacy(ts: TestSigstore, data: bytes, signer: Signer) -> dict[str, object]:
    sig = signer.sign(data)
    entry = ts.log(ts.hashedrekord_body(sig, _pem(signer), hashlib.sha256(data).hexdigest()),
                   kind="hashedrekord", version="0.0.1")
    return {"base64Signature": base64.b64encode(sig).decode(),
            "cert": base64.b64encode(_pem(signer)).decode(),
            "rekorBundle": json.loads(entry.cosign_annotation(ts.rekor_log_id))}


def test_legacy_blob_bundle(test_sigstore: TestSigstore, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = b"kubernetes-server-linux-amd64.tar.gz\n"
    art = tmp_path / "k8s.tar.gz"
    art.write_bytes(data)
    bundle = tmp_path / "k8s.tar.gz.bundle"
    bundle.write_text(json.dumps(_legacy(test_sigstore, data, test_sigstore.issue(san=KREL, san_type="email",
                                                                                   issuer=GOOGLE))))
    root = test_sigstore.write_trusted_root(tmp_path)
    code, doc = _run(capsys, str(art), "--bundle", str(bundle), *_krel(), "--trusted-root", str(root), "--offline")
    assert code == 0, doc
    other = tmp_path / "other"
    other.write_bytes(data + b"!")
    code, doc = _run(capsys, str(other), "--bundle", str(bundle), *_krel(), "--trusted-root", str(root), "--offline")
    assert code == 1 and _reason(doc)["code"] == "TLOG_INVALID"
    code, doc = _run(capsys, str(art), "--bundle", str(bundle), "--certificate-identity", WORKFLOW,
                     "--certificate-oidc-issuer", GITHUB_ISSUER, "--trusted-root", str(root), "--offline")
    assert code == 1 and _reason(doc)["code"] == "IDENTITY_MISMATCH"
    tampered = json.loads(bundle.read_text())
    tampered["rekorBundle"]["Payload"]["integratedTime"] += 1
    bundle.write_text(json.dumps(tampered))
    code, doc = _run(capsys, str(art), "--bundle", str(bundle), *_krel(), "--trusted-root", str(root), "--offline")
    assert code == 1 and _reason(doc)["code"] == "TLOG_INVALID"


def test_lookup_tries_each_log_of_the_root(rekor_server: RekorServer, test_sigstore: TestSigstore, tmp_path: Path,
                                           other_sigstore: TestSigstore) -> None:
    """A trusted root with two logs, the first unreachable: the entry is found in the second."""
    art, sig, cert, signer, raw = _signed(tmp_path, test_sigstore)
    rekor_server.log_hashedrekord(art.read_bytes(), raw, _pem(signer))
    root = json.loads(trusted_root_for(test_sigstore, rekor_server.url, tmp_path).read_text())
    dead = other_sigstore.trusted_root()["tlogs"][0]
    dead["baseUrl"] = "http://127.0.0.1:9"
    root["tlogs"].insert(0, dead)
    path = tmp_path / "two-logs.json"
    path.write_text(json.dumps(root))
    assert main([str(art), "--signature", str(sig), "--certificate", str(cert), *_krel(), "--trusted-root",
                 str(path)]) == 0
    assert "POST /api/v1/index/retrieve" in rekor_server.requests


def test_lookup_of_a_log_that_never_answers_ends_by_its_bound(test_sigstore: TestSigstore, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    import sigverify.registry.rekor_client as client

    monkeypatch.setattr(client, "LOOKUP_TIMEOUT", 1.0)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections (the kernel does), never answers
    try:
        art, sig, cert, _signer, _raw = _signed(tmp_path, test_sigstore)
        root = trusted_root_for(test_sigstore, f"http://127.0.0.1:{silent.getsockname()[1]}", tmp_path)
        code, doc = _run(capsys, str(art), "--signature", str(sig), "--certificate", str(cert), *_krel(),
                         "--trusted-root", str(root))
    finally:
        silent.close()
    assert code == 1 and _reason(doc)["code"] == "TIMEOUT"
    assert "lookup" in _reason(doc)["message"]


def test_rekor_entry_in_another_shape(test_sigstore: TestSigstore, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """`rekor-cli get --format json` output has no proof: refused, saying which JSON is expected."""
    art, sig, cert, _signer, _raw = _signed(tmp_path, test_sigstore)
    entry = tmp_path / "rekor-cli.json"
    entry.write_text(json.dumps({"LogIndex": 7, "UUID": "ab" * 32, "Body": {"HashedRekordObj": {}}}))
    root = test_sigstore.write_trusted_root(tmp_path)
    code, doc = _run(capsys, str(art), "--signature", str(sig), "--certificate", str(cert), *_krel(),
                     "--rekor-entry", str(entry), "--trusted-root", str(root), "--offline")
    assert code == 1 and _reason(doc)["code"] == "TLOG_INVALID"
    assert "GET /api/v1/log/entries/<uuid>" in _reason(doc)["expected"]


def test_rekor_entry_with_a_sigstore_bundle_is_a_usage_error(test_sigstore: TestSigstore, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    rekor = RekorServer(test_sigstore)
    art, _sig, _cert, signer, raw = _signed(tmp_path, test_sigstore)
    entry = _entry_file(tmp_path, rekor, art.read_bytes(), raw, _pem(signer))
    bundle = tmp_path / "kubectl.sigstore.json"
    bundle.write_bytes(test_sigstore.blob_bundle(art.read_bytes()))
    root = test_sigstore.write_trusted_root(tmp_path)
    base = [str(art), "--bundle", str(bundle), "--certificate-identity", WORKFLOW, "--certificate-oidc-issuer",
            GITHUB_ISSUER, "--trusted-root", str(root), "--offline"]
    assert main(base) == 0
    capsys.readouterr()
    assert main([*base, "--rekor-entry", str(entry)]) == 2
    out = capsys.readouterr()
    assert "--rekor-entry goes with" in out.out + out.err
