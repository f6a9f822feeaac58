"""Shared interop fixtures: offline cosign v2/v3, notation, key pairs, registries, pushers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.peers import RegistryProcess, offline_env
from tests.interop.oci import Pusher
from tests.interop.tools import Cosign, Notation

pytestmark = pytest.mark.peers


def embedded_trusted_root() -> Path:
    """The production trusted_root.json shipped in sigstore-python (keeps cosign verify off the TUF CDN)."""
    import sigstore

    p = Path(sigstore.__file__).parent / "_store" / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev" / "trusted_root.json"
    assert p.is_file(), f"sigstore-python no longer ships {p}"
    return p


@pytest.fixture(scope="session")
def interop_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("interop-home")


@pytest.fixture(scope="session")
def tool_env(interop_home: Path) -> dict[str, str]:
    return offline_env(interop_home)


@pytest.fixture(scope="session")
def cosign_v2(cosign2: str, tool_env: dict[str, str]) -> Cosign:
    return Cosign(cosign2, 2, tool_env, trusted_root=embedded_trusted_root())


@pytest.fixture(scope="session")
def cosign_v3(cosign3: str, tool_env: dict[str, str]) -> Cosign:
    return Cosign(cosign3, 3, tool_env, trusted_root=embedded_trusted_root())


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: Path


@pytest.fixture(scope="session")
def keys(cosign_v2: Cosign, tmp_path_factory: pytest.TempPathFactory) -> dict[str, KeyPair]:
    """Three cosign key pairs made by `cosign generate-key-pair` (empty password): a, b, other."""
    d = tmp_path_factory.mktemp("keys")
    out = {}
    for name in ("a", "b", "other"):
        priv, pub = cosign_v2.generate_key_pair(d, name)
        out[name] = KeyPair(priv, pub)
    return out


@pytest.fixture(scope="session")
def imported_keys(cosign_v2: Cosign, tmp_path_factory: pytest.TempPathFactory) -> dict[str, KeyPair]:
    """RSA-2048, ECDSA P-384 and Ed25519 keys made by `cryptography`, imported with `cosign import-key-pair`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    d = tmp_path_factory.mktemp("imported-keys")
    made: dict[str, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey] = {
        "rsa2048": rsa.generate_private_key(65537, 2048),
        "p384": ec.generate_private_key(ec.SECP384R1()),
        "ed25519": ed25519.Ed25519PrivateKey.generate(),
    }
    out = {}
    for name, key in made.items():
        pem = d / f"{name}.pem"
        pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
        priv, pub = cosign_v2.import_key_pair(d, pem, name)
        out[name] = KeyPair(priv, pub)
    return out


@pytest.fixture
def notation_tool(notation_bin: str, tmp_path: Path) -> Notation:
    """notation with its own config dir per test (keys and trust store do not leak between tests)."""
    return Notation(notation_bin, offline_env(tmp_path / "notation-home"))


@dataclass
class Target:
    """A registry under test plus a pusher and a fresh repository name."""

    registry: RegistryProcess
    pusher: Pusher
    repo: str

    @property
    def host(self) -> str:
        return self.registry.host

    def ref(self, tag_or_digest: str) -> str:
        sep = "@" if tag_or_digest.startswith("sha256:") else ":"
        return f"{self.host}/{self.repo}{sep}{tag_or_digest}"


def _target(reg: RegistryProcess) -> Target:
    return Target(reg, Pusher(reg.host), f"interop/t{uuid.uuid4().hex[:12]}")


@pytest.fixture
def on_referrers(referrers_registry: RegistryProcess) -> Target:
    """Fresh repository on the registry with the OCI referrers API."""
    return _target(referrers_registry)


@pytest.fixture
def on_fallback(fallback_registry: RegistryProcess) -> Target:
    """Fresh repository on Debian's docker-registry (no referrers API: tag fallback)."""
    return _target(fallback_registry)


@pytest.fixture(params=["docker-registry", "refregistry"])
def on_any(request: pytest.FixtureRequest) -> Iterator[Target]:
    """Both registries, one after the other."""
    name = "fallback_registry" if request.param == "docker-registry" else "referrers_registry"
    yield _target(request.getfixturevalue(name))
