"""Notary Project chain rules pinned for mutants that survived the mutation run (tests/mutation/), one per test."""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from sigverify.errors import Failure
from sigverify.formats.notation.chain import load_store, revocation_endpoints, validate_chain, validity_problem
from sigverify.models import Code
from tests.notation import signer as sg

NOW = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
CA = x509.BasicConstraints(ca=True, path_length=None)


def _fails(chain: list[x509.Certificate], text: str, *, timestamping: bool = False) -> None:
    with pytest.raises(Failure) as err:
        validate_chain(chain, timestamping=timestamping)
    assert err.value.code == Code.CERTIFICATE_INVALID
    assert text in err.value.message, err.value.message


def _builder(subject: x509.Name, issuer: x509.Name, key: sg.Key) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - _dt.timedelta(days=1))
            .not_valid_after(NOW + _dt.timedelta(days=30)))


def _leaf(subject: x509.Name, key: sg.Key, issuer: x509.Name, issuer_key: sg.Key) -> x509.Certificate:
    return (_builder(subject, issuer, key).add_extension(sg._ku(sign=True, cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
            .sign(issuer_key, hashes.SHA256()))


def _root(subject: x509.Name, key: sg.Key, signing_key: sg.Key | None = None,
          bc: x509.BasicConstraints | None = CA) -> x509.Certificate:
    b = _builder(subject, subject, key).add_extension(sg._ku(sign=False, cert_sign=True), critical=True)
    if bc is not None:
        b = b.add_extension(bc, critical=True)
    return b.sign(signing_key or key, hashes.SHA256())


# -- CA basicConstraints ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bc", [None, x509.BasicConstraints(ca=False, path_length=None)], ids=["absent", "ca-false"])
def test_a_ca_needs_basic_constraints_with_ca_true(bc: x509.BasicConstraints | None) -> None:
    rk, lk = sg.ec_key(), sg.ec_key()
    root = _root(sg.name("Root"), rk, bc=bc)
    _fails([_leaf(sg.name("release"), lk, root.subject, rk), root], "basicConstraints must be present, critical")


# -- self-signed roots and leaves --------------------------------------------------------------------------------


def test_a_lone_certificate_must_really_be_self_signed_not_only_self_named() -> None:
    k, other = sg.ec_key(), sg.ec_key()
    lone = _leaf(sg.name("release"), k, sg.name("release"), other)  # issuer name = subject, signed by another key
    _fails([lone], "is alone in the chain but is not self-signed")
    validate_chain([_leaf(sg.name("release"), k, sg.name("release"), k)])  # the truly self-signed one passes


def test_the_last_certificate_must_really_be_self_signed_not_only_self_named() -> None:
    rk, other, lk = sg.ec_key(), sg.ec_key(), sg.ec_key()
    root = _root(sg.name("Root"), rk, signing_key=other)  # names itself as issuer, signed by another key
    _fails([_leaf(sg.name("release"), lk, root.subject, rk), root], "the chain must end with a self-signed root")


def test_a_self_signed_leaf_is_refused_even_when_the_root_also_signs_it() -> None:
    k = sg.ec_key()  # the leaf shares the root's name and key: it is self-signed *and* issued by the root
    root = _root(sg.name("Root"), k)
    _fails([_leaf(sg.name("Root"), k, sg.name("Root"), k), root], "the leaf certificate 'CN=Root")


def test_a_leaf_that_only_names_itself_as_issuer_is_not_self_signed() -> None:
    k, lk = sg.ec_key(), sg.ec_key()  # leaf and root share the name; the root's key signs the leaf
    root = _root(sg.name("Same"), k)
    validate_chain([_leaf(sg.name("Same"), lk, sg.name("Same"), k), root])


# -- timestamping chains use the TSA leaf rules -----------------------------------------------------------------------


def _tsa_chain() -> list[x509.Certificate]:
    rk, lk = sg.ec_key(), sg.ec_key()
    root = _root(sg.name("TSA Root"), rk)
    leaf = (_builder(sg.name("TSA"), root.subject, lk).add_extension(sg._ku(sign=True, cert_sign=False), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .sign(rk, hashes.SHA256()))
    return [leaf, root]


def test_timestamping_chains_are_checked_with_the_tsa_leaf_rules() -> None:
    validate_chain(_tsa_chain(), timestamping=True)
    rk, lk = sg.ec_key(), sg.ec_key()
    root = _root(sg.name("Root"), rk)
    _fails([_leaf(sg.name("release"), lk, root.subject, rk), root], "extended key usage must be exactly timeStamping",
           timestamping=True)


# -- validity bounds are inclusive -----------------------------------------------------------------------------------


def test_validity_bounds_are_inclusive() -> None:
    k = sg.ec_key()
    cert = _leaf(sg.name("release"), k, sg.name("release"), k)
    assert validity_problem(cert, cert.not_valid_before_utc) is None
    assert validity_problem(cert, cert.not_valid_after_utc) is None
    assert validity_problem(cert, cert.not_valid_before_utc - _dt.timedelta(seconds=1)) is not None
    assert validity_problem(cert, cert.not_valid_after_utc + _dt.timedelta(seconds=1)) is not None


# -- revocation endpoints --------------------------------------------------------------------------------------------


def test_revocation_endpoints_lists_crls_and_ocsp_only() -> None:
    k = sg.ec_key()
    full = x509.DistributionPoint([x509.UniformResourceIdentifier("http://crl.example/a.crl")], None, None, None)
    relative = x509.DistributionPoint(None, x509.RelativeDistinguishedName(
        [x509.NameAttribute(x509.NameOID.COMMON_NAME, "crl")]), None, None)
    aia = x509.AuthorityInformationAccess([
        x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier("http://ca/")),
        x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier("http://ocsp/")),
    ])
    cert = (_builder(sg.name("release"), sg.name("release"), k)
            .add_extension(x509.CRLDistributionPoints([relative, full]), critical=False)
            .add_extension(aia, critical=False).sign(k, hashes.SHA256()))
    assert revocation_endpoints(cert) == ["CRL (relative name)", "CRL http://crl.example/a.crl", "OCSP http://ocsp/"]


# -- trust stores are re-read when a directory changes ---------------------------------------------------------------


def test_a_trust_store_directory_is_reread_after_a_certificate_is_added(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    (store / "a.pem").write_bytes(sg.pem(sg.ca_chain().root))
    assert len(load_store("ca", store).certs) == 1
    added = store / "b.pem"
    added.write_bytes(sg.pem(sg.ca_chain().root))
    later = store.stat().st_mtime_ns + 5_000_000_000
    os.utime(store, ns=(later, later))  # a later mtime whatever the file system's clock resolution
    assert len(load_store("ca", store).certs) == 2
