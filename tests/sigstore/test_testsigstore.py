"""End to end against a test Sigstore made here (tests/fixtures/testsigstore.py): bundles, classic keyless `.sig`,
`.att` attestations, key-signed bundles; identities, claims, time windows, tampering, wrong instance."""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sigverify.crypto.trustroot import TrustStore
from sigverify.formats import cosign_att as attestation
from sigverify.formats import sigstore_bundle as bundle
from sigverify.formats.cosign_sig import keyless as cosign_keyless
from sigverify.models import Candidate, Code, Descriptor, Format
from tests.fixtures.testsigstore import FULCIO, GITHUB_ISSUER, WORKFLOW, TestSigstore, statement
from tests.sigstore.helpers import bundle_candidate, context, key_authority, keyless

DIGEST_HEX = hashlib.sha256(b"the image manifest").hexdigest()
DIGEST = "sha256:" + DIGEST_HEX
SIGN = "https://sigstore.dev/cosign/sign/v1"
SLSA = "https://slsa.dev/provenance/v1"


@pytest.fixture
def trust(test_sigstore: TestSigstore, tmp_path: Path) -> TrustStore:
    return TrustStore(str(test_sigstore.write_trusted_root(tmp_path)))


def _auth(**kw: object) -> object:
    return keyless("release", WORKFLOW, GITHUB_ISSUER, **kw)  # type: ignore[arg-type]


def _verify_bundle(content: bytes, auth: object, trust: TrustStore, digest: str = DIGEST) -> object:
    return bundle.VERIFIER.verify(bundle_candidate(content, digest), auth, context(digest, trust))  # type: ignore[arg-type]


# -- cosign v3 bundles ------------------------------------------------------------------------------------------


def test_v3_signature_bundle_counts_as_signature(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    check = _verify_bundle(test_sigstore.dsse_bundle(statement(DIGEST_HEX)), _auth(), trust)
    assert check.ok, check.reason
    assert check.details["kind"] == "signature"
    assert check.signer == f"{WORKFLOW} (issuer {GITHUB_ISSUER})"
    assert check.details["identity"]["claims"]["runner_environment"] == "github-hosted"
    assert check.format == Format.SIGSTORE_BUNDLE and check.storage == "referrers API"


def test_other_predicate_is_attestation_never_signature(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    content = test_sigstore.dsse_bundle(statement(DIGEST_HEX, SLSA, predicate={"buildDefinition": {"x": 1}}))
    check = _verify_bundle(content, _auth(), trust)
    assert check.ok and check.details["kind"] == "attestation"
    assert check.details["predicate_type"] == SLSA and check.details["predicate"] == {"buildDefinition": {"x": 1}}
    assert check.details["statement_subject_ok"] is True


@pytest.mark.parametrize(("claims", "ok"), [
    ({"source_repository_ref": "refs/heads/main", "runner_environment": "github-hosted"}, True),
    ({FULCIO + "14": "refs/heads/main"}, True),  # by OID
    ({"issuer": GITHUB_ISSUER}, True),
    ({"source_repository_ref": "refs/heads/dev"}, False),
    ({"runner_environment": "self-hosted"}, False),
    ({"deployment_environment": "prod"}, False),  # absent extension
])
def test_claims_by_name_and_oid(claims: dict[str, str], ok: bool, test_sigstore: TestSigstore,
                                trust: TrustStore) -> None:
    check = _verify_bundle(test_sigstore.dsse_bundle(statement(DIGEST_HEX)), _auth(claims=claims), trust)
    assert check.ok is ok, check.reason
    if not ok:
        assert check.reason.code == Code.IDENTITY_MISMATCH


def test_gitlab_style_identity_and_regexp(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    signer = test_sigstore.issue(san="https://gitlab.com/acme/app//.gitlab-ci.yml@refs/heads/main",
                                 issuer="https://gitlab.com", claims={FULCIO + "23": "production"})
    content = test_sigstore.dsse_bundle(statement(DIGEST_HEX), signer)
    auth = keyless("gl", r"https://gitlab\.com/acme/app//\.gitlab-ci\.yml@refs/heads/.*", r"https://gitlab\.com",
                   regexp=True, claims={"deployment_environment": "production"})
    assert _verify_bundle(content, auth, trust).ok
    partial = keyless("gl", "gitlab.com/acme", "https://gitlab.com")
    check = _verify_bundle(content, partial, trust)
    assert not check.ok and check.reason.code == Code.IDENTITY_MISMATCH


def test_email_and_othername_sans(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    for san_type, san in (("email", "dev@example.com"), ("othername", "dev!oidc.example")):
        signer = test_sigstore.issue(san=san, san_type=san_type, issuer="https://oidc.example", claims={})
        check = _verify_bundle(test_sigstore.dsse_bundle(statement(DIGEST_HEX), signer),
                               keyless("x", san, "https://oidc.example"), trust)
        assert check.ok, (san_type, check.reason)
        assert check.details["identity"]["subject_type"] == san_type


def test_issuer_v2_only(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    signer = test_sigstore.issue(issuer_v1=False)
    check = _verify_bundle(test_sigstore.dsse_bundle(statement(DIGEST_HEX), signer), _auth(), trust)
    assert check.ok and "issuer_v1" not in check.details["identity"]["claims"]


def test_legacy_issuer_extension_fallback(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    signer = test_sigstore.issue(issuer=None, claims={FULCIO + "1": GITHUB_ISSUER})
    assert _verify_bundle(test_sigstore.dsse_bundle(statement(DIGEST_HEX), signer), _auth(), trust).ok


def test_wrong_issuer(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    signer = test_sigstore.issue(issuer="https://accounts.google.com")
    check = _verify_bundle(test_sigstore.dsse_bundle(statement(DIGEST_HEX), signer), _auth(), trust)
    assert not check.ok and check.reason.code == Code.IDENTITY_MISMATCH
    assert check.reason.found == "issuer https://accounts.google.com"
    assert check.signer == f"{WORKFLOW} (issuer https://accounts.google.com)"


def test_subject_digest_must_be_the_image(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    content = test_sigstore.dsse_bundle(statement("ef" * 32))
    check = _verify_bundle(content, _auth(), trust)
    assert not check.ok and check.reason.code == Code.DIGEST_MISMATCH


def test_annotations_in_subject(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    content = test_sigstore.dsse_bundle(statement(DIGEST_HEX, annotations={"env": "prod", "team": "a"}))
    assert _verify_bundle(content, _auth(annotations={"env": "prod"}), trust).ok
    check = _verify_bundle(content, _auth(annotations={"env": "staging"}), trust)
    assert not check.ok and check.reason.code == Code.ANNOTATION_MISMATCH
    check = _verify_bundle(content, _auth(annotations={"owner": "x"}), trust)
    assert not check.ok and check.reason.code == Code.ANNOTATION_MISMATCH


def test_tampered_payload(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    doc = json.loads(test_sigstore.dsse_bundle(statement(DIGEST_HEX)))
    other = json.dumps(statement("ab" * 32)).encode()
    doc["dsseEnvelope"]["payload"] = base64.b64encode(other).decode()
    check = _verify_bundle(json.dumps(doc).encode(), _auth(), trust)
    assert not check.ok and check.reason.code in (Code.INVALID_SIGNATURE, Code.TLOG_INVALID)


def test_statement_with_duplicate_keys_is_rejected(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    subject = '[{"digest":{"sha256":"' + DIGEST_HEX + '"}}]'
    raw = ('{"_type":"https://in-toto.io/Statement/v1","subject":' + subject
           + f',"predicateType":"{SLSA}","predicateType":"{SIGN}"}}').encode()
    check = _verify_bundle(test_sigstore.dsse_bundle(raw), _auth(), trust)
    assert not check.ok and check.reason.code == Code.INVALID_PAYLOAD


def test_wrong_instance_root(test_sigstore: TestSigstore, other_sigstore: TestSigstore, tmp_path: Path) -> None:
    other_root = TrustStore(str(other_sigstore.write_trusted_root(tmp_path)))
    check = _verify_bundle(test_sigstore.dsse_bundle(statement(DIGEST_HEX)), _auth(), other_root)
    assert not check.ok and check.reason.code == Code.CERTIFICATE_INVALID, check.reason


def test_untrusted_ct_log(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    signer = test_sigstore.issue(ct_key=ec.generate_private_key(ec.SECP256R1()))
    check = _verify_bundle(test_sigstore.dsse_bundle(statement(DIGEST_HEX), signer), _auth(), trust)
    assert not check.ok and check.reason.code == Code.CERTIFICATE_INVALID


def test_certificate_without_sct(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    signer = test_sigstore.issue(sct=False)
    check = _verify_bundle(test_sigstore.dsse_bundle(statement(DIGEST_HEX), signer), _auth(), trust)
    assert not check.ok and check.reason.code == Code.CERTIFICATE_INVALID


@pytest.mark.parametrize("offset_minutes", [-5, 30])
def test_signing_time_outside_certificate_validity(offset_minutes: int, test_sigstore: TestSigstore,
                                                   trust: TrustStore) -> None:
    signer = test_sigstore.issue()  # valid [now-1m, now+9m]
    when = int(test_sigstore.now.timestamp()) + offset_minutes * 60
    check = _verify_bundle(test_sigstore.dsse_bundle(statement(DIGEST_HEX), signer, integrated_time=when),
                           _auth(), trust)
    assert not check.ok and check.reason.code == Code.CERTIFICATE_INVALID


def test_ca_validity_window(test_sigstore: TestSigstore, tmp_path: Path) -> None:
    ts = TestSigstore(name="windowed")
    ts.ca_valid_until = ts.now - _dt.timedelta(hours=1)  # CA retired before this signature
    trust = TrustStore(str(ts.write_trusted_root(tmp_path)))
    check = _verify_bundle(ts.dsse_bundle(statement(DIGEST_HEX)), _auth(), trust)
    assert not check.ok and check.reason.code == Code.CERTIFICATE_INVALID
    assert "certificate authority" in check.reason.message


def test_rekor_key_validity_window(tmp_path: Path) -> None:
    ts = TestSigstore(name="rekorwin")
    ts.rekor_valid_until = ts.now - _dt.timedelta(hours=1)
    trust = TrustStore(str(ts.write_trusted_root(tmp_path)))
    check = _verify_bundle(ts.dsse_bundle(statement(DIGEST_HEX)), _auth(), trust)
    assert not check.ok and check.reason.code == Code.TLOG_INVALID


def test_intoto_logged_bundle(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    content = test_sigstore.dsse_bundle(statement(DIGEST_HEX, SLSA, predicate={}), log_kind="intoto")
    check = _verify_bundle(content, _auth(), trust)
    assert check.ok, check.reason
    assert check.details["tlog"]["kind"] == "intoto/0.0.2"


def test_key_signed_bundle(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    content = test_sigstore.key_dsse_bundle(statement(DIGEST_HEX), key)
    check = _verify_bundle(content, key_authority("k", pem), trust)
    assert check.ok, check.reason
    assert check.details["kind"] == "signature" and check.signer.startswith("key sha256:")
    wrong = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    bad = _verify_bundle(content, key_authority("k2", wrong), trust)
    assert not bad.ok and bad.reason.code == Code.INVALID_SIGNATURE
    # a keyless authority never accepts a key-signed bundle
    kl = _verify_bundle(content, _auth(), trust)
    assert not kl.ok and kl.reason.code == Code.KEY_ERROR


def test_keyless_bundle_is_not_accepted_by_key_authority(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    check = _verify_bundle(test_sigstore.dsse_bundle(statement(DIGEST_HEX)), key_authority("k", pem), trust)
    assert not check.ok and check.reason.code == Code.KEY_ERROR


def test_candidate_for_another_digest(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    content = test_sigstore.dsse_bundle(statement(DIGEST_HEX))
    cand = bundle_candidate(content, "sha256:" + "0" * 64)
    check = bundle.VERIFIER.verify(cand, _auth(), context(DIGEST, trust))  # type: ignore[arg-type]
    assert not check.ok and check.reason.code == Code.DIGEST_MISMATCH


def test_garbage_bundle_fails_closed(trust: TrustStore) -> None:
    for content, code in ((b"", Code.INVALID_PAYLOAD), (b"{}", Code.UNSUPPORTED_FORMAT), (b"[1]", Code.INVALID_PAYLOAD),
                          (b'{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}', Code.INVALID_PAYLOAD),
                          (b"\xff\xfe", Code.INVALID_PAYLOAD)):
        check = _verify_bundle(content, _auth(), trust)
        assert not check.ok and check.reason is not None and check.reason.code == code, (content, check.reason)


# -- classic keyless `.sig` -------------------------------------------------------------------------------------


def _simple_signing(digest: str, optional: dict[str, str] | None = None) -> bytes:
    return json.dumps({"critical": {"identity": {"docker-reference": "registry.test/repo"},
                                    "image": {"docker-manifest-digest": digest},
                                    "type": "cosign container image signature"},
                       "optional": optional}).encode()


def _sig_candidate(payload: bytes, annotations: dict[str, str]) -> Candidate:
    return Candidate(Format.COSIGN_CLASSIC, "tag sha256-x.sig", DIGEST, "sha256:" + "3" * 64,
                     Descriptor("application/vnd.dev.cosign.simplesigning.v1+json",
                                "sha256:" + hashlib.sha256(payload).hexdigest(), len(payload), annotations),
                     payload)


def test_classic_keyless(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    payload = _simple_signing(DIGEST, {"env": "prod"})
    cand = _sig_candidate(payload, test_sigstore.classic_signature(payload))
    check = cosign_keyless.VERIFIER.verify(cand, _auth(annotations={"env": "prod"}), context(DIGEST, trust))  # type: ignore[arg-type]
    assert check.ok, check.reason
    assert check.signer == f"{WORKFLOW} (issuer {GITHUB_ISSUER})"
    bad = cosign_keyless.VERIFIER.verify(cand, _auth(claims={"build_trigger": "tag"}), context(DIGEST, trust))  # type: ignore[arg-type]
    assert not bad.ok and bad.reason.code == Code.IDENTITY_MISMATCH and bad.signer == check.signer


def test_classic_keyless_time_window(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    payload = _simple_signing(DIGEST)
    expired = test_sigstore.issue(not_before=test_sigstore.now - _dt.timedelta(hours=2))  # valid 10 min, 2h ago
    late = int(test_sigstore.now.timestamp()) - 60
    cand = _sig_candidate(payload, test_sigstore.classic_signature(payload, expired, integrated_time=late))
    check = cosign_keyless.VERIFIER.verify(cand, _auth(), context(DIGEST, trust))  # type: ignore[arg-type]
    assert not check.ok and check.reason.code == Code.CERTIFICATE_INVALID


def test_classic_keyless_bundle_from_other_signature(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    payload = _simple_signing(DIGEST)
    ann = test_sigstore.classic_signature(payload)
    ann["dev.sigstore.cosign/bundle"] = test_sigstore.classic_signature(_simple_signing(DIGEST, {"a": "b"}))[
        "dev.sigstore.cosign/bundle"]
    check = cosign_keyless.VERIFIER.verify(_sig_candidate(payload, ann), _auth(), context(DIGEST, trust))  # type: ignore[arg-type]
    assert not check.ok and check.reason.code == Code.TLOG_INVALID


# -- classic `.att` attestations --------------------------------------------------------------------------------


def _att_candidate(envelope: bytes, annotations: dict[str, str]) -> Candidate:
    return Candidate(Format.COSIGN_ATTESTATION, "tag sha256-x.att", DIGEST, "sha256:" + "4" * 64,
                     Descriptor("application/vnd.dsse.envelope.v1+json",
                                "sha256:" + hashlib.sha256(envelope).hexdigest(), len(envelope), annotations),
                     envelope)


@pytest.mark.parametrize("log_kind", ["intoto", "dsse"])
def test_classic_keyless_attestation(log_kind: str, test_sigstore: TestSigstore, trust: TrustStore) -> None:
    st = statement(DIGEST_HEX, SLSA, predicate={"buildDefinition": {"buildType": "gha"}}, name="registry.test/repo")
    env, ann = test_sigstore.classic_attestation(st, log_kind=log_kind)
    check = attestation.VERIFIER.verify(_att_candidate(env, ann), _auth(), context(DIGEST, trust))  # type: ignore[arg-type]
    assert check.ok, check.reason
    assert check.details["kind"] == "attestation" and check.details["predicate_type"] == SLSA
    assert check.details["statement_subject_ok"] is True
    other = attestation.VERIFIER.verify(_att_candidate(env, ann), _auth(), context("sha256:" + "9" * 64, trust))  # type: ignore[arg-type]
    assert not other.ok and other.reason.code == Code.DIGEST_MISMATCH


def test_classic_key_attestation(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    env, ann = test_sigstore.classic_attestation(statement(DIGEST_HEX, SLSA, predicate={"v": 1}), key=key)
    check = attestation.VERIFIER.verify(_att_candidate(env, ann), key_authority("k", pem), context(DIGEST, trust))  # type: ignore[arg-type]
    assert check.ok, check.reason
    assert check.details["tlog"]["kind"] == "intoto 0.0.2"
    no_bundle = {k: v for k, v in ann.items() if k != "dev.sigstore.cosign/bundle"}
    bad = attestation.VERIFIER.verify(_att_candidate(env, no_bundle), key_authority("k", pem), context(DIGEST, trust))  # type: ignore[arg-type]
    assert not bad.ok and bad.reason.code == Code.TLOG_INVALID
    ok = attestation.VERIFIER.verify(_att_candidate(env, no_bundle), key_authority("k", pem, tlog="ignore"),
                                     context(DIGEST, trust))  # type: ignore[arg-type]
    assert ok.ok


def test_classic_attestation_predicate_type_comes_from_statement(test_sigstore: TestSigstore,
                                                                  trust: TrustStore) -> None:
    env, ann = test_sigstore.classic_attestation(statement(DIGEST_HEX, SLSA, predicate={}))
    ann["predicateType"] = "https://spdx.dev/Document"  # the unsigned annotation lies
    check = attestation.VERIFIER.verify(_att_candidate(env, ann), _auth(), context(DIGEST, trust))  # type: ignore[arg-type]
    assert check.ok and check.details["predicate_type"] == SLSA


def test_classic_attestation_tampered_envelope(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    env, ann = test_sigstore.classic_attestation(statement(DIGEST_HEX, SLSA, predicate={}))
    doc = json.loads(env)
    doc["payload"] = base64.b64encode(json.dumps(statement(DIGEST_HEX, SLSA, predicate={"x": 1})).encode()).decode()
    env2 = json.dumps(doc).encode()
    check = attestation.VERIFIER.verify(_att_candidate(env2, ann), _auth(), context(DIGEST, trust))  # type: ignore[arg-type]
    assert not check.ok and check.reason.code == Code.INVALID_SIGNATURE


def test_key_signed_bundle_without_log_needs_tlog_ignore(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    """`cosign sign --key --tlog-upload=false` (v3) writes a bundle with no tlogEntries at all."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    doc = json.loads(test_sigstore.key_dsse_bundle(statement(DIGEST_HEX, annotations={"env": "prod"}), key))
    del doc["verificationMaterial"]["tlogEntries"]
    content = json.dumps(doc).encode()
    strict = _verify_bundle(content, key_authority("k", pem), trust)
    assert not strict.ok and strict.reason.code == Code.TLOG_INVALID and "tlog: ignore" in strict.reason.message
    relaxed = _verify_bundle(content, key_authority("k", pem, tlog="ignore"), trust)
    assert relaxed.ok, relaxed.reason
    assert relaxed.details["kind"] == "signature" and relaxed.details["annotations"] == {"env": "prod"}
    other = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    bad = _verify_bundle(content, key_authority("k2", other, tlog="ignore"), trust)
    assert not bad.ok and bad.reason.code == Code.INVALID_SIGNATURE
    doc["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement(DIGEST_HEX)).encode()).decode()
    tampered = _verify_bundle(json.dumps(doc).encode(), key_authority("k", pem, tlog="ignore"), trust)
    assert not tampered.ok and tampered.reason.code == Code.INVALID_SIGNATURE


def _as_v01_promise_only(content: bytes) -> dict[str, object]:
    doc = json.loads(content)
    vm = doc["verificationMaterial"]
    doc["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.1"
    vm["x509CertificateChain"] = {"certificates": [vm.pop("certificate")]}
    del vm["tlogEntries"][0]["inclusionProof"]
    return doc


def test_v01_promise_only_bundles(test_sigstore: TestSigstore, trust: TrustStore) -> None:
    from sigverify.crypto.bundle.verify import verify_bundle
    from sigverify.errors import Failure

    dsse = _as_v01_promise_only(test_sigstore.dsse_bundle(statement(DIGEST_HEX)))
    check = _verify_bundle(json.dumps(dsse).encode(), _auth(), trust)
    assert check.ok, check.reason
    assert check.details["tlog"]["inclusion"] == "promise only (v0.1)"
    art = b"artifact"
    msg = _as_v01_promise_only(test_sigstore.blob_bundle(art))
    vb = verify_bundle(json.dumps(msg).encode(), trust, artifact=art)
    assert vb.identity is not None and vb.identity.subject == WORKFLOW
    with pytest.raises(Failure):
        verify_bundle(json.dumps(msg).encode(), trust, artifact=b"other")
    # the log entry of another signature cannot be borrowed
    other = _as_v01_promise_only(test_sigstore.blob_bundle(art))
    msg["verificationMaterial"]["tlogEntries"] = other["verificationMaterial"]["tlogEntries"]  # type: ignore[index]
    with pytest.raises(Failure) as err:
        verify_bundle(json.dumps(msg).encode(), trust, artifact=art)
    assert err.value.code == Code.TLOG_INVALID
    # an expired certificate at the integrated time
    old = test_sigstore.issue(not_before=test_sigstore.now - _dt.timedelta(hours=2))
    late = _as_v01_promise_only(test_sigstore.blob_bundle(art, old, integrated_time=int(test_sigstore.now.timestamp())))
    with pytest.raises(Failure) as err:
        verify_bundle(json.dumps(late).encode(), trust, artifact=art)
    assert err.value.code == Code.CERTIFICATE_INVALID


def test_missing_trusted_root_is_a_configuration_error(test_sigstore: TestSigstore, tmp_path: Path) -> None:
    from sigverify.errors import ConfigError

    missing = TrustStore(str(tmp_path / "nope.json"))
    with pytest.raises(ConfigError):
        _verify_bundle(test_sigstore.dsse_bundle(statement(DIGEST_HEX)), _auth(), missing)
