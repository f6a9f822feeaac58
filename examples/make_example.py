"""Regenerate the example OCI layout (examples/oci-layout) and its public key (examples/keys/cosign.pub).

The images are tiny OCI images; each is signed like `cosign sign --key` (classic `.sig` tag, simple-signing
payload with the annotation env=production). The private key is thrown away: only the public key is kept.
Run: python examples/make_example.py   (needs `cryptography`)
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

HERE = Path(__file__).resolve().parent
LAYOUT = HERE / "oci-layout"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _put(blob: bytes) -> dict[str, object]:
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    (LAYOUT / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(blob)
    return {"digest": digest, "size": len(blob)}


def _image(text: str) -> dict[str, object]:
    layer = _put(text.encode())
    config = _put(_dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [
        layer["digest"]]}, "config": {}}))
    manifest = _dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
                       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer}]})
    return {"mediaType": OCI_MANIFEST, **_put(manifest)}


def _signature(key: ec.EllipticCurvePrivateKey, digest: str, repo: str) -> dict[str, object]:
    payload = _dumps({"critical": {"identity": {"docker-reference": repo}, "image": {"docker-manifest-digest": digest},
                                   "type": "cosign container image signature"}, "optional": {"env": "production"}})
    sig = base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()
    layer = _put(payload)
    config = _put(_dumps({"architecture": "", "created": "0001-01-01T00:00:00Z",
                          "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
                          "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}, "config": {}}))
    manifest = _dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
                       "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", **layer,
                                   "annotations": {"dev.cosignproject.cosign/signature": sig}}]})
    return {"mediaType": OCI_MANIFEST, **_put(manifest)}


def main() -> None:
    shutil.rmtree(LAYOUT, ignore_errors=True)
    (LAYOUT / "blobs" / "sha256").mkdir(parents=True)
    (LAYOUT / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    key = ec.generate_private_key(ec.SECP256R1())
    (HERE / "keys").mkdir(exist_ok=True)
    (HERE / "keys" / "cosign.pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    entries = []
    for tag, text in (("app-1.0", "example app 1.0\n"), ("worker-2.0", "example worker 2.0\n")):
        image = _image(text)
        entries.append({**image, "annotations": {"org.opencontainers.image.ref.name": tag}})
        sig = _signature(key, str(image["digest"]), "example.com/sigverify/app")
        sig_tag = str(image["digest"]).replace(":", "-") + ".sig"
        entries.append({**sig, "annotations": {"org.opencontainers.image.ref.name": sig_tag}})
    unsigned = _image("example unsigned\n")
    entries.append({**unsigned, "annotations": {"org.opencontainers.image.ref.name": "unsigned"}})
    (LAYOUT / "index.json").write_text(json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}, indent=2))


if __name__ == "__main__":
    main()
