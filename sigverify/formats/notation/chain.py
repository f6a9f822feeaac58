"""X.509 for Notary Project: certificate requirements, chain order, key/algorithm match, trust stores."""

from __future__ import annotations

import datetime as _dt
import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from sigverify.errors import ConfigError, Failure
from sigverify.models import Code

# alg <-> key: RSA 2048/3072/4096 -> PS256/384/512, EC P-256/384/521 -> ES256/384/512 (signature-specification.md).
_RSA_ALG = {2048: "PS256", 3072: "PS384", 4096: "PS512"}
_EC_ALG = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}

_FORBIDDEN_CODE_SIGNING_EKUS = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
}


def subject(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


def parse_chain(chain_der: Sequence[bytes]) -> list[x509.Certificate]:
    """DER certificates leaf first; a certificate that does not parse fails integrity."""
    if not chain_der:
        raise Failure(Code.INVALID_SIGNATURE, "the envelope carries no certificate chain (x5c / x5chain)")
    certs = []
    for i, der in enumerate(chain_der):
        try:
            certs.append(_load_eagerly(der))
        except ValueError as e:
            msg = f"certificate #{i + 1} of the envelope chain is malformed: {e}"
            raise Failure(Code.INVALID_SIGNATURE, msg) from None
    return certs


def _load_eagerly(der: bytes) -> x509.Certificate:
    """Parse a certificate and every field we read (cryptography parses some lazily), or raise ValueError."""
    cert = x509.load_der_x509_certificate(der)
    try:
        cert.subject.rfc4514_string()
        cert.issuer.rfc4514_string()
        _ = cert.not_valid_before_utc, cert.not_valid_after_utc, cert.serial_number
        list(cert.extensions)
        cert.public_key()
    except Exception as e:  # cryptography raises ValueError and friends for malformed fields
        raise ValueError(str(e)) from None
    return cert


def expected_alg(cert: x509.Certificate) -> str:
    """The only algorithm the specification allows for this certificate's key."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        alg = _RSA_ALG.get(key.key_size)
        if alg is None:
            raise Failure(
                Code.CERTIFICATE_INVALID,
                f"certificate {subject(cert)!r}: RSA key size {key.key_size} bits is not allowed",
                expected="RSA 2048, 3072 or 4096",
                found=f"RSA {key.key_size}",
            )
        return alg
    if isinstance(key, ec.EllipticCurvePublicKey):
        alg = _EC_ALG.get(key.curve.name)
        if alg is None:
            raise Failure(
                Code.CERTIFICATE_INVALID,
                f"certificate {subject(cert)!r}: EC curve {key.curve.name} is not allowed",
                expected="P-256, P-384 or P-521",
                found=key.curve.name,
            )
        return alg
    raise Failure(
        Code.CERTIFICATE_INVALID,
        f"certificate {subject(cert)!r}: key type {type(key).__name__} is not allowed",
        expected="RSA or ECDSA key",
        found=type(key).__name__,
    )


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError):
        return False
    except Exception:  # InvalidSignature and friends
        return False
    return True


def _ext(cert: x509.Certificate, cls: type[x509.ExtensionType]) -> x509.Extension[x509.ExtensionType] | None:
    try:
        return cert.extensions.get_extension_for_class(cls)
    except x509.ExtensionNotFound:
        return None


def _check_key_usage_present(cert: x509.Certificate, *, critical: bool) -> x509.KeyUsage:
    ext = _ext(cert, x509.KeyUsage)
    if ext is None:
        raise Failure(Code.CERTIFICATE_INVALID, f"certificate {subject(cert)!r}: key usage extension is missing")
    if critical and not ext.critical:
        raise Failure(
            Code.CERTIFICATE_INVALID, f"certificate {subject(cert)!r}: key usage extension must be marked critical"
        )
    assert isinstance(ext.value, x509.KeyUsage)
    return ext.value


def _check_leaf_key_usage(cert: x509.Certificate, ku: x509.KeyUsage) -> None:
    if not ku.digital_signature:
        raise Failure(
            Code.CERTIFICATE_INVALID,
            f"certificate {subject(cert)!r}: key usage must include digitalSignature",
        )
    bad = [
        name
        for name, on in (
            ("keyEncipherment", ku.key_encipherment),
            ("dataEncipherment", ku.data_encipherment),
            ("keyAgreement", ku.key_agreement),
            ("keyCertSign", ku.key_cert_sign),
            ("cRLSign", ku.crl_sign),
            ("encipherOnly", ku.key_agreement and ku.encipher_only),
            ("decipherOnly", ku.key_agreement and ku.decipher_only),
        )
        if on
    ]
    if bad:
        raise Failure(
            Code.CERTIFICATE_INVALID,
            f"certificate {subject(cert)!r}: a signing certificate's key usage must be digitalSignature only",
            expected="digitalSignature",
            found="digitalSignature, " + ", ".join(bad),
        )


def _check_leaf_basic_constraints(cert: x509.Certificate) -> None:
    bc = _ext(cert, x509.BasicConstraints)
    if bc is not None and isinstance(bc.value, x509.BasicConstraints) and bc.value.ca:
        raise Failure(
            Code.CERTIFICATE_INVALID, f"certificate {subject(cert)!r}: a signing certificate must not be a CA"
        )


def _check_ca(cert: x509.Certificate, expected_path_len: int) -> None:
    bc = _ext(cert, x509.BasicConstraints)
    if bc is None or not isinstance(bc.value, x509.BasicConstraints) or not bc.value.ca or not bc.critical:
        raise Failure(
            Code.CERTIFICATE_INVALID,
            f"CA certificate {subject(cert)!r}: basicConstraints must be present, critical, and CA=true",
        )
    if bc.value.path_length is not None and bc.value.path_length < expected_path_len:
        raise Failure(
            Code.CERTIFICATE_INVALID,
            f"CA certificate {subject(cert)!r}: path length constraint is exceeded",
            expected=f"pathLen >= {expected_path_len}",
            found=f"pathLen {bc.value.path_length}",
        )
    ku = _check_key_usage_present(cert, critical=True)
    if not ku.key_cert_sign:
        raise Failure(
            Code.CERTIFICATE_INVALID, f"CA certificate {subject(cert)!r}: key usage must include keyCertSign"
        )


def _check_code_signing_leaf(cert: x509.Certificate) -> None:
    _check_leaf_basic_constraints(cert)
    _check_leaf_key_usage(cert, _check_key_usage_present(cert, critical=True))
    eku = _ext(cert, x509.ExtendedKeyUsage)
    if eku is not None and isinstance(eku.value, x509.ExtendedKeyUsage):
        bad = [name for oid, name in _FORBIDDEN_CODE_SIGNING_EKUS.items() if oid in eku.value]
        if bad:
            raise Failure(
                Code.CERTIFICATE_INVALID,
                f"certificate {subject(cert)!r}: extended key usage {', '.join(bad)} is not allowed for code signing",
                expected="no EKU, or codeSigning",
                found=", ".join(bad),
            )
    expected_alg(cert)


def _check_timestamping_leaf(cert: x509.Certificate) -> None:
    _check_leaf_basic_constraints(cert)
    _check_leaf_key_usage(cert, _check_key_usage_present(cert, critical=False))
    eku = _ext(cert, x509.ExtendedKeyUsage)
    if (
        eku is None
        or not isinstance(eku.value, x509.ExtendedKeyUsage)
        or list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]
        or not eku.critical
    ):
        raise Failure(
            Code.CERTIFICATE_INVALID,
            f"TSA certificate {subject(cert)!r}: extended key usage must be exactly timeStamping, marked critical",
        )
    expected_alg(cert)


def validate_chain(chain: Sequence[x509.Certificate], *, timestamping: bool = False) -> None:
    """Notation's ValidateCodeSigningCertChain / ValidateTimestampingCertChain: leaf -> root, complete."""
    leaf_check = _check_timestamping_leaf if timestamping else _check_code_signing_leaf
    if len(chain) == 1:
        cert = chain[0]
        if cert.issuer != cert.subject or not _issued_by(cert, cert):
            raise Failure(
                Code.CERTIFICATE_INVALID,
                f"certificate {subject(cert)!r} is alone in the chain but is not self-signed. "
                "Tip: the envelope must carry the complete chain leaf -> root.",
            )
        leaf_check(cert)
        return
    for i, cert in enumerate(chain):
        if i == len(chain) - 1:
            if cert.issuer != cert.subject or not _issued_by(cert, cert):
                raise Failure(
                    Code.CERTIFICATE_INVALID,
                    f"the chain must end with a self-signed root; {subject(cert)!r} is not self-signed. "
                    "Tip: the envelope must carry the complete chain leaf -> root.",
                )
        else:
            if cert.issuer == cert.subject and _issued_by(cert, cert):
                what = "leaf" if i == 0 else "intermediate"
                raise Failure(
                    Code.CERTIFICATE_INVALID, f"the {what} certificate {subject(cert)!r} must not be self-signed"
                )
            if not _issued_by(cert, chain[i + 1]):
                raise Failure(
                    Code.CERTIFICATE_INVALID,
                    f"certificate {subject(cert)!r} is not issued by the next certificate in the chain",
                    expected=f"issuer {cert.issuer.rfc4514_string()!r} with a valid signature",
                    found=subject(chain[i + 1]),
                )
        if i == 0:
            leaf_check(cert)
        else:
            _check_ca(cert, i - 1)


def validity_problem(cert: x509.Certificate, at: _dt.datetime) -> str | None:
    """Why ``cert`` is not valid at ``at`` (inclusive bounds), or None."""
    if at < cert.not_valid_before_utc:
        return f"certificate {subject(cert)!r} is not valid before {cert.not_valid_before_utc.isoformat()}"
    if at > cert.not_valid_after_utc:
        return f"certificate {subject(cert)!r} expired at {cert.not_valid_after_utc.isoformat()}"
    return None


def revocation_endpoints(cert: x509.Certificate) -> list[str]:
    """CRL distribution points and OCSP responders the certificate names (checking them needs the network)."""
    found: list[str] = []
    crl = _ext(cert, x509.CRLDistributionPoints)
    if crl is not None and isinstance(crl.value, x509.CRLDistributionPoints):
        for dp in crl.value:
            for name in dp.full_name or []:
                found.append(f"CRL {name.value}")
            if not dp.full_name:
                found.append("CRL (relative name)")
    aia = _ext(cert, x509.AuthorityInformationAccess)
    if aia is not None and isinstance(aia.value, x509.AuthorityInformationAccess):
        for desc in aia.value:
            if desc.access_method == AuthorityInformationAccessOID.OCSP:
                found.append(f"OCSP {desc.access_location.value}")
    return found


# ---------------------------------------------------------------------------------------------------------------
# Trust stores
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrustStore:
    """Certificates of one trust store; ``kind`` is ca, signingAuthority or tsa; ``label`` names it for humans."""

    kind: str
    label: str
    certs: tuple[x509.Certificate, ...]

    def contains(self, cert: x509.Certificate) -> bool:
        return any(t == cert for t in self.certs)


def _read_certs(path: Path) -> list[x509.Certificate]:
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return list(x509.load_pem_x509_certificates(data))
    return [x509.load_der_x509_certificate(data)]


def _store_problem(kind: str, path: Path, message: str) -> ConfigError:
    return ConfigError(
        f"notation {kind} trust store {path}: {message}",
        tip="A trust store is a PEM/DER certificate file or a directory of them (no sub-directories).",
    )


@functools.lru_cache(maxsize=64)
def _load_store_cached(kind: str, path_str: str, mtime_ns: int) -> TrustStore:
    path = Path(path_str)
    files = [path] if path.is_file() else sorted(p for p in path.iterdir())
    certs: list[x509.Certificate] = []
    for f in files:
        if f.is_dir():
            raise _store_problem(kind, path, f"{f.name} is a directory; trust stores hold certificate files only")
        try:
            found = _read_certs(f)
        except (ValueError, OSError) as e:
            raise _store_problem(kind, path, f"{f.name} holds no readable PEM or DER certificate ({e})") from e
        if not found:
            raise _store_problem(kind, path, f"{f.name} holds no certificate")
        for cert in found:
            bc = _ext(cert, x509.BasicConstraints)
            is_ca = bc is not None and isinstance(bc.value, x509.BasicConstraints) and bc.value.ca
            self_signed = cert.issuer == cert.subject and _issued_by(cert, cert)
            if kind == "tsa" and not (is_ca and self_signed):
                raise _store_problem(kind, path, f"{f.name}: {subject(cert)!r} is not a self-signed root CA")
            if not is_ca and not self_signed:
                raise _store_problem(
                    kind, path, f"{f.name}: {subject(cert)!r} is neither a CA nor a self-signed signing certificate"
                )
        certs.extend(found)
    if not certs:
        raise _store_problem(kind, path, "no certificates found")
    return TrustStore(kind, str(path), tuple(certs))


def load_store(kind: str, path: str | os.PathLike[str]) -> TrustStore:
    """Load (and cache per path and mtime) a trust store; a missing or bad store is a configuration error."""
    p = Path(path)
    if not p.exists():
        raise _store_problem(kind, p, "does not exist")
    mtime = p.stat().st_mtime_ns
    if p.is_dir():
        mtime = max([mtime, *(c.stat().st_mtime_ns for c in p.iterdir())])
    return _load_store_cached(kind, str(p), mtime)
