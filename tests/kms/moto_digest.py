"""Run moto_server with KMS ``Sign`` honouring ``MessageType=DIGEST``, then serve as usual.

moto 5.x ignores MessageType and always hashes the message (its own docstring: "The MessageType-parameter DIGEST
is not yet implemented"). cosign signs through AWS KMS with MessageType=DIGEST (sigstore/sigstore
pkg/signature/kms/aws), so a signature ``cosign sign --key awskms://`` makes against plain moto is over
SHA-256(SHA-256(payload)) and no correct verifier accepts it. This launcher adds what the AWS KMS API reference
specifies for DIGEST — the message is the digest, signed without hashing again — and changes nothing else.
Usage: python -m tests.kms.moto_digest -H 127.0.0.1 -p PORT [-c CERT -k KEY]
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def _prehashed_sign(private: Any, digest: bytes, algorithm: str) -> bytes:
    h = _HASHES[algorithm[-3:]]()
    if len(digest) != h.digest_size:
        from moto.kms.exceptions import ValidationException

        raise ValidationException(f"Digest is invalid length for algorithm {algorithm}.")
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return bytes(private.sign(digest, ec.ECDSA(Prehashed(h))))
    assert isinstance(private, rsa.RSAPrivateKey)
    if "_PSS_" in algorithm:
        pad: padding.AsymmetricPadding = padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size)
    else:
        pad = padding.PKCS1v15()
    return bytes(private.sign(digest, pad, Prehashed(h)))


def install() -> None:
    from moto.kms.responses import KmsResponse

    original_sign = KmsResponse.sign

    def sign(self: Any) -> str:
        if self._get_param("MessageType") != "DIGEST":
            return str(original_sign(self))
        key_id = self._get_param("KeyId")
        message = self._get_param("Message")
        algorithm = self._get_param("SigningAlgorithm")
        self._validate_key_id(key_id)
        key = self.kms_backend.describe_key(key_id)
        if key.key_usage != "SIGN_VERIFY" or algorithm not in (key.signing_algorithms or []):
            return str(original_sign(self))  # moto's own errors for wrong usage / algorithm
        if isinstance(message, str):
            message = message.encode()
        signature = _prehashed_sign(key.private_key.private_key, message, algorithm)
        return json.dumps({"KeyId": key.arn, "Signature": base64.b64encode(signature).decode(),
                           "SigningAlgorithm": algorithm})

    KmsResponse.sign = sign  # type: ignore[method-assign]


if __name__ == "__main__":
    install()
    from moto.server import main

    main()
