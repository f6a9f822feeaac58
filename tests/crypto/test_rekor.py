"""Rekor bundle parsing, SET verification and body binding (real production entries and a fake log)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from sigverify.crypto import rekor
from sigverify.crypto.trustroot import TrustStore
from sigverify.formats.cosign_sig import BUNDLE_ANNOTATION
from tests.fixtures.cosign_sign import FakeRekor, KeyPair, simple_signing_payload

PROD = "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"


@pytest.fixture(scope="module")
def a10_bundle(vectors: Path) -> str:
    raw = (vectors / "containers-image/signature/fixtures/dir-img-cosign-key-rekor-valid/signature-1").read_bytes()
    doc = json.loads(raw[len(b"\x00sigstore-json\n") :])
    return str(doc["annotations"][BUNDLE_ANNOTATION])


def test_parse_real_bundle(a10_bundle: str) -> None:
    b = rekor.parse_cosign_bundle(a10_bundle)
    assert (b.log_index, b.integrated_time, b.log_id) == (11608800, 1674251859, PROD)
    # the SET message is the RFC 8785 canonical form: keys sorted, no whitespace
    assert b.set_payload().startswith(b'{"body":"')
    assert b'"integratedTime":1674251859,"logID":"' + PROD.encode() + b'","logIndex":11608800}' in b.set_payload()


def test_real_set_verifies_with_embedded_prod_key(a10_bundle: str) -> None:
    b = rekor.parse_cosign_bundle(a10_bundle)
    key = rekor.verify_set(b, TrustStore().rekor_keys())
    assert key.log_id == PROD and key.base_url == "https://rekor.sigstore.dev"


def test_real_body_is_hashedrekord(a10_bundle: str) -> None:
    entry = rekor.parse_body(rekor.parse_cosign_bundle(a10_bundle).body)
    assert (entry.kind, entry.api_version, entry.hash_algorithm) == ("hashedrekord", "0.0.1", "sha256")
    assert entry.verifier_pem.startswith(b"-----BEGIN PUBLIC KEY-----")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        "{}",
        '{"SignedEntryTimestamp":"AAAA"}',
        '{"SignedEntryTimestamp":"AAAA","Payload":{}}',
        '{"SignedEntryTimestamp":"AAAA","Payload":{"body":"e30=","integratedTime":true,"logIndex":1,'
        f'"logID":"{PROD}"}}}}',
        '{"SignedEntryTimestamp":"AAAA","Payload":{"body":"e30=","integratedTime":-1,"logIndex":1,'
        f'"logID":"{PROD}"}}}}',
        '{"SignedEntryTimestamp":"AAAA","Payload":{"body":"e30=","integratedTime":1.5,"logIndex":1,'
        f'"logID":"{PROD}"}}}}',
    ],
)
def test_malformed_bundles(text: str) -> None:
    with pytest.raises(rekor.TlogError):
        rekor.parse_cosign_bundle(text)


def test_unsupported_entry_kinds() -> None:
    body = base64.b64encode(json.dumps({"apiVersion": "0.0.2", "kind": "intoto", "spec": {}}).encode()).decode()
    with pytest.raises(rekor.TlogError, match="unsupported Rekor entry kind"):
        rekor.parse_body(body)


def test_rekord_entry_is_supported(cosign_key: KeyPair, fake_rekor: FakeRekor) -> None:
    payload = simple_signing_payload("sha256:" + "a" * 64)
    sig = cosign_key.sign(payload)
    body = {
        "apiVersion": "0.0.1",
        "kind": "rekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": __import__("hashlib").sha256(payload).hexdigest()}},
            "signature": {
                "format": "x509",
                "content": base64.b64encode(sig).decode(),
                "publicKey": {"content": base64.b64encode(cosign_key.public_pem).decode()},
            },
        },
    }
    text = fake_rekor.bundle(sig, cosign_key.public_pem, payload, body=json.dumps(body).encode())
    result = rekor.verify_cosign_bundle(
        text, signature=sig, key_der=cosign_key.public_der, payload=payload, keys=[_key_of(fake_rekor)]
    )
    assert result.kind == "rekord 0.0.1"
    body["spec"]["signature"]["format"] = "pgp"  # type: ignore[index]
    text = fake_rekor.bundle(sig, cosign_key.public_pem, payload, body=json.dumps(body).encode())
    with pytest.raises(rekor.TlogError, match="x509"):
        rekor.verify_cosign_bundle(
            text, signature=sig, key_der=cosign_key.public_der, payload=payload, keys=[_key_of(fake_rekor)]
        )


def test_sha384_hashedrekord_is_checked_with_sha384(cosign_keys: dict[str, KeyPair], fake_rekor: FakeRekor) -> None:
    key = cosign_keys["p384"]
    payload = simple_signing_payload("sha256:" + "b" * 64)
    sig = key.sign(payload)
    body = fake_rekor.hashedrekord_body(sig, key.public_pem, payload, algorithm="sha384")
    text = fake_rekor.bundle(sig, key.public_pem, payload, body=body)
    rekor.verify_cosign_bundle(text, signature=sig, key_der=key.public_der, payload=payload, keys=[_key_of(fake_rekor)])
    body = fake_rekor.hashedrekord_body(sig, key.public_pem, payload, algorithm="md5")
    text = fake_rekor.bundle(sig, key.public_pem, payload, body=body)
    with pytest.raises(rekor.TlogError, match="unsupported hash"):
        rekor.verify_cosign_bundle(
            text, signature=sig, key_der=key.public_der, payload=payload, keys=[_key_of(fake_rekor)]
        )


def _key_of(log: FakeRekor):  # type: ignore[no-untyped-def]
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = log.write_trusted_root(Path(d) / "root.json")
        return TrustStore(str(path)).rekor_keys()[0]


def test_non_text_bundle_is_a_tlog_error() -> None:
    with pytest.raises(rekor.TlogError, match="not text"):
        rekor.parse_cosign_bundle(5)  # type: ignore[arg-type]


def test_p384_log_key_set_with_sha256_verifies(cosign_key: KeyPair, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    log = FakeRekor(private=ec.generate_private_key(ec.SECP384R1()))
    root = log.trusted_root()
    root["tlogs"][0]["publicKey"]["keyDetails"] = "PKIX_ECDSA_P384_SHA_384"
    (tmp_path / "root.json").write_text(json.dumps(root))
    payload = simple_signing_payload("sha256:" + "c" * 64)
    sig = cosign_key.sign(payload)
    text = log.bundle(sig, cosign_key.public_pem, payload)
    result = rekor.verify_cosign_bundle(
        text,
        signature=sig,
        key_der=cosign_key.public_der,
        payload=payload,
        keys=TrustStore(str(tmp_path / "root.json")).rekor_keys(),
    )
    assert result.log_id == log.log_id
