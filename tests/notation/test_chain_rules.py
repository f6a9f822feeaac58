"""Certificate rules of the Notary Project chain, one per test (mutants that survived the mutation run)."""

from __future__ import annotations

import datetime as _dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from sigverify.errors import Failure
from sigverify.formats.notation.chain import validate_chain
from sigverify.models import Code
from tests.notation import signer as sg

NOW = _dt.datetime.now(_dt.UTC)


def _cert(cn: str, key: sg.Key, issuer: tuple[x509.Name, sg.Key] | None, *, ca: bool, path_len: int | None = None,
          bc_critical: bool = True, ku_critical: bool = True, leaf_bc_ca: bool | None = None) -> x509.Certificate:
    subject = sg.name(cn)
    issuer_name, issuer_key = issuer or (subject, key)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(NOW - _dt.timedelta(days=1))
         .not_valid_after(NOW + _dt.timedelta(days=30)))
    if ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=bc_critical)
        b = b.add_extension(sg._ku(sign=False, cert_sign=True), critical=ku_critical)
    else:
        if leaf_bc_ca is not None:
            b = b.add_extension(x509.BasicConstraints(ca=leaf_bc_ca, path_length=None), critical=True)
        b = b.add_extension(sg._ku(sign=True, cert_sign=False), critical=ku_critical)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _chain(*, root_path_len: int | None = 1, mid_path_len: int | None = 0, root_bc_critical: bool = True,
           root_ku_critical: bool = True, leaf_ku_critical: bool = True,
           leaf_bc_ca: bool | None = None) -> list[x509.Certificate]:
    rk, mk, lk = sg.ec_key(), sg.ec_key(), sg.ec_key()
    root = _cert("Root", rk, None, ca=True, path_len=root_path_len, bc_critical=root_bc_critical,
                 ku_critical=root_ku_critical)
    mid = _cert("Mid", mk, (root.subject, rk), ca=True, path_len=mid_path_len)
    leaf = _cert("release", lk, (mid.subject, mk), ca=False, ku_critical=leaf_ku_critical, leaf_bc_ca=leaf_bc_ca)
    return [leaf, mid, root]


def _fails(chain: list[x509.Certificate], text: str) -> None:
    with pytest.raises(Failure) as err:
        validate_chain(chain)
    assert err.value.code == Code.CERTIFICATE_INVALID
    assert text in err.value.message, err.value.message


def test_a_path_length_equal_to_the_certificates_below_is_enough() -> None:
    validate_chain(_chain(root_path_len=1, mid_path_len=0))  # root: 1 CA below it; mid: none


def test_a_ca_basic_constraints_must_be_critical() -> None:
    _fails(_chain(root_bc_critical=False), "basicConstraints must be present, critical, and CA=true")


def test_a_ca_key_usage_must_be_critical() -> None:
    _fails(_chain(root_ku_critical=False), "key usage extension must be marked critical")


def test_the_leaf_key_usage_must_be_critical() -> None:
    _fails(_chain(leaf_ku_critical=False), "key usage extension must be marked critical")


def test_the_leaf_must_not_be_a_ca() -> None:
    _fails(_chain(leaf_bc_ca=True), "a signing certificate must not be a CA")
    validate_chain(_chain(leaf_bc_ca=False))
