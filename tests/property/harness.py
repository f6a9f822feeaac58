"""Drive the real entry points on hostile input (the format verifiers through the table, the gate over an OCI layout
written to a directory, the config loader, trusted roots) and the outcome rules every property checks."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sigverify.crypto.trustroot import TrustStore
from sigverify.formats import FORMATS, verifier_for
from sigverify.formats.base import VerifyContext
from sigverify.gate import GateOptions, Target, run
from sigverify.models import Candidate, Code, Descriptor, Format, ImageRef, RunResult, SignatureCheck, Verdict
from sigverify.policy.loader import load_config
from sigverify.policy.model import Authority, KeylessIdentity, KeyRef, Location, Pattern
from sigverify.reference import parse
from tests.fixtures.cosign_sign import generate_key

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"
SUBJECT = "sha256:" + "ab" * 32
KEY = generate_key("p256")
# Layer media types each format's verifier is asked about (several per format: the wrong one must fail too).
MEDIA_TYPES: dict[str, tuple[str, ...]] = {
    Format.COSIGN_CLASSIC: ("application/vnd.dev.cosign.simplesigning.v1+json", "application/octet-stream"),
    Format.COSIGN_ATTESTATION: ("application/vnd.dsse.envelope.v1+json",),
    Format.SIGSTORE_BUNDLE: ("application/vnd.dev.sigstore.bundle.v0.3+json",
                             "application/vnd.dev.sigstore.bundle+json;version=0.1",
                             "application/vnd.dev.sigstore.bundle+json;version=0.2"),
    Format.NOTATION: ("application/jose+json", "application/cose"),
}
# Codes that mean "the code did not expect this": never acceptable for hostile input.
CRASH_CODES = frozenset({Code.INTERNAL_ERROR})


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def self_signed_cert(directory: Path) -> Path:
    """A CA certificate for the notation authority's trust store (nothing the hostile content can chain to)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sigverify property CA")])
    now = _dt.datetime.now(_dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - _dt.timedelta(days=1)).not_valid_after(now + _dt.timedelta(days=9))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    path = directory / "ca.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def authorities(directory: Path) -> dict[str, Authority]:
    """One authority of every kind the format table knows."""
    where = Location("property.yaml", 1)
    return {
        "key": Authority("key", where, key=KeyRef("property.pub", pem=KEY.public_pem), tlog="ignore"),
        "keyless": Authority("keyless", where, keyless=KeylessIdentity(Pattern("https://issuer.test"),
                                                                        Pattern("signer@example.test"))),
        "notation": Authority("notation", where, notation={"trust_store": str(self_signed_cert(directory)),
                                                           "trusted_identities": ["*"]}),
    }


def context(trust: TrustStore, digest: str = SUBJECT) -> VerifyContext:
    return VerifyContext(image=ImageRef("registry.test", "team/app", "v1", digest), digest=digest,
                         subject=Descriptor(OCI_MANIFEST, digest, 0), trust=trust)


def verify_all(content: bytes, annotations: Mapping[str, str], auths: Mapping[str, Authority],
               trust: TrustStore) -> list[SignatureCheck]:
    """Every (format, authority kind, media type) verifier of the table on one candidate."""
    checks: list[SignatureCheck] = []
    for spec in FORMATS:
        for kind in spec.verifiers:
            verifier = verifier_for(spec.format, kind)
            assert verifier is not None
            for media_type in MEDIA_TYPES[spec.format]:
                layer = Descriptor(media_type, sha256(content), len(content), dict(annotations))
                cand = Candidate(spec.format, "property", SUBJECT, "sha256:" + "0" * 64, layer, content)
                checks.append(verifier.verify(cand, auths[kind], context(trust)))
    return checks


def assert_refused(check: SignatureCheck) -> None:
    """A check of hostile or mutated content: not ok, with a named reason that is not a crash."""
    assert not check.ok, f"{check.format}/{check.authority}: hostile content verified"
    assert check.reason is not None and check.reason.code, check
    assert check.reason.code not in CRASH_CODES, (check.format, check.authority, check.reason)


# -- OCI layouts -----------------------------------------------------------------------------------------------


def descriptor(data: bytes, media_type: str, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


def write_layout(root: Path, blobs: list[bytes], index: bytes | dict[str, Any],
                 oci_layout: bytes = b'{"imageLayoutVersion":"1.0.0"}') -> Path:
    """An OCI image layout: the given blobs (stored under their digests), index.json and oci-layout as given."""
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    for blob in blobs:
        (root / "blobs" / "sha256" / sha256(blob).split(":", 1)[1]).write_bytes(blob)
    (root / "index.json").write_bytes(index if isinstance(index, bytes) else json.dumps(index).encode())
    (root / "oci-layout").write_bytes(oci_layout)
    return root


def index_of(*entries: tuple[bytes, str, str | None]) -> dict[str, Any]:
    """index.json listing (manifest bytes, media type, tag or None)."""
    return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        descriptor(data, mt, **({"annotations": {REF_NAME: tag}} if tag else {})) for data, mt, tag in entries]}


def image_manifest(seed: bytes = b"property") -> tuple[bytes, list[bytes]]:
    """A small real image manifest and its blobs."""
    config, layer = b'{"architecture":"amd64","os":"linux"}', seed * 4
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": descriptor(config, "application/vnd.oci.image.config.v1+json"),
                           "layers": [descriptor(layer, "application/vnd.oci.image.layer.v1.tar")]}).encode()
    return manifest, [config, layer]


def gate_config(directory: Path, *, tag: str = "v1") -> Path:
    """A config with one policy over the layout: a key, a keyless identity and a notation trust store."""
    (directory / "property.pub").write_bytes(KEY.public_pem)
    cert = self_signed_cert(directory)
    path = directory / "sigverify.yaml"
    path.write_text(
        f"version: 1\nimages:\n  - oci:layout:{tag}\npolicies:\n  - name: all\n    match: ['oci:**']\n"
        "    authorities:\n"
        "      - name: key\n        key: {path: property.pub}\n        tlog: ignore\n"
        "      - name: keyless\n        keyless: {issuer: https://issuer.test, subject: signer@example.test}\n"
        f"      - name: notary\n        notation: {{trust_store: {cert.name}, trusted_identities: ['*']}}\n"
    )
    return path


def run_gate(config_path: Path) -> RunResult:
    """The gate as `sigverify verify -c` runs it (offline, one worker), on the config's images."""
    config = load_config(config_path)
    targets = [Target(ref=parse(e.ref, base_dir=str(config_path.parent)), written=e.ref) for e in config.images]
    return run(config, targets, GateOptions(concurrency=1, offline=True), trust=TrustStore("embedded", offline=True))


def assert_gate_refused(result: RunResult) -> None:
    """Hostile layout content: no image passes, no exit 3, every reason named and none a crash."""
    assert result.exit_code == 1, [img.to_dict() for img in result.images]
    for img in result.images:
        assert img.verdict in (Verdict.FAIL, Verdict.ERROR), img.to_dict()
        assert img.reasons, img.to_dict()
        for reason in img.reasons:
            assert reason.code and reason.code not in CRASH_CODES, reason
        for check in img.signatures:
            assert not check.ok and check.reason is not None and check.reason.code not in CRASH_CODES, check
