"""`files:` with a detached signature and certificate next to the file, local or at an `https://` URL as dl.k8s.io
serves them: downloaded over TLS (size-capped), the log entry looked up in a local Rekor v1 API server, verified
against the keyless authority; `--offline` cannot look the entry up."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from sigverify.cli import main
from tests.fixtures.registry import make_self_signed
from tests.fixtures.rekorserver import RekorServer, serve, trusted_root_for
from tests.fixtures.testsigstore import TestSigstore, test_sigstore

__all__ = ["test_sigstore"]

KREL = "krel-staging@k8s-releng-prod.iam.gserviceaccount.com"
GOOGLE = "https://accounts.google.com"
KUBECTL = b"\x7fELF kubectl v1.31.0\n" * 64


@pytest.fixture
def dl(test_sigstore: TestSigstore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RekorServer]:
    """One TLS server on 127.0.0.1 for the release files and the Rekor API (its CA trusted via SSL_CERT_FILE)."""
    cert, key = make_self_signed().write(tmp_path, "dl")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    server = RekorServer(test_sigstore)
    running = serve(server, tls=(cert, key))
    try:
        yield server
    finally:
        running.stop()


def _publish(server: RekorServer, ts: TestSigstore, *, log: bool = True) -> None:
    signer = ts.issue(san=KREL, san_type="email", issuer=GOOGLE)
    sig = signer.sign(KUBECTL)
    pem = signer.cert.public_bytes(serialization.Encoding.PEM)
    server.files["/release/v1.31.0/bin/linux/amd64/kubectl"] = KUBECTL
    server.files["/release/v1.31.0/bin/linux/amd64/kubectl.sig"] = base64.b64encode(sig)
    server.files["/release/v1.31.0/bin/linux/amd64/kubectl.cert"] = base64.b64encode(pem)
    if log:
        server.log_hashedrekord(KUBECTL, sig, pem)


def _config(tmp_path: Path, root: Path, entry: dict[str, str], subject: str = KREL) -> Path:
    cfg = tmp_path / "sigverify.yaml"
    cfg.write_text(yaml.safe_dump({
        "version": 1,
        "trust_root": str(root),
        "files": [entry],
        "policies": [{"name": "kubernetes", "match": ["registry.k8s.io/**"], "authorities": [
            {"name": "krel", "keyless": {"issuer": GOOGLE, "subject": subject}}]}],
    }))
    return cfg


def _url_entry(server: RekorServer) -> dict[str, str]:
    base = server.url + "/release/v1.31.0/bin/linux/amd64/kubectl"
    return {"path": base, "signature": base + ".sig", "certificate": base + ".cert"}


def _verify(cfg: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, object]]:
    code = main(["verify", "--config", str(cfg), "--format", "json", "--ci", "none", *extra])
    return code, json.loads(capsys.readouterr().out)


def _first(doc: dict[str, object]) -> dict[str, object]:
    images = doc["images"]
    assert isinstance(images, list)
    return dict(images[0])


def _codes(image: dict[str, object]) -> list[str]:
    reasons = image["reasons"]
    assert isinstance(reasons, list)
    return [r["code"] for r in reasons]


def test_https_release_file_with_sig_and_cert(dl: RekorServer, test_sigstore: TestSigstore, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    _publish(dl, test_sigstore)
    root = trusted_root_for(test_sigstore, dl.url, tmp_path)
    code, doc = _verify(_config(tmp_path, root, _url_entry(dl)), capsys)
    image = _first(doc)
    assert code == 0, image
    assert image["verdict"] == "pass" and image["reference"] == "file:" + _url_entry(dl)["path"]
    assert "POST /api/v1/index/retrieve" in dl.requests
    code, doc = _verify(_config(tmp_path, root, _url_entry(dl), subject="someone@example.com"), capsys)
    assert code == 1 and _codes(_first(doc)) == ["IDENTITY_MISMATCH"]


def test_local_files_with_sig_and_cert(dl: RekorServer, test_sigstore: TestSigstore, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    _publish(dl, test_sigstore)
    for name, data in dl.files.items():
        (tmp_path / Path(name).name).write_bytes(data)
    root = trusted_root_for(test_sigstore, dl.url, tmp_path)
    entry = {"path": str(tmp_path / "kubectl"), "signature": str(tmp_path / "kubectl.sig"),
             "certificate": str(tmp_path / "kubectl.cert")}
    code, doc = _verify(_config(tmp_path, root, entry), capsys)
    assert code == 0, doc
    (tmp_path / "kubectl").write_bytes(KUBECTL + b"!")
    code, doc = _verify(_config(tmp_path, root, entry), capsys)
    assert code == 1 and _codes(_first(doc)) == ["TLOG_INVALID"]


def test_no_log_entry_and_offline(dl: RekorServer, test_sigstore: TestSigstore, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    _publish(dl, test_sigstore, log=False)
    root = trusted_root_for(test_sigstore, dl.url, tmp_path)
    code, doc = _verify(_config(tmp_path, root, _url_entry(dl)), capsys)
    assert code == 1 and _codes(_first(doc)) == ["TLOG_INVALID"]
    local = tmp_path / "kubectl"
    local.write_bytes(KUBECTL)
    (tmp_path / "kubectl.sig").write_bytes(dl.files["/release/v1.31.0/bin/linux/amd64/kubectl.sig"])
    (tmp_path / "kubectl.cert").write_bytes(dl.files["/release/v1.31.0/bin/linux/amd64/kubectl.cert"])
    entry = {"path": str(local), "signature": str(tmp_path / "kubectl.sig"),
             "certificate": str(tmp_path / "kubectl.cert")}
    dl.requests.clear()
    code, doc = _verify(_config(tmp_path, root, entry), capsys, "--offline")
    image = _first(doc)
    assert code == 1 and _codes(image) == ["TLOG_INVALID"]
    assert "offline" in json.dumps(image)
    assert dl.requests == []


def test_download_is_size_capped(dl: RekorServer, test_sigstore: TestSigstore, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import sigverify.registry.rekor_client as client

    _publish(dl, test_sigstore)
    monkeypatch.setattr(client, "MAX_FILE_BYTES", len(KUBECTL) - 1)
    root = trusted_root_for(test_sigstore, dl.url, tmp_path)
    code, doc = _verify(_config(tmp_path, root, _url_entry(dl)), capsys)
    assert code != 0 and _codes(_first(doc)) == ["SIZE_LIMIT"]


@pytest.mark.parametrize("scheme", ["http://", "https://user:s3cret@"])
def test_plain_http_and_credentials_are_config_errors(scheme: str, dl: RekorServer, test_sigstore: TestSigstore,
                                                      tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _publish(dl, test_sigstore)
    root = trusted_root_for(test_sigstore, dl.url, tmp_path)
    entry = {k: v.replace("https://", scheme) for k, v in _url_entry(dl).items()}
    code = main(["verify", "--config", str(_config(tmp_path, root, entry)), "--ci", "none"])
    err = capsys.readouterr().err
    assert code == 2 and "downloaded over https, with no credentials" in err
    assert "s3cret" not in err and dl.requests == []


@pytest.mark.parametrize("scheme", ["http://", "https://user:s3cret@"])
def test_download_refuses_plain_http_and_credentials(scheme: str, dl: RekorServer, test_sigstore: TestSigstore) -> None:
    from sigverify.errors import RegistryError
    from sigverify.registry.rekor_client import download

    _publish(dl, test_sigstore)
    url = _url_entry(dl)["path"].replace("https://", scheme)
    with pytest.raises(RegistryError) as caught:
        download(url, cap=1 << 20, what="signed file")
    assert caught.value.code == "INSECURE_REFUSED" and "s3cret" not in caught.value.diagnostics()
    assert dl.requests == []


def test_untrusted_tls_is_refused(dl: RekorServer, test_sigstore: TestSigstore, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _publish(dl, test_sigstore)
    root = trusted_root_for(test_sigstore, dl.url, tmp_path)
    monkeypatch.delenv("SSL_CERT_FILE")
    code, doc = _verify(_config(tmp_path, root, _url_entry(dl)), capsys)
    assert code != 0 and _codes(_first(doc)) == ["REGISTRY_ERROR"]



def test_legacy_bundle_and_key_signature_entries(dl: RekorServer, test_sigstore: TestSigstore, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """files: a legacy cosign blob bundle (keyless, offline from its SET) and a key-signed detached signature
    whose entry is looked up; another file with the same material fails."""
    import hashlib

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    signer = test_sigstore.issue(san=KREL, san_type="email", issuer=GOOGLE)
    sig = signer.sign(KUBECTL)
    pem = signer.cert.public_bytes(serialization.Encoding.PEM)
    entry = test_sigstore.log(test_sigstore.hashedrekord_body(sig, pem, hashlib.sha256(KUBECTL).hexdigest()),
                              kind="hashedrekord", version="0.0.1")
    (tmp_path / "kubectl").write_bytes(KUBECTL)
    (tmp_path / "kubectl.bundle").write_text(json.dumps({
        "base64Signature": base64.b64encode(sig).decode(), "cert": base64.b64encode(pem).decode(),
        "rekorBundle": json.loads(entry.cosign_annotation(test_sigstore.rekor_log_id))}))
    key = ec.generate_private_key(ec.SECP256R1())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "cosign.pub").write_bytes(pub)
    key_sig = key.sign(KUBECTL, ec.ECDSA(hashes.SHA256()))
    (tmp_path / "kubectl.key.sig").write_bytes(base64.b64encode(key_sig))
    dl.log_hashedrekord(KUBECTL, key_sig, pub)
    root = trusted_root_for(test_sigstore, dl.url, tmp_path)
    cfg = tmp_path / "files.yaml"
    other = tmp_path / "kubectl-other"
    other.write_bytes(KUBECTL + b"!")

    def config(path: Path) -> Path:
        cfg.write_text(yaml.safe_dump({
            "version": 1, "trust_root": str(root),
            "files": [{"path": str(path), "bundle": str(tmp_path / "kubectl.bundle"), "policy": "krel"},
                      {"path": str(path), "signature": str(tmp_path / "kubectl.key.sig"), "policy": "key"}],
            "policies": [
                {"name": "krel", "match": ["registry.k8s.io/**"],
                 "authorities": [{"name": "krel", "keyless": {"issuer": GOOGLE, "subject": KREL}}]},
                {"name": "key", "match": ["registry.k8s.io/**"],
                 "authorities": [{"name": "release-key", "key": {"path": str(tmp_path / "cosign.pub")}}]}]}))
        return cfg

    code = main(["verify", "--config", str(config(tmp_path / "kubectl")), "--format", "json", "--ci", "none"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0, doc
    assert [i["verdict"] for i in doc["images"]] == ["pass", "pass"]
    code = main(["verify", "--config", str(config(other)), "--format", "json", "--ci", "none"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and [i["verdict"] for i in doc["images"]] == ["fail", "fail"]
    assert [_codes(i) for i in doc["images"]] == [["TLOG_INVALID"], ["TLOG_INVALID"]]


def test_large_download_is_verified_by_its_streamed_digest(dl: RekorServer, test_sigstore: TestSigstore,
                                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A file too large to keep in memory is hashed while it streams and verified over its digest."""
    import sigverify.formats.blob as blob

    monkeypatch.setattr(blob, "MAX_FILE_READ", 4)  # keep at most 256 bytes: KUBECTL is larger
    _publish(dl, test_sigstore)
    root = trusted_root_for(test_sigstore, dl.url, tmp_path)
    code, doc = _verify(_config(tmp_path, root, _url_entry(dl)), capsys)
    assert code == 0, doc
    dl.files["/release/v1.31.0/bin/linux/amd64/kubectl"] = KUBECTL[:-1] + b"?"
    code, doc = _verify(_config(tmp_path, root, _url_entry(dl)), capsys)
    assert code == 1 and _codes(_first(doc)) == ["TLOG_INVALID"]


def test_offline_refuses_https_files(dl: RekorServer, test_sigstore: TestSigstore, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    _publish(dl, test_sigstore)
    root = trusted_root_for(test_sigstore, dl.url, tmp_path)
    code = main(["verify", "--config", str(_config(tmp_path, root, _url_entry(dl))), "--offline", "--ci", "none"])
    assert code == 2 and "--offline contradicts `files:` downloaded from https://" in capsys.readouterr().err
    assert dl.requests == []
