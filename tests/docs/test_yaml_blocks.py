"""Every YAML block of the documents loads through the real config loader (fragments inside a minimal config)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from sigverify.errors import ConfigError
from sigverify.policy import load_config
from tests.docs.mdblocks import OTHER_OWNER_FILES, REPO, Block, blocks, checked_blocks, doc_files

YAML_BLOCKS = checked_blocks({"yaml", "yml"})
TOP_KEYS = {"version", "images", "registries", "policies", "default", "trust_root", "files"}
POLICY_KEYS = {"name", "match", "mode", "threshold", "authorities", "attestations"}
AUTHORITY_KEYS = {"name", "key", "keyless", "notation", "tlog", "annotations"}
PUBLIC_KEY = REPO / "examples" / "keys" / "cosign.pub"


def _policy(name: str, authorities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "match": ["example.com/**"],
        "authorities": authorities or [{"name": "doc-key", "key": {"path": "keys/cosign.pub"}}],
    }


def wrap(fragment: object) -> dict[str, Any]:
    """A fragment at the place its top-level keys say, in the smallest config that loads."""
    if fragment is None:  # only comments (an editor hint)
        return {"version": 1, "policies": [_policy("doc")]}
    if isinstance(fragment, list) and all(isinstance(a, dict) and "name" in a for a in fragment):
        return {"version": 1, "policies": [_policy("doc", fragment)]}
    assert isinstance(fragment, dict), f"cannot place a fragment of type {type(fragment).__name__}"
    keys = set(fragment)
    if keys <= TOP_KEYS:
        config: dict[str, Any] = {"version": 1, **fragment}
        if "policies" not in config:
            used = {f.get("policy") for f in fragment.get("files", []) if isinstance(f, dict)}
            config["policies"] = [_policy(n) for n in sorted(x for x in used if isinstance(x, str))] or [
                _policy("doc")
            ]
        return config
    if keys <= POLICY_KEYS:
        policy = {**_policy("doc"), **fragment}
        if "authorities" not in fragment:  # attestations only: keyless authorities with the names they use
            refs = sorted({n for a in fragment.get("attestations", []) for n in a.get("authorities", [])})
            policy["authorities"] = [
                {"name": n, "keyless": {"issuer": "https://issuer.example", "subject": "doc@example.com"}}
                for n in refs
            ]
        return {"version": 1, "policies": [policy]}
    if keys <= AUTHORITY_KEYS:
        return {"version": 1, "policies": [_policy("doc", [{"name": "doc-authority", **fragment}])]}
    raise AssertionError(f"a fragment with keys {sorted(keys)} has no place in a config")


def _provide_files(data: object, root: Path, monkeypatch: pytest.MonkeyPatch, cert_pem: bytes) -> None:
    """Create the files a config names (the reader has their own keys and certificates) and set key variables."""
    if isinstance(data, list):
        for item in data:
            _provide_files(item, root, monkeypatch, cert_pem)
        return
    if not isinstance(data, dict):
        return
    for k, v in data.items():
        if k == "key" and isinstance(v, dict):
            if isinstance(v.get("path"), str):
                _write(root / v["path"], PUBLIC_KEY.read_bytes())
            if isinstance(v.get("env"), str):
                monkeypatch.setenv(v["env"], PUBLIC_KEY.read_text())
        elif k in ("ca_file", "trust_policy") and isinstance(v, str):
            _write(root / v, cert_pem if k == "ca_file" else b'{"version": "1.0", "trustPolicies": []}')
        elif k in ("trust_store", "tsa_store") and isinstance(v, str):
            _write(root / v / "ca.pem" if v.endswith("/") else root / v, cert_pem)
        elif k == "trust_store_dir" and isinstance(v, str):
            (root / v).mkdir(parents=True, exist_ok=True)
        elif k == "trust_root" and isinstance(v, str) and v not in ("embedded", "tuf"):
            _write(root / v, b"{}")  # existence is what the loader checks; the content is read when verifying
        else:
            _provide_files(v, root, monkeypatch, cert_pem)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture(scope="module")
def cert_pem() -> bytes:
    """A self-signed CA certificate, standing in for the reader's own CA files."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "docs test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def test_the_documents_have_yaml_blocks() -> None:
    assert len(YAML_BLOCKS) >= 10, [b.id for b in YAML_BLOCKS]


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=lambda b: b.id)
def test_yaml_block_loads(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cert_pem: bytes) -> None:
    text = textwrap.dedent(block.text)
    data = yaml.safe_load(text)
    if block.marked("fragment"):
        config = wrap(data)
        text = yaml.safe_dump(config, sort_keys=False)
    else:
        assert isinstance(data, dict) and data.get("version") == 1, (
            f"{block.id}: a YAML block that is not a whole config file (version: 1 ...) must be marked "
            "<!-- doc-test: fragment -->"
        )
        config = data
    _provide_files(config, tmp_path, monkeypatch, cert_pem)
    path = tmp_path / (block.created_name or "sigverify.yaml")
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except ConfigError as exc:
        pytest.fail(f"{block.id} does not load:\n{exc.diagnostics()}\n--- as loaded:\n{text}")


def test_a_wrong_key_in_a_fragment_fails(tmp_path: Path) -> None:
    """The wrapper keeps what the fragment says: a misspelt key is still a configuration error."""
    config = wrap({"authorities": [{"name": "a", "key": {"path": "keys/cosign.pub"}, "tlogs": "ignore"}]})
    _write(tmp_path / "keys" / "cosign.pub", PUBLIC_KEY.read_bytes())
    path = tmp_path / "sigverify.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    with pytest.raises(ConfigError, match="tlogs"):
        load_config(path)



CI_SNIPPETS = [
    b
    for f in doc_files()
    for b in blocks(f)
    if b.lang in ("yaml", "yml") and b.marked("ci") and b.file not in OTHER_OWNER_FILES
]


@pytest.mark.parametrize("block", CI_SNIPPETS, ids=lambda b: b.id)
def test_ci_snippets_in_these_documents_are_yaml(block: Block) -> None:
    """CI snippets outside the CI documents are at least well-formed YAML with a mapping at the top."""
    assert isinstance(yaml.safe_load(block.text), dict), block.id
