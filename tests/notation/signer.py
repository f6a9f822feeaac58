"""A small Notary Project signer for tests: certificates and JWS / COSE envelopes with chosen defects."""

from __future__ import annotations

import base64
import datetime as _dt
import json
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sigverify.models import Descriptor

NOW = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
PAYLOAD_TYPE = "application/vnd.cncf.notary.payload.v1+json"
_COSE_ALGS = {"PS256": -37, "PS384": -38, "PS512": -39, "ES256": -7, "ES384": -35, "ES512": -36}
_HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}

Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def name(cn: str, **extra: str) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, extra.get("C", "US")),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, extra.get("ST", "WA")),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, extra.get("O", "Acme")),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ]
    return x509.Name(attrs)


_POOL: dict[int, list[rsa.RSAPrivateKey]] = {}
_NEXT: dict[int, int] = {}


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    """An RSA key from a small per-process pool (key generation dominates test time; certificates differ)."""
    pool = _POOL.setdefault(bits, [])
    i = _NEXT.get(bits, 0)
    _NEXT[bits] = i + 1
    if len(pool) < 4:
        pool.append(rsa.generate_private_key(public_exponent=65537, key_size=bits))
        return pool[-1]
    return pool[i % len(pool)]


def ec_key(curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve or ec.SECP256R1())


def _ku(*, sign: bool, cert_sign: bool, key_enc: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=key_enc,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass
class CertSpec:
    subject: x509.Name
    key: Key
    ca: bool = False
    path_len: int | None = None
    not_before: _dt.datetime = NOW - _dt.timedelta(days=1)
    not_after: _dt.datetime = NOW + _dt.timedelta(days=365)
    eku: list[x509.ObjectIdentifier] | None = field(default_factory=lambda: [ExtendedKeyUsageOID.CODE_SIGNING])
    key_usage: x509.KeyUsage | None = None
    crl_url: str | None = None


def make_cert(spec: CertSpec, issuer: tuple[x509.Name, Key] | None = None) -> x509.Certificate:
    issuer_name, issuer_key = issuer if issuer else (spec.subject, spec.key)
    b = (
        x509.CertificateBuilder()
        .subject_name(spec.subject)
        .issuer_name(issuer_name)
        .public_key(spec.key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(spec.not_before)
        .not_valid_after(spec.not_after)
    )
    if spec.ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=spec.path_len), critical=True)
        b = b.add_extension(spec.key_usage or _ku(sign=False, cert_sign=True), critical=True)
    else:
        b = b.add_extension(spec.key_usage or _ku(sign=True, cert_sign=False), critical=True)
        if spec.eku:
            b = b.add_extension(x509.ExtendedKeyUsage(spec.eku), critical=False)
    if spec.crl_url:
        dp = x509.DistributionPoint([x509.UniformResourceIdentifier(spec.crl_url)], None, None, None)
        b = b.add_extension(x509.CRLDistributionPoints([dp]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


@dataclass
class Signer:
    """A key with its chain (leaf first, root last)."""

    key: Key
    chain: list[x509.Certificate]

    @property
    def root(self) -> x509.Certificate:
        return self.chain[-1]


def self_signed(cn: str = "release", key: Key | None = None, **spec: Any) -> Signer:
    k = key or rsa_key()
    return Signer(k, [make_cert(CertSpec(name(cn), k, **spec))])


def ca_chain(
    cn: str = "release",
    key: Key | None = None,
    *,
    leaf: dict[str, Any] | None = None,
    root: dict[str, Any] | None = None,
) -> Signer:
    root_key = rsa_key()
    root_spec = CertSpec(name("Test Root"), root_key, ca=True, path_len=1, **(root or {}))
    root_cert = make_cert(root_spec)
    k = key or rsa_key()
    leaf_cert = make_cert(CertSpec(name(cn), k, **(leaf or {})), (root_spec.subject, root_key))
    return Signer(k, [leaf_cert, root_cert])


def alg_for(key: Key) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return {2048: "PS256", 3072: "PS384", 4096: "PS512"}[key.key_size]
    return {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}[key.curve.name]


def raw_sign(key: Key, alg: str, data: bytes) -> bytes:
    h = _HASHES[alg[2:]]()
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)
    r, s = utils.decode_dss_signature(key.sign(data, ec.ECDSA(h)))
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def payload(subject: Descriptor, annotations: dict[str, str] | None = None, **override: Any) -> bytes:
    target: dict[str, Any] = {"mediaType": subject.media_type, "digest": subject.digest, "size": subject.size}
    if annotations:
        target["annotations"] = annotations
    target.update(override)
    return json.dumps({"targetArtifact": target}).encode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_jws(
    signer: Signer,
    body: bytes,
    *,
    alg: str | None = None,
    signing_time: _dt.datetime = NOW,
    expiry: _dt.datetime | None = None,
    authority: bool = False,
    extra: dict[str, Any] | None = None,
    crit: list[str] | None = None,
    tamper: bool = False,
) -> bytes:
    alg = alg or alg_for(signer.key)
    prot: dict[str, Any] = {"alg": alg, "cty": PAYLOAD_TYPE}
    prot["io.cncf.notary.signingScheme"] = "notary.x509.signingAuthority" if authority else "notary.x509"
    time_key = "io.cncf.notary.authenticSigningTime" if authority else "io.cncf.notary.signingTime"
    prot[time_key] = signing_time.isoformat().replace("+00:00", "Z")
    c = ["io.cncf.notary.signingScheme"] + (["io.cncf.notary.authenticSigningTime"] if authority else [])
    if expiry is not None:
        prot["io.cncf.notary.expiry"] = expiry.isoformat().replace("+00:00", "Z")
        c.append("io.cncf.notary.expiry")
    prot.update(extra or {})
    prot["crit"] = crit if crit is not None else c
    p64 = _b64url(json.dumps(prot).encode())
    b64 = _b64url(body)
    sig = raw_sign(signer.key, alg, f"{p64}.{b64}".encode())
    if tamper:
        b64 = _b64url(body.replace(b"sha256:", b"sha256:0", 1)[: len(body)])
    env = {
        "payload": b64,
        "protected": p64,
        "header": {"x5c": [base64.b64encode(der(c)).decode() for c in signer.chain]},
        "signature": _b64url(sig),
    }
    return json.dumps(env).encode()


def sign_cose(
    signer: Signer,
    body: bytes,
    *,
    alg: str | None = None,
    signing_time: _dt.datetime = NOW,
    expiry: _dt.datetime | None = None,
    extra: dict[str, Any] | None = None,
    crit: list[Any] | None = None,
    tagged: bool = True,
    tamper: bool = False,
) -> bytes:
    alg = alg or alg_for(signer.key)
    prot: dict[Any, Any] = {
        1: _COSE_ALGS[alg],
        3: PAYLOAD_TYPE,
        "io.cncf.notary.signingScheme": "notary.x509",
        "io.cncf.notary.signingTime": cbor2.CBORTag(1, int(signing_time.timestamp())),
    }
    default_crit = ["io.cncf.notary.signingScheme"]
    if expiry is not None:
        prot["io.cncf.notary.expiry"] = cbor2.CBORTag(1, int(expiry.timestamp()))
        default_crit.append("io.cncf.notary.expiry")
    prot.update(extra or {})
    prot[2] = crit if crit is not None else default_crit
    prot_raw = cbor2.dumps(prot)
    to_sign = cbor2.dumps(["Signature1", prot_raw, b"", body])
    sig = raw_sign(signer.key, alg, to_sign)
    if tamper:
        body = body.replace(b"sha256:", b"sha256:0", 1)
    msg = [prot_raw, {33: [der(c) for c in signer.chain]}, body, sig]
    return cbor2.dumps(cbor2.CBORTag(18, msg) if tagged else msg)


def leaf_naming_root(cn: str = "release") -> Signer:
    """A chain leaf -> root in which the leaf only *names* the root as its issuer: it is signed by another key
    (same subject and issuer names, same extensions), so only the signature link between the two tells."""
    good = ca_chain(cn)
    root = good.root
    forger = ec_key(ec.SECP384R1())
    k = rsa_key()
    leaf = make_cert(CertSpec(name(cn), k), (root.subject, forger))
    return Signer(k, [leaf, root])
