"""cosign `.sig` signatures: a simple-signing layer signed with a key (key.py) or a Fulcio certificate (keyless.py).

The annotation names below are where cosign stores the signature material on each layer (docs/formats.md §1).
"""

from __future__ import annotations

SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate"
CHAIN_ANNOTATION = "dev.sigstore.cosign/chain"
BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"  # the Rekor SET bundle (crypto/rekor.py reads its value)
