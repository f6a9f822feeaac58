"""Fast classic cosign key signing in Python (what `cosign sign --key --tlog-upload=false` stores), for the bench.

Writes the exact object layout of cosign's `.sig` tag (vectors FORMATS.md §1.2-1.4): a simple-signing payload
layer with the base64 DER ECDSA signature in `dev.cosignproject.cosign/signature`, and cosign's deterministic
config. The benchmark checks the result with the real `cosign verify`, so a drift from cosign shows up there.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.interop.oci import OCI_CONFIG, OCI_MANIFEST, Pusher, sha256, sig_tag

SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"


def new_key() -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    """A fresh P-256 key and its public key PEM (what `cosign generate-key-pair` makes, unencrypted here)."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, pem


def payload(repo_name: str, digest: str, annotations: dict[str, str] | None = None) -> bytes:
    doc: dict[str, Any] = {
        "critical": {
            "identity": {"docker-reference": repo_name},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": annotations or None,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def sign_classic(pusher: Pusher, repo: str, digest: str, key: ec.EllipticCurvePrivateKey,
                 annotations: dict[str, str] | None = None) -> str:
    """Store one classic signature for ``digest`` under ``sha256-<hex>.sig``; return the sig manifest digest."""
    body = payload(f"{pusher.host}/{repo}", digest, annotations)
    sig = base64.b64encode(key.sign(body, ec.ECDSA(hashes.SHA256()))).decode()
    config = json.dumps(
        {
            "architecture": "",
            "created": "0001-01-01T00:00:00Z",
            "history": [{"created": "0001-01-01T00:00:00Z"}],
            "os": "",
            "rootfs": {"type": "layers", "diff_ids": [sha256(body)]},
            "config": {},
        },
        separators=(",", ":"),
    ).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "size": len(config), "digest": pusher.blob(repo, config)},
        "layers": [
            {
                "mediaType": SIMPLESIGNING,
                "size": len(body),
                "digest": pusher.blob(repo, body),
                "annotations": {"dev.cosignproject.cosign/signature": sig},
            }
        ],
    }
    raw = json.dumps(manifest, separators=(",", ":")).encode()
    return pusher.manifest(repo, sig_tag(digest), raw, OCI_MANIFEST)
