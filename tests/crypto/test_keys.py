"""Key loading (PEM, KMS, cached per run), fingerprints and signature schemes."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa, x25519

from sigverify.crypto import ed25519ph, keys
from sigverify.errors import KeyMaterialError
from sigverify.policy.model import KeyRef
from tests.fixtures.cosign_sign import KeyPair, generate_key


def pem_of(private) -> bytes:  # type: ignore[no-untyped-def]
    return bytes(
        private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


@pytest.mark.parametrize(
    ("kind", "algorithm"),
    [
        ("p256", "ECDSA P-256"),
        ("p384", "ECDSA P-384"),
        ("p521", "ECDSA P-521"),
        ("rsa2048", "RSA-2048"),
        ("rsa3072", "RSA-3072"),
        ("ed25519", "Ed25519"),
    ],
)
def test_load_each_supported_type(cosign_keys: dict[str, KeyPair], kind: str, algorithm: str) -> None:
    kp = cosign_keys[kind]
    key = keys.load_pem_public_key(kp.public_pem, "k.pub")
    assert key.algorithm == algorithm
    assert key.der == kp.public_der
    assert key.fingerprint == "sha256:" + hashlib.sha256(kp.public_der).hexdigest()


def test_pkcs1_rsa_public_key_is_accepted(cosign_keys: dict[str, KeyPair]) -> None:
    pub = cosign_keys["rsa2048"].private.public_key()
    pem = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    assert keys.load_pem_public_key(pem, "k.pub").der == cosign_keys["rsa2048"].public_der


def test_surrounding_text_is_tolerated(cosign_key: KeyPair) -> None:
    pem = b"# release key\n" + cosign_key.public_pem + b"\n"
    assert keys.load_pem_public_key(pem, "k.pub").der == cosign_key.public_der


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"", "no PEM public key"),
        (b"hello", "no PEM public key"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "invalid public key"),
    ],
)
def test_bad_pem(data: bytes, needle: str) -> None:
    with pytest.raises(KeyMaterialError, match=needle):
        keys.load_pem_public_key(data, "k.pub")


def test_certificate_is_not_a_key(vectors) -> None:  # type: ignore[no-untyped-def]
    cert = (vectors / "containers-image" / "signature" / "fixtures" / "fulcio_v1.crt.pem").read_bytes()
    with pytest.raises(KeyMaterialError, match="certificate, not a public key") as e:
        keys.load_pem_public_key(cert, "fulcio.pem")
    assert e.value.tip and "openssl x509" in e.value.tip


def test_private_key_is_refused(cosign_key: KeyPair) -> None:
    pem = cosign_key.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(KeyMaterialError, match="private key"):
        keys.load_pem_public_key(pem, "k")


def test_two_keys_in_one_authority_are_refused(cosign_key: KeyPair) -> None:
    with pytest.raises(KeyMaterialError, match="2 PEM blocks"):
        keys.load_pem_public_key(cosign_key.public_pem + generate_key().public_pem, "k")


@pytest.mark.parametrize(
    ("private", "needle"),
    [
        (lambda: rsa.generate_private_key(65537, 1024), "too small"),
        (lambda: ec.generate_private_key(ec.SECP256K1()), "unsupported elliptic curve"),
        (lambda: dsa.generate_private_key(2048), "unsupported public key type"),
        (lambda: x25519.X25519PrivateKey.generate(), "unsupported public key type"),
    ],
    ids=["rsa1024", "secp256k1", "dsa", "x25519"],
)
def test_unsupported_keys(private, needle: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(KeyMaterialError, match=needle):
        keys.load_pem_public_key(pem_of(private()), "k")


def test_signature_schemes_do_not_cross(cosign_keys: dict[str, KeyPair]) -> None:
    msg = b"payload"
    for kind, kp in cosign_keys.items():
        key = keys.load_pem_public_key(kp.public_pem, kind)
        sig = kp.sign(msg)
        assert keys.verify_signature(key, sig, msg) is not None, kind
        assert keys.verify_signature(key, sig, msg + b".") is None, kind
        assert keys.verify_signature(key, b"", msg) is None, kind
        assert keys.verify_signature(key, b"\x30\x02\x01", msg) is None, kind


def test_ed25519ph_matches_rfc8032_vector() -> None:
    sk = bytes.fromhex("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42")
    pk = bytes.fromhex("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf")
    sig = bytes.fromhex(
        "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41"
        "31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406"
    )
    assert ed25519ph.sign(sk, b"abc") == sig
    assert ed25519ph.verify(pk, sig, b"abc")
    assert not ed25519ph.verify(pk, sig, b"abd")
    assert not ed25519ph.verify(pk, sig[:32] + bytes(32), b"abc")
    # s >= L is rejected (malleability)
    s = int.from_bytes(sig[32:], "little") + 2**252 + 27742317777372353535851937790883648493
    assert not ed25519ph.verify(pk, sig[:32] + s.to_bytes(32, "little"), b"abc")


def test_b64decode_strict() -> None:
    assert keys.b64decode_strict("TUVV") == b"MEU"
    for bad in ("TUV", "TU VV", "TUVV\n", "TU-_", "====", "TUVV=="):
        with pytest.raises(ValueError):
            keys.b64decode_strict(bad)


def test_cache_loads_each_kms_uri_once_even_concurrently(cosign_key: KeyPair, monkeypatch: pytest.MonkeyPatch) -> None:
    from sigverify import kms

    calls: list[str] = []

    def fetch(uri: str) -> bytes:
        calls.append(uri)
        time.sleep(0.05)
        return cosign_key.public_pem

    monkeypatch.setattr(kms, "fetch_public_key_pem", fetch)
    cache = keys.KeyCache()
    ref = KeyRef("awskms:///alias/release", kms="awskms:///alias/release")
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(cache.resolve(ref).fingerprint)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [cosign_key.fingerprint] * 8
    assert calls == ["awskms:///alias/release"]


def test_cache_remembers_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    from sigverify import kms

    calls: list[str] = []

    def fetch(uri: str) -> bytes:
        calls.append(uri)
        raise RuntimeError("connection refused")

    monkeypatch.setattr(kms, "fetch_public_key_pem", fetch)
    cache = keys.KeyCache()
    ref = KeyRef("gcpkms://k", kms="gcpkms://k")
    for _ in range(3):
        with pytest.raises(KeyMaterialError, match="connection refused"):
            cache.resolve(ref)
    assert len(calls) == 1


def test_keyref_without_material_is_an_error() -> None:
    with pytest.raises(KeyMaterialError):
        keys.KeyCache().resolve(KeyRef("nothing"))


def test_cache_keeps_each_authoritys_source_label(cosign_key: KeyPair) -> None:
    cache = keys.KeyCache()
    a = cache.resolve(KeyRef("keys/a.pub", pem=cosign_key.public_pem))
    b = cache.resolve(KeyRef("env RELEASE_KEY", pem=cosign_key.public_pem))
    assert (a.source, b.source) == ("keys/a.pub", "env RELEASE_KEY")
    assert a.der == b.der
