"""cosign classic key verifier on signatures made by tests/fixtures/cosign_sign.py (every key type, every failure)."""

from __future__ import annotations

import base64
import datetime as _dt
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from sigverify.crypto.trustroot import TrustStore
from sigverify.models import Code
from tests.fixtures.cosign_sign import (
    BUNDLE_ANNOTATION,
    FakeRekor,
    KeyPair,
    SignatureLayer,
    duplicate_key_payload,
    generate_key,
    sha256_digest,
    sign_image,
    sign_payload,
    simple_signing_payload,
    tamper_blob,
    tamper_payload,
    verify_candidate,
    with_annotations,
    with_bundle_of,
)

DIGEST = sha256_digest(b"image manifest A")
OTHER = sha256_digest(b"image manifest B")


def check(layer: SignatureLayer, key: KeyPair, **kw):  # type: ignore[no-untyped-def]
    return verify_candidate(layer.candidate(kw.pop("digest", DIGEST)), key_pem=key.public_pem, **kw)


def code_of(result) -> str | None:  # type: ignore[no-untyped-def]
    return result.reason.code if result.reason else None


@pytest.mark.parametrize("kind", ["p256", "p384", "p521", "rsa2048", "rsa3072", "ed25519", "ed25519-pure"])
def test_each_key_type_verifies(cosign_keys: dict[str, KeyPair], kind: str) -> None:
    key = cosign_keys[kind]
    result = check(sign_image(key, DIGEST), key)
    assert result.ok, result.reason
    assert result.signer == key.fingerprint
    assert result.details["key"] == key.fingerprint


@pytest.mark.parametrize(
    ("kind", "variant", "scheme"),
    [
        ("p384", {"ecdsa_hash": "sha256"}, "ecdsa-p-384-sha256"),
        ("p384", {}, "ecdsa-p-384-sha384"),
        ("p521", {"ecdsa_hash": "sha256"}, "ecdsa-p-521-sha256"),
        ("rsa2048", {"rsa_pss": True}, "rsa-pss-sha256"),
        ("ed25519", {"ed25519ph": False}, "ed25519"),
        ("ed25519", {}, "ed25519ph"),
    ],
)
def test_old_and_new_cosign_schemes_are_accepted(
    cosign_keys: dict[str, KeyPair], kind: str, variant: dict, scheme: str
) -> None:  # type: ignore[type-arg]
    base = cosign_keys[kind]
    key = KeyPair(base.kind, base.private, **variant)
    result = check(sign_image(key, DIGEST), key)
    assert result.ok, result.reason
    assert result.details["algorithm"] == scheme


def test_p384_with_sha1_is_refused(cosign_keys: dict[str, KeyPair]) -> None:
    from cryptography.hazmat.primitives import hashes

    key = cosign_keys["p384"]
    payload = simple_signing_payload(DIGEST)
    sig = key.private.sign(payload, ec.ECDSA(hashes.SHA1()))
    layer = SignatureLayer(payload, {"dev.cosignproject.cosign/signature": base64.b64encode(sig).decode()})
    assert code_of(check(layer, key)) == Code.INVALID_SIGNATURE


def test_wrong_key_fails_and_names_the_key(cosign_keys: dict[str, KeyPair]) -> None:
    signer, verifier = cosign_keys["p256"], generate_key("p256")
    result = check(sign_image(signer, DIGEST), verifier, source="keys/release.pub")
    assert code_of(result) == Code.INVALID_SIGNATURE
    assert result.reason is not None
    assert verifier.fingerprint in result.reason.message and "keys/release.pub" in result.reason.message
    assert result.signer is None


def test_key_of_another_type_fails(cosign_keys: dict[str, KeyPair]) -> None:
    result = check(sign_image(cosign_keys["p256"], DIGEST), cosign_keys["ed25519"])
    assert code_of(result) == Code.INVALID_SIGNATURE


def test_tampered_blob_is_a_digest_mismatch(cosign_key: KeyPair) -> None:
    result = check(tamper_blob(sign_image(cosign_key, DIGEST)), cosign_key)
    assert code_of(result) == Code.DIGEST_MISMATCH


def test_tampered_payload_fails_the_signature(cosign_key: KeyPair) -> None:
    result = check(tamper_payload(sign_image(cosign_key, OTHER), new_digest=DIGEST), cosign_key)
    assert code_of(result) == Code.INVALID_SIGNATURE


def test_copied_signature_from_another_image_is_a_digest_mismatch(cosign_key: KeyPair) -> None:
    layer = sign_image(cosign_key, OTHER)  # valid signature, for image B
    result = check(layer, cosign_key, digest=DIGEST)  # found under image A's .sig tag
    assert code_of(result) == Code.DIGEST_MISMATCH
    assert result.reason is not None
    assert (result.reason.expected, result.reason.found) == (DIGEST, OTHER)


def test_digest_compare_is_exact(cosign_key: KeyPair) -> None:
    layer = sign_image(cosign_key, DIGEST.upper().replace("SHA256", "sha256"))
    assert code_of(check(layer, cosign_key)) == Code.DIGEST_MISMATCH


@pytest.mark.parametrize(
    ("signed", "wanted", "ok"),
    [
        ({"env": "prod", "team": "a"}, {"env": "prod"}, True),
        ({"env": "prod"}, {"env": "prod", "team": "a"}, False),  # missing
        ({"env": "staging"}, {"env": "prod"}, False),  # different
        ({"env": "Prod"}, {"env": "prod"}, False),  # exact, case-sensitive
        ({"env": "prod "}, {"env": "prod"}, False),
        (None, {"env": "prod"}, False),  # optional: null
        ({"n": 1}, {"n": "1"}, False),  # non-string never equals a string (cosign interface{} compare)
        ({"b": True}, {"b": "true"}, False),
        ({"z": None}, {"z": "null"}, False),
        ({"o": {"k": "v"}}, {"o": '{"k":"v"}'}, False),
        (None, {}, True),
    ],
)
def test_annotations(cosign_key: KeyPair, signed: dict | None, wanted: dict, ok: bool) -> None:  # type: ignore[type-arg]
    result = check(sign_image(cosign_key, DIGEST, annotations=signed), cosign_key, annotations=wanted)
    assert result.ok is ok, result.reason
    if not ok:
        assert code_of(result) == Code.ANNOTATION_MISMATCH
        assert result.reason is not None and result.reason.expected and result.reason.found
        assert result.signer == cosign_key.fingerprint


def test_annotation_mismatch_message_shows_expected_and_signed_values(cosign_key: KeyPair) -> None:
    result = check(
        sign_image(cosign_key, DIGEST, annotations={"env": "staging"}), cosign_key, annotations={"env": "production"}
    )
    assert result.reason is not None
    assert '"production"' in (result.reason.expected or "") and '"staging"' in (result.reason.found or "")


def test_duplicate_json_keys_are_refused_even_when_signed(cosign_key: KeyPair) -> None:
    layer = sign_payload(cosign_key, duplicate_key_payload(DIGEST, OTHER))
    result = check(layer, cosign_key)
    assert code_of(result) == Code.INVALID_PAYLOAD
    assert result.reason is not None and "duplicate" in result.reason.message


@pytest.mark.parametrize(
    "payload",
    [
        b'["not an object"]',
        b'{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"%s"},'
        b'"type":"cosign container image signature"},"optional":NaN}',
        b"\xff\xfe{}",
        b'{"critical":{"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},'
        b'"Critical":{}}',
        b'{"critical":{"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},'
        b'"optional":["a"]}',
        b'{"critical":{"image":{"docker-manifest-digest":5},"type":"cosign container image signature"}}',
        b'{"critical":{"image":{},"type":"cosign container image signature"}}',
        b'{"critical":{"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature",'
        b'"image":{"docker-manifest-digest":"%s"}}}',
        b'{"critical":{"image":{"docker-manifest-digest":"%s","x":"\\ud800"},'
        b'"type":"cosign container image signature"}}',
    ],
    ids=[
        "array",
        "nan",
        "bad-utf8",
        "case-variant-key",
        "optional-array",
        "digest-number",
        "digest-missing",
        "dup-nested",
        "lone-surrogate",
    ],
)
def test_malformed_payloads_are_invalid(cosign_key: KeyPair, payload: bytes) -> None:
    payload = payload.replace(b"%s", DIGEST.encode())
    result = check(sign_payload(cosign_key, payload), cosign_key)
    assert code_of(result) == Code.INVALID_PAYLOAD, result.reason


def test_wrong_critical_type(cosign_key: KeyPair) -> None:
    payload = simple_signing_payload(DIGEST, type_="atomic container signature")
    result = check(sign_payload(cosign_key, payload), cosign_key)
    assert code_of(result) == Code.INVALID_PAYLOAD
    assert result.reason is not None and result.reason.found == "atomic container signature"


@pytest.mark.parametrize("value", ["!!notbase64", "MEUCIQ", "", "TUVV Q0lR"])
def test_bad_signature_annotation(cosign_key: KeyPair, value: str) -> None:
    layer = with_annotations(sign_image(cosign_key, DIGEST), signature=value)
    assert code_of(check(layer, cosign_key)) == Code.INVALID_SIGNATURE


def test_missing_signature_annotation(cosign_key: KeyPair) -> None:
    layer = with_annotations(sign_image(cosign_key, DIGEST), signature=None)
    assert code_of(check(layer, cosign_key)) == Code.INVALID_SIGNATURE


def test_other_media_type_is_unsupported(cosign_key: KeyPair) -> None:
    from dataclasses import replace

    layer = replace(sign_image(cosign_key, DIGEST), media_type="application/vnd.dsse.envelope.v1+json")
    assert code_of(check(layer, cosign_key)) == Code.UNSUPPORTED_FORMAT


def test_unloadable_key_is_a_key_error_not_an_exception(cosign_key: KeyPair) -> None:
    layer = sign_image(cosign_key, DIGEST)
    result = verify_candidate(layer.candidate(DIGEST), key_pem=b"not a key", source="keys/broken.pub")
    assert code_of(result) == Code.KEY_ERROR
    assert result.reason is not None and "keys/broken.pub" in result.reason.message


def test_kms_key_failure_is_a_key_error(cosign_key: KeyPair, monkeypatch: pytest.MonkeyPatch) -> None:
    from sigverify import kms
    from sigverify.crypto import keys
    from sigverify.errors import KeyMaterialError

    keys.CACHE.clear()

    def boom(uri: str) -> bytes:
        raise KeyMaterialError(f"cannot reach {uri}")

    monkeypatch.setattr(kms, "fetch_public_key_pem", boom)
    result = verify_candidate(sign_image(cosign_key, DIGEST).candidate(DIGEST), kms="awskms:///alias/nope")
    assert code_of(result) == Code.KEY_ERROR
    keys.CACHE.clear()


# -- tlog: require ------------------------------------------------------------------------------------------------


@pytest.fixture
def rekor_trust(fake_trusted_root: Path) -> TrustStore:
    return TrustStore(str(fake_trusted_root))


def test_tlog_require_passes_with_a_valid_bundle(
    cosign_key: KeyPair, fake_rekor: FakeRekor, rekor_trust: TrustStore
) -> None:
    layer = sign_image(cosign_key, DIGEST, rekor=fake_rekor)
    result = check(layer, cosign_key, tlog="require", trust=rekor_trust)
    assert result.ok, result.reason
    assert result.details["tlog"]["logID"] == fake_rekor.log_id
    assert result.details["tlog"]["log"] == "https://rekor.test"


@pytest.mark.parametrize("kind", ["p384", "rsa2048", "ed25519"])
def test_tlog_require_other_key_types(
    cosign_keys: dict[str, KeyPair], kind: str, fake_rekor: FakeRekor, rekor_trust: TrustStore
) -> None:
    key = cosign_keys[kind]
    result = check(sign_image(key, DIGEST, rekor=fake_rekor), key, tlog="require", trust=rekor_trust)
    assert result.ok, result.reason


def test_tlog_require_without_bundle_fails_with_tip(cosign_key: KeyPair, rekor_trust: TrustStore) -> None:
    result = check(sign_image(cosign_key, DIGEST), cosign_key, tlog="require", trust=rekor_trust)
    assert code_of(result) == Code.TLOG_INVALID
    assert result.reason is not None and "tlog: ignore" in result.reason.message


def test_tlog_ignore_does_not_look_at_a_broken_bundle(cosign_key: KeyPair) -> None:
    layer = with_annotations(sign_image(cosign_key, DIGEST), bundle="{broken")
    result = check(layer, cosign_key, tlog="ignore")
    assert result.ok and result.details["tlog"].startswith("ignored")


def test_bundle_of_another_signature_fails(cosign_key: KeyPair, fake_rekor: FakeRekor, rekor_trust: TrustStore) -> None:
    mine = sign_image(cosign_key, DIGEST)
    other = sign_image(cosign_key, OTHER, rekor=fake_rekor)  # same key, another payload, valid SET
    result = check(with_bundle_of(mine, other), cosign_key, tlog="require", trust=rekor_trust)
    assert code_of(result) == Code.TLOG_INVALID
    assert result.reason is not None and "another signature" in result.reason.message


def test_bundle_logged_with_another_key_fails(
    cosign_key: KeyPair, fake_rekor: FakeRekor, rekor_trust: TrustStore
) -> None:
    payload = simple_signing_payload(DIGEST)
    sig = cosign_key.sign(payload)
    bundle = fake_rekor.bundle(sig, generate_key("p256").public_pem, payload)
    layer = SignatureLayer(
        payload, {"dev.cosignproject.cosign/signature": base64.b64encode(sig).decode(), BUNDLE_ANNOTATION: bundle}
    )
    result = check(layer, cosign_key, tlog="require", trust=rekor_trust)
    assert code_of(result) == Code.TLOG_INVALID
    assert result.reason is not None and "another public key" in result.reason.message


def test_bundle_for_another_payload_hash_fails(
    cosign_key: KeyPair, fake_rekor: FakeRekor, rekor_trust: TrustStore
) -> None:
    payload = simple_signing_payload(DIGEST)
    sig = cosign_key.sign(payload)
    body = fake_rekor.hashedrekord_body(sig, cosign_key.public_pem, payload + b"x")
    bundle = fake_rekor.bundle(sig, cosign_key.public_pem, payload, body=body)
    layer = SignatureLayer(
        payload, {"dev.cosignproject.cosign/signature": base64.b64encode(sig).decode(), BUNDLE_ANNOTATION: bundle}
    )
    result = check(layer, cosign_key, tlog="require", trust=rekor_trust)
    assert code_of(result) == Code.TLOG_INVALID
    assert result.reason is not None and "another payload" in result.reason.message


def test_set_signed_by_an_untrusted_key_fails(
    cosign_key: KeyPair, fake_rekor: FakeRekor, rekor_trust: TrustStore
) -> None:
    payload = simple_signing_payload(DIGEST)
    sig = cosign_key.sign(payload)
    forged = fake_rekor.bundle(sig, cosign_key.public_pem, payload, signer=ec.generate_private_key(ec.SECP256R1()))
    layer = SignatureLayer(
        payload, {"dev.cosignproject.cosign/signature": base64.b64encode(sig).decode(), BUNDLE_ANNOTATION: forged}
    )
    result = check(layer, cosign_key, tlog="require", trust=rekor_trust)
    assert code_of(result) == Code.TLOG_INVALID
    assert result.reason is not None and "SignedEntryTimestamp" in result.reason.message


def test_bundle_from_a_log_missing_in_the_trusted_root_fails(cosign_key: KeyPair, rekor_trust: TrustStore) -> None:
    layer = sign_image(cosign_key, DIGEST, rekor=FakeRekor())
    result = check(layer, cosign_key, tlog="require", trust=rekor_trust)
    assert code_of(result) == Code.TLOG_INVALID
    assert result.reason is not None and "not in the trusted root" in result.reason.message


def test_fake_log_is_not_trusted_by_the_embedded_production_root(cosign_key: KeyPair, fake_rekor: FakeRekor) -> None:
    layer = sign_image(cosign_key, DIGEST, rekor=fake_rekor)
    assert code_of(check(layer, cosign_key, tlog="require", trust=TrustStore())) == Code.TLOG_INVALID


@pytest.mark.parametrize(
    ("integrated", "ok"),
    [
        (_dt.datetime(2023, 6, 1, tzinfo=_dt.UTC), True),
        (_dt.datetime(2022, 12, 31, 23, 59, 59, tzinfo=_dt.UTC), False),  # before validFor.start
        (_dt.datetime(2024, 1, 1, 0, 0, 1, tzinfo=_dt.UTC), False),  # after validFor.end
    ],
)
def test_integrated_time_must_be_within_key_validity(
    cosign_key: KeyPair, tmp_path: Path, integrated: _dt.datetime, ok: bool
) -> None:
    log = FakeRekor(
        valid_from=_dt.datetime(2023, 1, 1, tzinfo=_dt.UTC), valid_until=_dt.datetime(2024, 1, 1, tzinfo=_dt.UTC)
    )
    trust = TrustStore(str(log.write_trusted_root(tmp_path / "root.json")))
    layer = sign_image(cosign_key, DIGEST, rekor=log, integrated_time=int(integrated.timestamp()))
    result = check(layer, cosign_key, tlog="require", trust=trust)
    assert result.ok is ok, result.reason
    if not ok:
        assert code_of(result) == Code.TLOG_INVALID and "validity" in (result.reason.message or "")


def test_integrated_time_in_the_future_fails(
    cosign_key: KeyPair, fake_rekor: FakeRekor, rekor_trust: TrustStore
) -> None:
    future = int((_dt.datetime.now(_dt.UTC) + _dt.timedelta(days=2)).timestamp())
    layer = sign_image(cosign_key, DIGEST, rekor=fake_rekor, integrated_time=future)
    result = check(layer, cosign_key, tlog="require", trust=rekor_trust)
    assert code_of(result) == Code.TLOG_INVALID and "future" in (result.reason.message if result.reason else "")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: {**b, "Payload": {**b["Payload"], "logIndex": b["Payload"]["logIndex"] + 1}},
        lambda b: {**b, "Payload": {**b["Payload"], "integratedTime": b["Payload"]["integratedTime"] - 1}},
        lambda b: {**b, "Payload": {**b["Payload"], "integratedTime": str(b["Payload"]["integratedTime"])}},
        lambda b: {**b, "Payload": {**b["Payload"], "logID": b["Payload"]["logID"].upper()}},
        lambda b: {**b, "SignedEntryTimestamp": "not base64!"},
        lambda b: {"Payload": b["Payload"]},
        lambda b: {**b, "Payload": None},
    ],
    ids=["logIndex", "integratedTime", "time-as-string", "logID-case", "set-b64", "no-set", "no-payload"],
)
def test_modified_bundle_fields_fail(
    cosign_key: KeyPair, fake_rekor: FakeRekor, rekor_trust: TrustStore, mutate
) -> None:  # type: ignore[no-untyped-def]
    layer = sign_image(cosign_key, DIGEST, rekor=fake_rekor)
    bundle = json.loads(layer.annotations[BUNDLE_ANNOTATION])
    bad = with_annotations(layer, bundle=json.dumps(mutate(bundle)))
    assert code_of(check(bad, cosign_key, tlog="require", trust=rekor_trust)) == Code.TLOG_INVALID


def test_bundle_with_duplicate_keys_fails(cosign_key: KeyPair, fake_rekor: FakeRekor, rekor_trust: TrustStore) -> None:
    layer = sign_image(cosign_key, DIGEST, rekor=fake_rekor)
    text = layer.annotations[BUNDLE_ANNOTATION]
    dup = text.replace('"Payload":', '"SignedEntryTimestamp":"AAAA","Payload":', 1)
    result = check(with_annotations(layer, bundle=dup), cosign_key, tlog="require", trust=rekor_trust)
    assert code_of(result) == Code.TLOG_INVALID


def test_bundle_body_with_the_signing_certificate_of_this_key_is_accepted(
    fake_rekor: FakeRekor, rekor_trust: TrustStore
) -> None:
    """The logged verifier may be a certificate for the same key (cosign --key on a cert-carrying signature)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = generate_key("p256")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signer")])
    now = _dt.datetime.now(_dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.private.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + _dt.timedelta(days=1))
        .sign(key.private, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    payload = simple_signing_payload(DIGEST)
    sig = key.sign(payload)
    layer = SignatureLayer(
        payload,
        {
            "dev.cosignproject.cosign/signature": base64.b64encode(sig).decode(),
            BUNDLE_ANNOTATION: fake_rekor.bundle(sig, pem, payload),
        },
    )
    assert check(layer, key, tlog="require", trust=rekor_trust).ok
    other = generate_key("p256")
    layer2 = SignatureLayer(
        payload,
        {
            "dev.cosignproject.cosign/signature": base64.b64encode(sig).decode(),
            BUNDLE_ANNOTATION: fake_rekor.bundle(sig, pem, payload),
        },
    )
    assert not check(layer2, other, tlog="require", trust=rekor_trust).ok


def test_non_string_annotation_values_fail_closed(cosign_key: KeyPair, rekor_trust: TrustStore) -> None:
    from dataclasses import replace

    layer = sign_image(cosign_key, DIGEST)
    numeric_sig = replace(layer, annotations={"dev.cosignproject.cosign/signature": 12345})  # type: ignore[dict-item]
    assert code_of(check(numeric_sig, cosign_key)) == Code.INVALID_SIGNATURE
    numeric_bundle = replace(layer, annotations={**layer.annotations, BUNDLE_ANNOTATION: 7})  # type: ignore[dict-item]
    assert code_of(check(numeric_bundle, cosign_key, tlog="require", trust=rekor_trust)) == Code.TLOG_INVALID
