"""RFC 3161 timestamp countersignatures: parse with asn1crypto (BER), verify with rfc3161-client."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sigverify.errors import Failure
from sigverify.models import Code

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

# ETSI baseline timestamp policy: no accuracy field means +-1 s (RFC 3628 §5.1; notation's tspclient-go).
_BASELINE_POLICY = "0.4.0.2023.1.1"


@dataclass(frozen=True)
class Timestamp:
    """A verified timestamp: generation time with its accuracy, and the TSA chain leaf -> root."""

    gen_time: _dt.datetime
    accuracy: _dt.timedelta
    tsa_chain: tuple[Certificate, ...]

    @property
    def earliest(self) -> _dt.datetime:
        return self.gen_time - self.accuracy

    @property
    def latest(self) -> _dt.datetime:
        return self.gen_time + self.accuracy


def _as_response(token: bytes) -> bytes:
    """Wrap a TimeStampToken (notation stores the token only) into a granted TimeStampResp, re-encoded as DER.

    Real TSAs emit BER (e.g. unsorted certificate SETs) that the strict DER parser of rfc3161-client refuses;
    asn1crypto reads BER and writes DER. Only the unsigned certificate set is re-encoded; signed bytes are kept.
    """
    from asn1crypto import cms, tsp  # type: ignore[import-untyped]

    ci = cms.ContentInfo.load(token, strict=True)
    if ci["content_type"].native != "signed_data":
        raise ValueError(f"content type is {ci['content_type'].native}, expected signed_data")
    sd = ci["content"]
    if sd["encap_content_info"]["content_type"].native != "tst_info":
        raise ValueError("the signed content is not a TSTInfo")
    if len(sd["certificates"]):
        sd["certificates"] = cms.CertificateSet(list(sd["certificates"]))
    resp = tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": ci})
    return bytes(resp.dump())


def _tsa_chain(leaf: Certificate, pool: Sequence[Certificate], roots: Sequence[Certificate]) -> list[Certificate]:
    from sigverify.formats.notation.chain import _issued_by

    chain = [leaf]
    candidates = [*pool, *roots]
    while len(chain) <= 8:
        cur = chain[-1]
        if cur.issuer == cur.subject and _issued_by(cur, cur):
            return chain
        parent = next((c for c in candidates if c != cur and c.subject == cur.issuer and _issued_by(cur, c)), None)
        if parent is None:
            break
        chain.append(parent)
    raise Failure(Code.CERTIFICATE_INVALID, "the TSA certificate chain cannot be built to a self-signed root")


def verify_timestamp(token: bytes, signature: bytes, roots: Sequence[Certificate]) -> Timestamp:
    """Verify that ``token`` timestamps ``signature`` and is signed by a TSA chaining to ``roots``."""
    from cryptography import x509
    from rfc3161_client import VerificationError, VerifierBuilder, decode_timestamp_response

    from sigverify.formats.notation.chain import validate_chain

    try:
        response = decode_timestamp_response(_as_response(token))
        info = response.tst_info
    except Exception as e:  # asn1crypto and the Rust parser raise assorted types
        raise Failure(Code.INVALID_SIGNATURE, f"failed to parse the timestamp countersignature: {e}") from None
    if info.version != 1:
        raise Failure(Code.INVALID_SIGNATURE, f"timestamp TSTInfo version must be 1, found {info.version}")
    if not roots:
        raise Failure(Code.CERTIFICATE_INVALID, "no TSA trust store is configured to verify the timestamp")
    try:
        verifier = VerifierBuilder(roots=list(roots)).build()
        verifier.verify_message(response, signature)
    except (VerificationError, ValueError) as e:
        raise Failure(
            Code.CERTIFICATE_INVALID,
            f"the timestamp countersignature does not verify against the TSA trust store: {e}. "
            "Tip: the timestamp must cover this signature and chain to a root in the tsa store.",
        ) from None
    try:
        certs = [x509.load_der_x509_certificate(c) for c in response.signed_data.certificates]
        signer = next(iter(response.signed_data.signer_infos))
        acc = info.accuracy
        policy = info.policy.dotted_string
        gen = info.gen_time
    except Exception as e:  # lazily parsed parts of the token
        raise Failure(Code.INVALID_SIGNATURE, f"malformed timestamp countersignature: {e}") from None
    leaf = next((c for c in certs if c.issuer == signer.issuer and c.serial_number == signer.serial_number), None)
    if leaf is None:
        raise Failure(Code.CERTIFICATE_INVALID, "the timestamp token does not carry its signing certificate")
    tsa_chain = _tsa_chain(leaf, certs, roots)
    if not any(r == c for c in tsa_chain for r in roots):
        raise Failure(Code.CERTIFICATE_INVALID, "the TSA chain does not reach a certificate in the tsa store")
    validate_chain(tsa_chain, timestamping=True)
    seconds = acc.seconds if acc is not None else 0
    millis = (acc.millis if acc is not None else None) or 0
    micros = (acc.micros if acc is not None else None) or 0
    accuracy = _dt.timedelta(seconds=seconds or 0, milliseconds=millis, microseconds=micros)
    if accuracy == _dt.timedelta(0) and policy == _BASELINE_POLICY:
        accuracy = _dt.timedelta(seconds=1)
    if gen.tzinfo is None:
        gen = gen.replace(tzinfo=_dt.UTC)
    return Timestamp(gen, accuracy, tuple(tsa_chain))
