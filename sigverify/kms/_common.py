"""What the key-service modules say alike: a malformed key URI, the offline way out, a scrubbed SDK message."""

from __future__ import annotations

from sigverify.errors import KeyMaterialError


def malformed_uri(uri: str, grammar: str, tip: str) -> KeyMaterialError:
    """The error for a key URI that does not fit its scheme's grammar."""
    return KeyMaterialError(f"malformed key URI {uri!r}", expected=grammar, found=uri, tip=tip)


def offline_tip(command: str) -> str:
    """The way out without the key service: the command that exports the public key, then a key file."""
    return f"Or verify offline with the exported public key: {command}, then key: {{path: vendor.pem}}."
