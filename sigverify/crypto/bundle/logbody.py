"""Transparency-log entry bodies (hashedrekord, dsse, intoto) must name exactly the bundle's signature and signer."""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from sigverify.errors import Failure
from sigverify.models import Code

if TYPE_CHECKING:
    from sigverify.crypto.keys import PublicKey


def pem_to_der(pem_b64: str) -> bytes:
    """A base64 PEM certificate or public key (as Rekor bodies carry them) -> DER (cert or SPKI)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    pem = base64.b64decode(pem_b64, validate=True)
    if b"CERTIFICATE" in pem:
        return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    key = serialization.load_pem_public_key(pem)
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def check_intoto_body(
    body: bytes, *, payload: bytes, signature: bytes, signer_der: bytes, error: type[Exception]
) -> None:
    """Rekor ``intoto`` 0.0.2 body vs the envelope: payload hash, the (double base64) signature, the signer."""
    from sigverify.crypto.strictjson import PayloadError, loads_object

    try:
        doc = loads_object(body, what="intoto log entry")
        content = doc["spec"]["content"]
        if content["payloadHash"]["algorithm"] != "sha256":
            raise error("intoto log entry: payload hash is not sha256")
        if content["payloadHash"]["value"] != hashlib.sha256(payload).hexdigest():
            raise error("log entry payload hash does not match bundle")
        sigs = content["envelope"]["signatures"]
        if not isinstance(sigs, list) or len(sigs) != 1:
            raise error("intoto log entry must carry exactly one signature")
        logged_sig = base64.b64decode(base64.b64decode(sigs[0]["sig"], validate=True), validate=True)
        if logged_sig != signature:
            raise error("log entry signature does not match bundle")
        if pem_to_der(sigs[0]["publicKey"]) != signer_der:
            raise error("log entry certificate does not match bundle")
        logged_payload = content["envelope"].get("payload")
        if logged_payload is not None:
            inner = base64.b64decode(base64.b64decode(logged_payload, validate=True), validate=True)
            if inner != payload:
                raise error("log entry payload does not match bundle")
    except (KeyError, TypeError, ValueError, PayloadError) as e:
        if isinstance(e, error):
            raise
        raise error(f"malformed intoto log entry: {e}") from None


def _body_fail(msg: str) -> Failure:
    return Failure(Code.TLOG_INVALID, f"transparency log entry is inconsistent with the bundle: {msg}")


def check_key_hashedrekord_body(
    kind: str, version: str, body: bytes, *, digest: bytes, signature: bytes, key: PublicKey,
    algorithm: str = "sha256",
) -> None:
    check_hashedrekord_body(kind, version, body, digest=digest, signature=signature, signer_der=key.der,
                            algorithm=algorithm)


def check_hashedrekord_body(
    kind: str, version: str, body: bytes, *, digest: bytes, signature: bytes, signer_der: bytes,
    algorithm: str = "sha256",
) -> None:
    """A hashedrekord 0.0.1 / 0.0.2 entry must name this artifact digest (``algorithm``: sha256/384/512), this
    signature and this signer (``signer_der``: certificate DER, or SPKI DER for a key). Raises TLOG_INVALID."""
    from sigverify.crypto.strictjson import PayloadError, loads_object

    if kind != "hashedrekord":
        raise _body_fail(f"expected a hashedrekord entry, found {kind}/{version}")
    try:
        doc = loads_object(body, what="hashedrekord log entry")
        spec = doc["spec"]
        if version == "0.0.1":
            if spec["data"]["hash"] != {"algorithm": algorithm, "value": digest.hex()}:
                raise _body_fail("artifact hash differs")
            if base64.b64decode(spec["signature"]["content"], validate=True) != signature:
                raise _body_fail("signature differs")
            if pem_to_der(spec["signature"]["publicKey"]["content"]) != signer_der:
                raise _body_fail("signer differs")
        elif version == "0.0.2":
            _check_hashedrekord_v002(spec, digest=digest, digest_differs="artifact hash differs",
                                     signature=signature, signer_der=signer_der)
        else:
            raise _body_fail(f"unsupported hashedrekord version {version}")
    except (KeyError, TypeError, ValueError, PayloadError) as e:
        if isinstance(e, Failure):
            raise
        raise _body_fail(f"malformed entry: {e}") from None


def _check_hashedrekord_v002(spec: Any, *, digest: bytes, digest_differs: str, signature: bytes,
                             signer_der: bytes) -> None:
    """A Rekor v2 hashedrekord 0.0.2 ``spec`` must log this digest, signature and signer. Raises Failure
    (``digest_differs`` names a digest mismatch); a malformed spec raises KeyError/TypeError/ValueError."""
    hr = spec["hashedRekordV002"]
    if base64.b64decode(hr["data"]["digest"], validate=True) != digest:
        raise _body_fail(digest_differs)
    if base64.b64decode(hr["signature"]["content"], validate=True) != signature:
        raise _body_fail("signature differs")
    verifier = hr["signature"]["verifier"]
    logged = verifier.get("publicKey", verifier.get("x509Certificate", {}))["rawBytes"]
    if base64.b64decode(logged, validate=True) != signer_der:
        raise _body_fail("signer differs")


def check_key_dsse_body(
    kind: str, version: str, body: bytes, *, payload: bytes, pae: bytes, signature: bytes, key: PublicKey
) -> None:
    check_dsse_log_body(kind, version, body, payload=payload, pae=pae, signature=signature, signer_der=key.der)


def check_dsse_log_body(
    kind: str, version: str, body: bytes, *, payload: bytes, pae: bytes, signature: bytes, signer_der: bytes
) -> None:
    """A logged DSSE entry (dsse 0.0.1, intoto 0.0.2, Rekor v2 hashedrekord 0.0.2) must name this payload, this
    signature and this signer (``signer_der``: certificate DER, or SPKI DER for a key). Raises Failure."""
    from sigverify.crypto.strictjson import PayloadError, loads_object

    try:
        doc = loads_object(body, what="log entry")
        spec = doc["spec"]
        if kind == "dsse" and version == "0.0.1":
            if spec["payloadHash"] != {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}:
                raise _body_fail("payload hash differs")
            sigs = spec["signatures"]
            if len(sigs) != 1 or base64.b64decode(sigs[0]["signature"], validate=True) != signature:
                raise _body_fail("signature differs")
            if pem_to_der(sigs[0]["verifier"]) != signer_der:
                raise _body_fail("public key differs")
        elif kind == "intoto" and version == "0.0.2":
            check_intoto_body(body, payload=payload, signature=signature, signer_der=signer_der, error=ValueError)
        elif kind == "hashedrekord" and version == "0.0.2":
            _check_hashedrekord_v002(spec, digest=hashlib.sha256(pae).digest(), digest_differs="PAE digest differs",
                                     signature=signature, signer_der=signer_der)
        else:
            raise _body_fail(f"unsupported DSSE log entry type {kind}/{version}")
    except (KeyError, TypeError, ValueError, PayloadError) as e:
        if isinstance(e, Failure):
            raise
        raise _body_fail(str(e)) from None
