"""One test per verification step, each with the exact reason code, built so that only that step can fail.

Every forged object here is otherwise consistent: a forged signature is also the one the log entry names, a
certificate without an SCT is otherwise a good Fulcio certificate, a log entry naming another signer carries the
right signature and payload. So with the step under test removed the object would be accepted, and the test fails.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sigverify.crypto.trustroot import TrustStore
from sigverify.formats import cosign_att as attestation
from sigverify.formats import sigstore_bundle as bundle
from sigverify.formats.cosign_sig import keyless as cosign_keyless
from sigverify.models import Candidate, Code, Descriptor, Format, ImageRef, Manifest, SignatureCheck
from tests.fixtures.testsigstore import GITHUB_ISSUER, WORKFLOW, Signer, TestSigstore, pae, statement
from tests.sigstore.helpers import bundle_candidate, context, key_authority, keyless

DIGEST_HEX = hashlib.sha256(b"the image manifest").hexdigest()
DIGEST = "sha256:" + DIGEST_HEX
SLSA = "https://slsa.dev/provenance/v1"
INTOTO = "application/vnd.in-toto+json"
V01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"
BUNDLE_ANN = "dev.sigstore.cosign/bundle"
OTHER_WORKFLOW = "https://github.com/mallory/app/.github/workflows/release.yml@refs/tags/v1.2.3"


@pytest.fixture
def trust(test_sigstore: TestSigstore, tmp_path: Path) -> TrustStore:
    return TrustStore(str(test_sigstore.write_trusted_root(tmp_path)))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _cert_pem(signer: Signer) -> bytes:
    return signer.cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _auth() -> Any:
    return keyless("release", WORKFLOW, GITHUB_ISSUER)


def assert_code(check: SignatureCheck, code: str, text: str = "") -> None:
    assert not check.ok, "expected a failure"
    assert check.reason is not None and check.reason.code == code, check.reason
    assert text in check.reason.message, check.reason.message


# -- builders: each lets one part be forged while the rest stays consistent --------------------------------------


def _simple_signing(digest: str) -> bytes:
    return json.dumps({"critical": {"identity": {"docker-reference": "registry.test/repo"},
                                    "image": {"docker-manifest-digest": digest},
                                    "type": "cosign container image signature"},
                       "optional": None}).encode()


def _classic_sig(ts: TestSigstore, signer: Signer, *, logged_pem: bytes | None = None) -> Candidate:
    """A classic keyless `.sig` layer; the hashedrekord entry names ``logged_pem`` (default: the signer)."""
    payload = _simple_signing(DIGEST)
    sig = signer.sign(payload)
    body = ts.hashedrekord_body(sig, logged_pem or _cert_pem(signer), hashlib.sha256(payload).hexdigest())
    entry = ts.log(body, kind="hashedrekord", version="0.0.1")
    ann = {"dev.cosignproject.cosign/signature": _b64(sig),
           "dev.sigstore.cosign/certificate": _cert_pem(signer).decode(),
           BUNDLE_ANN: entry.cosign_annotation(ts.rekor_log_id)}
    return Candidate(Format.COSIGN_CLASSIC, "tag sha256-x.sig", DIGEST, "sha256:" + "3" * 64,
                     Descriptor("application/vnd.dev.cosign.simplesigning.v1+json",
                                "sha256:" + hashlib.sha256(payload).hexdigest(), len(payload), ann), payload)


def _classic_att(ts: TestSigstore, *, signer: Signer | None = None, key: ec.EllipticCurvePrivateKey | None = None,
                 sign_with: ec.EllipticCurvePrivateKey | None = None, logged_pem: bytes | None = None,
                 log_kind: str = "intoto", with_bundle: bool = True) -> Candidate:
    """A classic `.att` layer signed by ``signer`` (keyless) or ``key``; ``sign_with`` forges the signature with
    another key (the log entry then names that forged signature); ``logged_pem`` forges the logged signer."""
    payload = json.dumps(statement(DIGEST_HEX, SLSA, predicate={"v": 1})).encode()
    to_sign = pae(INTOTO, payload)
    ann: dict[str, str] = {"dev.cosignproject.cosign/signature": "", "predicateType": SLSA}
    if key is not None:
        pem = _key_pem(key)
        sig = (sign_with or key).sign(to_sign, ec.ECDSA(hashes_sha256()))
    else:
        assert signer is not None
        pem = _cert_pem(signer)
        sig = sign_with.sign(to_sign, ec.ECDSA(hashes_sha256())) if sign_with else signer.sign(to_sign)
        ann["dev.sigstore.cosign/certificate"] = pem.decode()
    envelope = json.dumps({"payloadType": INTOTO, "payload": _b64(payload),
                           "signatures": [{"keyid": "", "sig": _b64(sig)}]}).encode()
    if with_bundle:
        if log_kind == "intoto":
            body = ts.intoto_body(envelope, INTOTO, payload, sig, logged_pem or pem)
            entry = ts.log(body, kind="intoto", version="0.0.2")
        else:
            body = ts.dsse_body(envelope, payload, sig, logged_pem or pem)
            entry = ts.log(body, kind="dsse", version="0.0.1")
        ann[BUNDLE_ANN] = entry.cosign_annotation(ts.rekor_log_id)
    return Candidate(Format.COSIGN_ATTESTATION, "tag sha256-x.att", DIGEST, "sha256:" + "4" * 64,
                     Descriptor("application/vnd.dsse.envelope.v1+json",
                                "sha256:" + hashlib.sha256(envelope).hexdigest(), len(envelope), ann), envelope)


def hashes_sha256() -> Any:
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


def _dsse_bundle(ts: TestSigstore, *, signer: Signer | None = None, key: ec.EllipticCurvePrivateKey | None = None,
                 sign_with: ec.EllipticCurvePrivateKey | None = None, logged_pem: bytes | None = None,
                 v01: bool = False) -> bytes:
    """A DSSE bundle (v0.3 with inclusion proof, or v0.1 with the promise only) logged as dsse 0.0.1."""
    payload = json.dumps(statement(DIGEST_HEX)).encode()
    to_sign = pae(INTOTO, payload)
    if key is not None:
        pem = _key_pem(key)
        sig = (sign_with or key).sign(to_sign, ec.ECDSA(hashes_sha256()))
    else:
        assert signer is not None
        pem = _cert_pem(signer)
        sig = sign_with.sign(to_sign, ec.ECDSA(hashes_sha256())) if sign_with else signer.sign(to_sign)
    envelope = {"payload": _b64(payload), "payloadType": INTOTO, "signatures": [{"sig": _b64(sig)}]}
    entry = ts.log(ts.dsse_body(json.dumps(envelope).encode(), payload, sig, logged_pem or pem),
                   kind="dsse", version="0.0.1")
    tlog = entry.bundle_entry(ts.rekor_log_id)
    vm: dict[str, Any]
    if key is not None:
        der = key.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
        vm = {"publicKey": {"hint": _b64(hashlib.sha256(der).digest())}}
    else:
        assert signer is not None
        raw = {"rawBytes": _b64(signer.cert.public_bytes(serialization.Encoding.DER))}
        vm = {"x509CertificateChain": {"certificates": [raw]}} if v01 else {"certificate": raw}
    if v01:
        del tlog["inclusionProof"]
    vm["tlogEntries"] = [tlog]
    media = V01 if v01 else "application/vnd.dev.sigstore.bundle.v0.3+json"
    return json.dumps({"mediaType": media, "verificationMaterial": vm, "dsseEnvelope": envelope}).encode()


def _verify_bundle(content: bytes, auth: Any, trust: TrustStore) -> SignatureCheck:
    return bundle.VERIFIER.verify(bundle_candidate(content, DIGEST), auth, context(DIGEST, trust))


def _sig(cand: Candidate, trust: TrustStore) -> SignatureCheck:
    return cosign_keyless.VERIFIER.verify(cand, _auth(), context(DIGEST, trust))


def _att(cand: Candidate, auth: Any, trust: TrustStore) -> SignatureCheck:
    return attestation.VERIFIER.verify(cand, auth, context(DIGEST, trust))


# -- the builders make good objects (so each failure below is the forged part's) ---------------------------------


def test_builders_make_objects_that_verify(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    signer = test_sigstore.issue()
    key = ec.generate_private_key(ec.SECP256R1())
    assert _sig(_classic_sig(test_sigstore, signer), trust).ok
    for kind in ("intoto", "dsse"):
        assert _att(_classic_att(test_sigstore, signer=signer, log_kind=kind), _auth(), trust).ok
        assert _att(_classic_att(test_sigstore, key=key, log_kind=kind), key_authority("k", _key_pem(key)), trust).ok
    assert _att(_classic_att(test_sigstore, key=key, with_bundle=False),
                key_authority("k", _key_pem(key), tlog="ignore"), trust).ok
    for v01 in (False, True):
        assert _verify_bundle(_dsse_bundle(test_sigstore, signer=signer, v01=v01), _auth(), trust).ok
    assert _verify_bundle(_dsse_bundle(test_sigstore, key=key), key_authority("k", _key_pem(key)), trust).ok


# -- `.att`: the identity and the signature ----------------------------------------------------------------------


@pytest.mark.parametrize("log_kind", ["intoto", "dsse"])
def test_att_signed_by_another_identity_is_an_identity_mismatch(log_kind: str, test_sigstore: TestSigstore,
                                                                 trust: TrustStore) -> None:
    mallory = test_sigstore.issue(san=OTHER_WORKFLOW)
    check = _att(_classic_att(test_sigstore, signer=mallory, log_kind=log_kind), _auth(), trust)
    assert_code(check, Code.IDENTITY_MISMATCH)


def test_att_with_key_and_tlog_ignore_still_verifies_the_signature(test_sigstore: TestSigstore,
                                                                   trust: TrustStore) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    forger = ec.generate_private_key(ec.SECP256R1())
    cand = _classic_att(test_sigstore, key=key, sign_with=forger, with_bundle=False)
    check = _att(cand, key_authority("k", _key_pem(key), tlog="ignore"), trust)
    assert_code(check, Code.INVALID_SIGNATURE, "does not verify with key")


@pytest.mark.parametrize("log_kind", ["intoto", "dsse"])
def test_att_keyless_forged_signature_that_the_log_names(log_kind: str, test_sigstore: TestSigstore,
                                                        trust: TrustStore) -> None:
    cand = _classic_att(test_sigstore, signer=test_sigstore.issue(), sign_with=ec.generate_private_key(ec.SECP256R1()),
                        log_kind=log_kind)
    assert_code(_att(cand, _auth(), trust), Code.INVALID_SIGNATURE, "does not verify with the certificate's key")


# -- DSSE signature in key and v0.1 bundles (the log entry names the forged signature) ---------------------------


def test_key_bundle_dsse_signature_is_checked(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    content = _dsse_bundle(test_sigstore, key=key, sign_with=ec.generate_private_key(ec.SECP256R1()))
    check = _verify_bundle(content, key_authority("k", _key_pem(key)), trust)
    assert_code(check, Code.INVALID_SIGNATURE, "the DSSE signature does not verify with the key")


def test_v01_bundle_dsse_signature_is_checked(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    content = _dsse_bundle(test_sigstore, signer=test_sigstore.issue(),
                           sign_with=ec.generate_private_key(ec.SECP256R1()), v01=True)
    assert_code(_verify_bundle(content, _auth(), trust), Code.INVALID_SIGNATURE,
                "the DSSE signature does not verify with the certificate's key")


# -- the log body's signer (right signature and payload, another signer named) -----------------------------------


def test_classic_sig_log_entry_naming_another_certificate(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    cand = _classic_sig(test_sigstore, test_sigstore.issue(), logged_pem=_cert_pem(test_sigstore.issue()))
    assert_code(_sig(cand, trust), Code.TLOG_INVALID, "logged with another")


@pytest.mark.parametrize("log_kind", ["intoto", "dsse"])
def test_att_log_entry_naming_another_certificate(log_kind: str, test_sigstore: TestSigstore,
                                                  trust: TrustStore) -> None:
    cand = _classic_att(test_sigstore, signer=test_sigstore.issue(), logged_pem=_cert_pem(test_sigstore.issue()),
                        log_kind=log_kind)
    assert_code(_att(cand, _auth(), trust), Code.TLOG_INVALID, "transparency log")


@pytest.mark.parametrize("log_kind", ["intoto", "dsse"])
def test_att_log_entry_naming_another_key(log_kind: str, test_sigstore: TestSigstore, trust: TrustStore) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cand = _classic_att(test_sigstore, key=key, logged_pem=_key_pem(ec.generate_private_key(ec.SECP256R1())),
                        log_kind=log_kind)
    assert_code(_att(cand, key_authority("k", _key_pem(key)), trust), Code.TLOG_INVALID, "transparency log")


def test_v01_log_entry_naming_another_certificate(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    content = _dsse_bundle(test_sigstore, signer=test_sigstore.issue(), logged_pem=_cert_pem(test_sigstore.issue()),
                           v01=True)
    assert_code(_verify_bundle(content, _auth(), trust), Code.TLOG_INVALID, "public key differs")


def test_key_bundle_log_entry_naming_another_key(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    content = _dsse_bundle(test_sigstore, key=key, logged_pem=_key_pem(ec.generate_private_key(ec.SECP256R1())))
    assert_code(_verify_bundle(content, key_authority("k", _key_pem(key)), trust), Code.TLOG_INVALID,
                "public key differs")


# -- Fulcio certificates: SCT and code-signing usage on the classic and v0.1 paths --------------------------------

BAD_CERTS = [
    pytest.param({"sct": False}, "SCT", id="no-sct"),
    pytest.param({"code_signing": False}, "not a code-signing certificate", id="no-codesigning-eku"),
    pytest.param({"digital_signature": False}, "not a code-signing certificate", id="no-digitalsignature"),
]


@pytest.mark.parametrize(("issue", "text"), BAD_CERTS)
def test_classic_sig_certificate_checks(issue: dict[str, bool], text: str, test_sigstore: TestSigstore,
                                        trust: TrustStore) -> None:
    cand = _classic_sig(test_sigstore, test_sigstore.issue(**issue))  # type: ignore[arg-type]
    assert_code(_sig(cand, trust), Code.CERTIFICATE_INVALID, text)


@pytest.mark.parametrize(("issue", "text"), BAD_CERTS)
def test_classic_att_certificate_checks(issue: dict[str, bool], text: str, test_sigstore: TestSigstore,
                                        trust: TrustStore) -> None:
    cand = _classic_att(test_sigstore, signer=test_sigstore.issue(**issue))  # type: ignore[arg-type]
    assert_code(_att(cand, _auth(), trust), Code.CERTIFICATE_INVALID, text)


@pytest.mark.parametrize(("issue", "text"), BAD_CERTS)
def test_v01_bundle_certificate_checks(issue: dict[str, bool], text: str, test_sigstore: TestSigstore,
                                       trust: TrustStore) -> None:
    content = _dsse_bundle(test_sigstore, signer=test_sigstore.issue(**issue), v01=True)  # type: ignore[arg-type]
    assert_code(_verify_bundle(content, _auth(), trust), Code.CERTIFICATE_INVALID, text)


@pytest.mark.parametrize(("issue", "text"), BAD_CERTS)
def test_v03_bundle_certificate_checks(issue: dict[str, bool], text: str, test_sigstore: TestSigstore,
                                       trust: TrustStore) -> None:
    content = _dsse_bundle(test_sigstore, signer=test_sigstore.issue(**issue))  # type: ignore[arg-type]
    assert_code(_verify_bundle(content, _auth(), trust), Code.CERTIFICATE_INVALID)


# -- the referrer's subject --------------------------------------------------------------------------------------


class _Referrers:
    """A registry whose (unsigned) referrers list offers, for our digest, a bundle manifest about another image."""

    def __init__(self, manifest: bytes, layer: bytes) -> None:
        self.manifest, self.layer = manifest, layer

    def referrers(self, ref: ImageRef, digest: str) -> Any:
        from sigverify.registry.base import Referrers

        d = "sha256:" + hashlib.sha256(self.manifest).hexdigest()
        return Referrers((Descriptor("application/vnd.oci.image.manifest.v1+json", d, len(self.manifest)),),
                         "referrers API")

    def get_manifest(self, ref: ImageRef, reference: str, **_: Any) -> Manifest:
        d = "sha256:" + hashlib.sha256(self.manifest).hexdigest()
        assert reference == d
        return Manifest(Descriptor("application/vnd.oci.image.manifest.v1+json", d, len(self.manifest)),
                        self.manifest)

    def get_blob(self, ref: ImageRef, descriptor: Descriptor, **_: Any) -> bytes:
        return self.layer


@pytest.mark.parametrize(("subject_digest", "kept"), [(DIGEST, 1), ("sha256:" + "7" * 64, 0)])
def test_referrer_about_another_subject_is_skipped(subject_digest: str, kept: int,
                                                   test_sigstore: TestSigstore) -> None:
    from sigverify.discovery import discover

    layer = test_sigstore.dsse_bundle(statement(DIGEST_HEX))  # a good bundle for our digest ...
    bundle_type = "application/vnd.dev.sigstore.bundle.v0.3+json"
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "artifactType": bundle_type,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2,
                   "digest": "sha256:" + hashlib.sha256(b"{}").hexdigest()},
        "layers": [{"mediaType": bundle_type, "size": len(layer),
                    "digest": "sha256:" + hashlib.sha256(layer).hexdigest()}],
        # ... in a referrer manifest whose subject is another image
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 10, "digest": subject_digest},
    }).encode()
    ref = ImageRef("registry.test", "repo", tag="latest", digest=DIGEST)
    found = discover(_Referrers(manifest, layer), ref, DIGEST, [Format.SIGSTORE_BUNDLE])  # type: ignore[arg-type]
    assert len(found.candidates) == kept
    assert found.skipped == 1 - kept


# -- further single steps (mutants that survived the mutation run) -----------------------------------------------


def test_att_layer_bytes_must_match_their_descriptor(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    good = _classic_att(test_sigstore, signer=test_sigstore.issue())
    other = Descriptor(good.layer.media_type, "sha256:" + "5" * 64, good.layer.size, good.layer.annotations)
    cand = Candidate(good.format, good.storage, good.subject_digest, good.manifest_digest, other, good.content)
    assert_code(_att(cand, _auth(), trust), Code.DIGEST_MISMATCH, "does not match its layer digest")


@pytest.mark.parametrize("edge", ["not_before", "not_after"])
def test_signing_time_on_the_certificate_validity_edges_is_inside(edge: str, test_sigstore: TestSigstore,
                                                                 trust: TrustStore) -> None:
    import datetime as _dt

    start = test_sigstore.now - _dt.timedelta(minutes=5)
    signer = test_sigstore.issue(not_before=start)  # valid [start, start + 10 min], both ends included
    when = start if edge == "not_before" else start + _dt.timedelta(minutes=10)
    payload = _simple_signing(DIGEST)
    sig = signer.sign(payload)
    body = test_sigstore.hashedrekord_body(sig, _cert_pem(signer), hashlib.sha256(payload).hexdigest())
    entry = test_sigstore.log(body, integrated_time=int(when.timestamp()), kind="hashedrekord", version="0.0.1")
    ann = {"dev.cosignproject.cosign/signature": _b64(sig),
           "dev.sigstore.cosign/certificate": _cert_pem(signer).decode(),
           BUNDLE_ANN: entry.cosign_annotation(test_sigstore.rekor_log_id)}
    cand = Candidate(Format.COSIGN_CLASSIC, "tag sha256-x.sig", DIGEST, "sha256:" + "3" * 64,
                     Descriptor("application/vnd.dev.cosign.simplesigning.v1+json",
                                "sha256:" + hashlib.sha256(payload).hexdigest(), len(payload), ann), payload)
    check = _sig(cand, trust)
    assert check.ok, check.reason


def test_classic_sig_needs_an_sct_even_when_the_root_lists_no_ct_log(test_sigstore: TestSigstore,
                                                                     tmp_path: Path) -> None:
    doc = test_sigstore.trusted_root()
    doc["ctlogs"] = []
    path = tmp_path / "no-ctlogs.json"
    path.write_text(json.dumps(doc))
    cand = _classic_sig(test_sigstore, test_sigstore.issue(sct=False))
    assert_code(_sig(cand, TrustStore(str(path))), Code.CERTIFICATE_INVALID, "SCT")


def test_sig_layer_bytes_must_match_their_descriptor(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    good = _classic_sig(test_sigstore, test_sigstore.issue())
    other = Descriptor(good.layer.media_type, "sha256:" + "5" * 64, good.layer.size, good.layer.annotations)
    cand = Candidate(good.format, good.storage, good.subject_digest, good.manifest_digest, other, good.content)
    assert_code(_sig(cand, trust), Code.DIGEST_MISMATCH, "does not match its layer digest")


def test_classic_keyless_sig_annotations_are_compared(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    cand = _classic_sig(test_sigstore, test_sigstore.issue())  # signs no optional annotations
    auth = keyless("release", WORKFLOW, GITHUB_ISSUER, annotations={"env": "prod"})
    check = cosign_keyless.VERIFIER.verify(cand, auth, context(DIGEST, trust))
    assert_code(check, Code.ANNOTATION_MISMATCH)
