"""What a Notary Project signature counts as toward a threshold: the leaf certificate's public key (JWS and COSE
alike), nothing for a failed check, and only its own authority (always with a warning) at level skip."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.notation import signer as sg
from tests.notation.test_negative import COSE, JWS, SUBJECT, check


def _leaf_id(s: sg.Signer) -> str:
    spki = s.chain[0].public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return "x509-spki:" + hashlib.sha256(spki).hexdigest()


@pytest.fixture(scope="module")
def rsa_ca() -> sg.Signer:
    return sg.ca_chain()


def test_jws_and_cose_by_one_leaf_are_one_signer(tmp_path: Path, rsa_ca: sg.Signer) -> None:
    jws = check(tmp_path, sg.sign_jws(rsa_ca, sg.payload(SUBJECT)), JWS, rsa_ca)
    cose = check(tmp_path, sg.sign_cose(rsa_ca, sg.payload(SUBJECT)), COSE, rsa_ca)
    assert jws.ok and cose.ok
    assert jws.signer_id == cose.signer_id == _leaf_id(rsa_ca)
    other = sg.ca_chain()
    assert check(tmp_path, sg.sign_jws(other, sg.payload(SUBJECT)), JWS, other).signer_id == _leaf_id(other)
    assert _leaf_id(other) != _leaf_id(rsa_ca)


def test_a_failed_check_names_no_signer(tmp_path: Path, rsa_ca: sg.Signer) -> None:
    stranger = sg.ca_chain()
    result = check(tmp_path, sg.sign_jws(stranger, sg.payload(SUBJECT)), JWS, rsa_ca)
    assert not result.ok and result.signer_id is None


def test_level_skip_counts_as_its_authority_only_with_a_warning(tmp_path: Path, rsa_ca: sg.Signer) -> None:
    result = check(tmp_path, sg.sign_jws(rsa_ca, sg.payload(SUBJECT)), JWS, rsa_ca, level="skip")
    assert result.ok and result.details["skipped"] is True
    assert result.signer_id is not None and result.signer_id.startswith("notation-skip:")
    assert result.facts.warnings  # never a clean pass
