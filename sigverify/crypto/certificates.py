"""Fulcio signing certificates outside bundles: load exactly one, verify it at a signing time (chain, SCT, usage)."""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

from sigverify.errors import Failure
from sigverify.models import Code

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

    from sigverify.crypto.trustroot import TrustStore


def load_certificate_pem(pem: str | bytes, what: str) -> Certificate:
    """Exactly one PEM certificate. Raises Failure(CERTIFICATE_INVALID)."""
    from cryptography import x509

    data = pem.encode() if isinstance(pem, str) else pem
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise Failure(Code.CERTIFICATE_INVALID, f"{what} is not a PEM certificate: {e}") from None
    if len(certs) != 1:
        raise Failure(Code.CERTIFICATE_INVALID, f"{what} must hold exactly one certificate",
                            expected="1", found=str(len(certs)))
    return certs[0]


def verify_fulcio_certificate(cert: Certificate, when: _dt.datetime, trust: TrustStore,
                              signer: str | None = None, *, sct_optional_without_ct_logs: bool = False) -> None:
    """The steps sigstore-python runs for a bundle's certificate, for a certificate verified at time ``when``
    (the Rekor integrated time from a verified SET): (1) chain to a Fulcio CA of the trusted root, valid at
    ``when`` (and that CA's ``validFor``), (2) embedded SCT by a trusted CT log, (3) digitalSignature +
    codeSigning, (4) ``when`` within the certificate's validity. Raises Failure."""
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    from sigverify.crypto.sigstore_adapter import chain_and_sct

    chain_and_sct(cert, when, trust, signer, sct_optional_without_ct_logs)
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound as e:
        raise Failure(Code.CERTIFICATE_INVALID, f"the certificate lacks {e}", signer=signer) from None
    if not ku.digital_signature or ExtendedKeyUsageOID.CODE_SIGNING not in eku:
        raise Failure(Code.CERTIFICATE_INVALID, "the certificate is not a code-signing certificate",
                            expected="KeyUsage digitalSignature + ExtendedKeyUsage codeSigning", signer=signer)
    if not (cert.not_valid_before_utc <= when <= cert.not_valid_after_utc):
        raise Failure(
            Code.CERTIFICATE_INVALID,
            "the signing time lies outside the certificate's validity",
            expected=f"[{cert.not_valid_before_utc.isoformat()}, {cert.not_valid_after_utc.isoformat()}]",
            found=when.isoformat(),
            signer=signer,
        )
