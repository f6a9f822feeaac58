"""TrustStore: embedded production root offline, custom files, clear errors, lazy and thread-safe loading."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sigverify.crypto.trustroot import TrustRootError, TrustStore
from tests.fixtures.cosign_sign import FakeRekor

PROD_REKOR = "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"


def test_embedded_root_loads_offline_and_has_prod_rekor() -> None:
    store = TrustStore("embedded", offline=True)
    keys = store.rekor_keys()
    by_id = {k.log_id: k for k in keys}
    assert PROD_REKOR in by_id
    prod = by_id[PROD_REKOR]
    assert prod.base_url == "https://rekor.sigstore.dev"
    assert prod.key_details == "PKIX_ECDSA_P256_SHA_256"
    assert prod.valid_from is not None and prod.valid_from.year == 2021
    # Rekor v2 (Ed25519) is loaded too
    assert any(k.key_details == "PKIX_ED25519" for k in keys)
    assert store.label.startswith("embedded (sigstore-python ")
    path = store.trusted_root_path()
    assert path is not None and path.endswith("trusted_root.json")
    assert store.trusted_root_json()["mediaType"].startswith("application/vnd.dev.sigstore.trustedroot")
    assert store.ctlog_keys()


def test_embedded_rekor_key_equals_the_vector_copy(vectors: Path) -> None:
    """The installed sigstore package ships the production Rekor v1 key that the vectors carry (MANIFEST H)."""
    copy = vectors / "sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json"
    want = [
        t["publicKey"]["rawBytes"]
        for t in json.loads(copy.read_text())["tlogs"]
        if t["baseUrl"] == "https://rekor.sigstore.dev"
    ]
    have = [
        t["publicKey"]["rawBytes"]
        for t in TrustStore().trusted_root_json()["tlogs"]
        if t["baseUrl"] == "https://rekor.sigstore.dev"
    ]
    assert want and want == have


def test_loading_the_embedded_root_does_not_import_sigstore() -> None:
    code = (
        "import sys; from sigverify.crypto.trustroot import TrustStore; k = TrustStore().rekor_keys(); "
        "print(len(k), sorted(m for m in sys.modules if m.startswith('sigstore')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    count, mods = out.split(" ", 1)
    assert int(count) >= 2
    assert mods.strip() == "[]"


def test_custom_file(tmp_path: Path) -> None:
    log = FakeRekor()
    path = log.write_trusted_root(tmp_path / "root.json")
    store = TrustStore(str(path))
    assert [k.log_id for k in store.rekor_keys()] == [log.log_id]
    assert store.label == str(path)
    assert store.trusted_root_path() == str(path)


def test_parsed_once_and_thread_safe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = FakeRekor().write_trusted_root(tmp_path / "root.json")
    store = TrustStore(str(path))
    calls = []
    original = store._read

    def counting():  # type: ignore[no-untyped-def]
        calls.append(1)
        return original()

    monkeypatch.setattr(store, "_read", counting)
    threads = [threading.Thread(target=store.rekor_keys) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1


def test_nothing_is_read_before_first_use(tmp_path: Path) -> None:
    store = TrustStore(str(tmp_path / "does-not-exist.json"))  # constructing is free and never fails
    with pytest.raises(TrustRootError, match="not found") as e:
        store.rekor_keys()
    assert "does-not-exist.json" in str(e.value)
    assert e.value.tip


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "not a JSON object"),
        (b'{"mediaType":"application/json"}', "not a Sigstore trusted root"),
        (b'{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":{}}', "array"),
        (b'{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","mediaType":"x"}', "duplicate"),
        (
            b'{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1",'
            b'"tlogs":[{"publicKey":{"rawBytes":"!!"}}]}',
            "malformed",
        ),
    ],
)
def test_invalid_files_give_clear_errors(tmp_path: Path, content: bytes, needle: str) -> None:
    path = tmp_path / "root.json"
    path.write_bytes(content)
    with pytest.raises(TrustRootError, match=needle) as e:
        TrustStore(str(path)).rekor_keys()
    assert str(path) in str(e.value)


def test_tuf_is_refused_offline() -> None:
    with pytest.raises(TrustRootError, match="offline"):
        TrustStore("tuf", offline=True).rekor_keys()


def test_keys_of_unknown_types_are_skipped_not_trusted(tmp_path: Path) -> None:
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import x25519

    log = FakeRekor()
    root = log.trusted_root()
    weird = json.loads(json.dumps(root["tlogs"][0]))
    weird["publicKey"]["rawBytes"] = base64.b64encode(
        x25519.X25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).decode()
    weird["baseUrl"] = "https://weird.test"
    root["tlogs"].append(weird)
    path = tmp_path / "root.json"
    path.write_text(json.dumps(root))
    store = TrustStore(str(path))
    assert [k.base_url for k in store.rekor_keys()] == ["https://rekor.test"]
    assert store.skipped and "weird.test" in store.skipped[0]
