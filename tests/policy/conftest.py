"""Fixtures for config-loading tests: a config directory with freshly generated keys and trust files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

EXAMPLES = Path(__file__).parent / "examples"
GARBAGE_SECRET = "s3cr3t-Value-that-must-never-be-printed"


PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def _pub(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="session")
def key_material() -> dict[str, bytes]:
    """File name -> bytes for every key-like file the examples refer to (generated once per session)."""
    p256 = ec.generate_private_key(ec.SECP256R1())
    cert_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(cert_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(cert_key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    return {
        "keys/cosign.pub": _pub(p256),
        "keys/cosign.key": p256.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        "keys/p384.pub": _pub(ec.generate_private_key(ec.SECP384R1())),
        "keys/env.pub": _pub(ec.generate_private_key(ec.SECP256R1())),
        "keys/secp256k1.pub": _pub(ec.generate_private_key(ec.SECP256K1())),
        "keys/rsa.pub": _pub(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "keys/rsa1024.pub": _pub(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
        "keys/ed25519.pub": _pub(ed25519.Ed25519PrivateKey.generate()),
        "keys/cert.pem": cert_pem,
        "keys/garbage.pub": b"this is not a key\n",
        "keys/damaged.pub": b"-----BEGIN PUBLIC KEY-----\nAAAA!!!!\n-----END PUBLIC KEY-----\n",
        "certs/ca/ca.pem": cert_pem,
        "certs/tsa/tsa.pem": cert_pem,
        "notation/trustpolicy.json": b'{"version": "1.0", "trustPolicies": []}\n',
        "notation/truststore/x509/ca/acme/ca.pem": cert_pem,
        "trust/trusted_root.json": b"{}\n",
        "tls/registry-ca.pem": cert_pem,
    }


@pytest.fixture
def config_dir(tmp_path: Path, key_material: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory holding the files examples refer to, and the environment variables they read."""
    for rel, data in key_material.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    monkeypatch.setenv("SV_TEST_PUBLIC_KEY", key_material["keys/cosign.pub"].decode())
    monkeypatch.setenv("SV_TEST_OTHER_PUBLIC_KEY", key_material["keys/env.pub"].decode())
    monkeypatch.setenv("SV_TEST_GARBAGE", GARBAGE_SECRET)
    monkeypatch.setenv("SV_TEST_EMPTY", "")
    monkeypatch.delenv("SV_TEST_UNSET", raising=False)
    return tmp_path
