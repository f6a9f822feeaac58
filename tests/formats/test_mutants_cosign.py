"""cosign `.att` / key `.sig` decisions that surviving mutants showed untested (tests/mutation/survivors.md)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sigverify.crypto.dsse import pae
from sigverify.crypto.trustroot import TrustStore
from sigverify.errors import Failure
from sigverify.formats import SIMPLE_SIGNING_MEDIA_TYPE
from sigverify.formats import cosign_att as attestation
from sigverify.formats.cosign_sig.key import VERIFIER as CLASSIC_KEY
from sigverify.models import Candidate, Code, Descriptor, Format
from tests.fixtures.testsigstore import GITHUB_ISSUER, WORKFLOW, TestSigstore, statement, test_sigstore
from tests.sigstore.helpers import context, key_authority, keyless

__all__ = ["test_sigstore"]  # the session fixture, imported so pytest finds it here

DIGEST_HEX = hashlib.sha256(b"the image manifest").hexdigest()
DIGEST = "sha256:" + DIGEST_HEX
INTOTO = "application/vnd.in-toto+json"
DSSE = "application/vnd.dsse.envelope.v1+json"


@pytest.fixture
def trust(test_sigstore: TestSigstore, tmp_path: Path) -> TrustStore:
    return TrustStore(str(test_sigstore.write_trusted_root(tmp_path)))


def _envelope(payload: str, signatures: object) -> bytes:
    return json.dumps({"payloadType": INTOTO, "payload": payload, "signatures": signatures}).encode()


def _candidate(blob: bytes, media_type: str = DSSE, annotations: dict[str, str] | None = None) -> Candidate:
    return Candidate(Format.COSIGN_ATTESTATION, "tag sha256-x.att", DIGEST, "sha256:" + "4" * 64,
                     Descriptor(media_type, "sha256:" + hashlib.sha256(blob).hexdigest(), len(blob),
                                annotations or {}), blob)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


# -- the DSSE envelope: base64 forms and the one signature -------------------------------------------------------


@pytest.mark.parametrize("data", [b"\xfb", b"\xfb\xef", b"\xfb\xef\xbe", b"\xff", b"\xff\xff", b"\xff\xff\xfe",
                                  b"\xfb\xff\xbf\xfb", b"\xfb\xef\xbe\xfb\xef", b"\xfb\xef\xbe\xfb\xef\xbe\xff",
                                  b"\xfb\xef\xbe\xff\xff\xff\xfe\xef\xbe\xff\xff"])
def test_envelope_base64_standard_or_url_safe_padding_optional(data: bytes) -> None:
    forms = {base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode()}
    forms |= {f.rstrip("=") for f in forms}
    for form in forms:
        assert attestation.parse_envelope(_envelope(form, [{"sig": form}])) == (INTOTO, data, data), form


@pytest.mark.parametrize("text", ["ab!c", "ab c?", "YWJj*", "A-!", "--8!", "-_8A*"])
def test_envelope_standard_base64_with_a_foreign_character_is_refused(text: str) -> None:
    with pytest.raises(Failure) as e:
        attestation.parse_envelope(_envelope(text, [{"sig": "c2ln"}]))
    assert e.value.code == Code.INVALID_PAYLOAD and "DSSE payload is not valid base64" in str(e.value)


@pytest.mark.parametrize("signatures", [[{"sig": "c2ln"}, {"sig": "c2ln"}], None, "x", {"sig": "c2ln"}])
def test_envelope_needs_exactly_one_signature_object(signatures: object) -> None:
    with pytest.raises(Failure) as e:
        attestation.parse_envelope(_envelope("e30", signatures))
    assert e.value.code == Code.INVALID_PAYLOAD and "exactly one signature" in str(e.value)


# -- the `.att` verifier ---------------------------------------------------------------------------------------


def test_a_failed_att_check_is_still_an_attestation(trust: TrustStore) -> None:
    check = attestation.VERIFIER.verify(_candidate(b"{}", media_type="application/json"),
                                        key_authority("k", b"unused"), context(DIGEST, trust))
    assert not check.ok and check.reason is not None and check.reason.code == Code.UNSUPPORTED_FORMAT
    assert check.facts.kind == "attestation"


def test_att_key_that_cannot_be_loaded_is_a_key_error(trust: TrustStore) -> None:
    blob = _envelope("e30", [{"sig": "c2ln"}])
    check = attestation.VERIFIER.verify(_candidate(blob), key_authority("k", b"not a PEM key"),
                                        context(DIGEST, trust))
    assert not check.ok and check.reason is not None and check.reason.code == Code.KEY_ERROR, check.reason


def test_att_key_hashedrekord_entry_binds_the_key_before_the_payload(test_sigstore: TestSigstore,
                                                                     trust: TrustStore) -> None:
    # the entry names this signature and this key but another artifact hash: the failure is the payload's,
    # so the key comparison (against the authority's key) passed
    key = ec.generate_private_key(ec.SECP256R1())
    payload = json.dumps(statement(DIGEST_HEX, "https://slsa.dev/provenance/v1", predicate={})).encode()
    sig = key.sign(pae(INTOTO, payload), ec.ECDSA(hashes.SHA256()))
    blob = _envelope(base64.b64encode(payload).decode(), [{"sig": base64.b64encode(sig).decode()}])
    body = test_sigstore.hashedrekord_body(sig, _key_pem(key), hashlib.sha256(b"another artifact").hexdigest())
    entry = test_sigstore.log(body, kind="hashedrekord", version="0.0.1")
    ann = {"dev.sigstore.cosign/bundle": entry.cosign_annotation(test_sigstore.rekor_log_id)}
    check = attestation.VERIFIER.verify(_candidate(blob, annotations=ann), key_authority("k", _key_pem(key)),
                                        context(DIGEST, trust))
    assert not check.ok and check.reason is not None and check.reason.code == Code.TLOG_INVALID
    assert "another payload" in check.reason.message, check.reason.message


# -- the key `.sig` verifier -------------------------------------------------------------------------------------


def test_classic_key_verifier_refuses_an_authority_without_a_key(trust: TrustStore) -> None:
    blob = b'{"critical": {}}'
    cand = Candidate(Format.COSIGN_CLASSIC, "tag sha256-x.sig", DIGEST, "sha256:" + "4" * 64,
                     Descriptor(SIMPLE_SIGNING_MEDIA_TYPE, "sha256:" + hashlib.sha256(blob).hexdigest(), len(blob),
                                {"dev.cosignproject.cosign/signature": "c2ln"}), blob)
    check = CLASSIC_KEY.verify(cand, keyless("k", WORKFLOW, GITHUB_ISSUER), context(DIGEST, trust))
    assert not check.ok and check.reason is not None and check.reason.code == Code.KEY_ERROR, check.reason
