"""notation-go's envelopes (MANIFEST.md F2): ca/sa, expired, plugin, timestamped JWS/COSE, metadata, malformed."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import cbor2
import pytest

from sigverify.formats.notation.timestamp import _as_response
from sigverify.models import Candidate, Code, Descriptor
from tests.notation.helpers import at, envelope_candidate, run

JWS, COSE = "application/jose+json", "application/cose"
DOCKER = "application/vnd.docker.distribution.manifest.v2+json"
MOCK_TARGET = Descriptor(DOCKER, "sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e", 528)
TS_TARGET = Descriptor(DOCKER, "sha256:c0669ef34cdc14332c0f1ab0c2c01acb91d96014b172f1a76f3a39e63d1f0bda", 528)
ALPINE = Descriptor(
    "application/vnd.oci.image.manifest.v1+json",
    "sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0",
    481,
)
NO_REVOCATION = {"revocation": "skip"}  # the GlobalSign TSA chain names CRL/OCSP endpoints; tests are offline


@pytest.fixture(scope="module")
def go(notation_vectors: Path) -> Path:
    return notation_vectors / "notation-go"


def mock(go: Path, name: str) -> Candidate:
    return envelope_candidate((go / "internal/mock/testdata" / name).read_bytes(), JWS, MOCK_TARGET.digest)


def ts_env(go: Path, name: str) -> Candidate:
    data = (go / "verifier/testdata/timestamp/sigEnv" / name).read_bytes()
    return envelope_candidate(data, JWS if data[:1] == b"{" else COSE, TS_TARGET.digest)


def store(go: Path, kind: str, name: str) -> str:
    return str(go / "verifier/testdata/truststore/x509" / kind / name)


def leaf_store(tmp_path: Path, cand: Candidate) -> str:
    """A trust store holding the envelope's own (self-signed) signing certificate."""
    if cand.layer.media_type == JWS:
        leaf = base64.b64decode(json.loads(cand.content)["header"]["x5c"][0])
    else:
        leaf = cbor2.loads(cand.content).value[1][33][0]
    path = tmp_path / "leaf.der"
    path.write_bytes(leaf)
    return str(path)


def test_ca_valid(go: Path) -> None:
    check = run(
        mock(go, "ca_valid_sig_env.json"),
        {"trust_store": store(go, "ca", "valid-trust-store"), "trusted_identities": ["*"]},
        MOCK_TARGET,
    )
    assert check.ok, check.reason
    assert check.details["expiry"] == "2120-11-09T07:00:00+00:00"
    assert check.details["checks"]["revocation"] == "passed"  # no certificate names an endpoint


def test_sa_valid(go: Path) -> None:
    cfg = {
        "trust_store": store(go, "signingAuthority", "valid-trust-store"),
        "signing_authority": True,
        "trusted_identities": ["x509.subject: C=US, ST=WA, L=Seattle, O=Notary"],
    }
    check = run(mock(go, "sa_valid_sig_env.json"), cfg, MOCK_TARGET)
    assert check.ok, check.reason
    assert check.details["signing_scheme"] == "notary.x509.signingAuthority"


@pytest.mark.parametrize(
    ("envelope", "signing_authority"),
    [("ca_valid_sig_env.json", True), ("sa_valid_sig_env.json", False)],
)
def test_signing_scheme_needs_the_matching_store_type(go: Path, envelope: str, signing_authority: bool) -> None:
    kind = "signingAuthority" if signing_authority else "ca"
    cfg = {
        "trust_store": store(go, kind, "valid-trust-store"),
        "signing_authority": signing_authority,
        "trusted_identities": ["*"],
    }
    check = run(mock(go, envelope), cfg, MOCK_TARGET)
    assert not check.ok
    assert check.reason is not None and check.reason.code == Code.CERTIFICATE_INVALID
    assert "signing_authority" in check.reason.message


@pytest.mark.parametrize("name", ["ca_invalid_sig_env.json", "sa_invalid_sig_env.json"])
@pytest.mark.parametrize("level", ["strict", "audit"])
def test_invalid_signature_fails_integrity(go: Path, name: str, level: str) -> None:
    kind = "signingAuthority" if name.startswith("sa") else "ca"
    cfg = {
        "trust_store": store(go, kind, "valid-trust-store"),
        "signing_authority": kind != "ca",
        "trusted_identities": ["*"],
        "level": level,
    }
    check = run(mock(go, name), cfg, MOCK_TARGET)
    assert not check.ok
    assert check.reason is not None and check.reason.code == Code.INVALID_SIGNATURE
    assert check.reason.message.startswith("integrity:")


@pytest.mark.parametrize("name", ["ca_expired_sig_env.json", "sa_expired_sig_env.json"])
def test_expired_envelopes(go: Path, name: str) -> None:
    sa = name.startswith("sa")
    cfg = {
        "trust_store": store(go, "signingAuthority" if sa else "ca", "valid-trust-store"),
        "signing_authority": sa,
        "trusted_identities": ["*"],
    }
    check = run(mock(go, name), cfg, MOCK_TARGET)
    assert not check.ok and check.reason is not None and check.reason.code == Code.EXPIRED
    check = run(mock(go, name), {**cfg, "level": "permissive"}, MOCK_TARGET)
    assert check.ok and check.details["logged_failures"][0]["code"] == Code.EXPIRED


@pytest.mark.parametrize(
    "name",
    [
        "ca_plugin_sig_env.json",
        "sa_plugin_sig_env.json",
        "ca_compatible_pluginver_sig_env_1.0.0.json",
        "ca_incompatible_pluginver_sig_env_1.2.3.json",
    ],
)
@pytest.mark.parametrize("level", ["strict", "audit"])
def test_plugin_and_unknown_critical_headers_are_refused(go: Path, name: str, level: str) -> None:
    sa = name.startswith("sa")
    cfg = {
        "trust_store": store(go, "signingAuthority" if sa else "ca", "valid-trust-store"),
        "signing_authority": sa,
        "trusted_identities": ["*"],
        "level": level,
    }
    check = run(mock(go, name), cfg, MOCK_TARGET)
    assert not check.ok
    assert check.reason is not None and check.reason.code == Code.UNSUPPORTED_FORMAT
    assert "critical header" in check.reason.message


def test_user_metadata(go: Path, tmp_path: Path) -> None:
    cand = mock(go, "sig_env_with_metadata.json")
    target = json.loads(base64.urlsafe_b64decode(json.loads(cand.content)["payload"] + "=="))["targetArtifact"]
    subject = Descriptor(target["mediaType"], target["digest"], target["size"])
    cand = envelope_candidate(cand.content, JWS, subject.digest)
    when = at("2023-01-11T18:30:00+00:00")  # the signing certificate is valid for one day
    cfg = {
        "trust_store": leaf_store(tmp_path, cand),
        "trusted_identities": ["*"],
        "metadata": {"io.wabbit-networks.buildId": "123"},
    }
    assert run(cand, cfg, subject, now=when).ok
    for wrong in ({"io.wabbit-networks.buildId": "124"}, {"io.wabbit-networks.other": "123"}):
        check = run(cand, {**cfg, "metadata": wrong}, subject, now=when)
        assert not check.ok and check.reason is not None and check.reason.code == Code.ANNOTATION_MISMATCH
    check = run(cand, cfg, subject)  # today the certificate has expired and there is no timestamp
    assert not check.ok and check.reason is not None and check.reason.code == Code.CERTIFICATE_INVALID


@pytest.mark.parametrize(("name", "media_type"), [("jws_signature.sig", JWS), ("cose_signature.sig", COSE)])
def test_alpine_jws_and_cose(go: Path, tmp_path: Path, name: str, media_type: str) -> None:
    cand = envelope_candidate((go / "internal/testdata" / name).read_bytes(), media_type, ALPINE.digest)
    cfg = {"trust_store": leaf_store(tmp_path, cand), "trusted_identities": ["x509.subject: C=US,ST=WA,O=Notary"]}
    check = run(cand, cfg, ALPINE)
    assert check.ok, check.reason
    assert check.details["envelope"] == ("jws" if media_type == JWS else "cose")
    assert check.signer == "CN=alpine,O=Notary,L=Seattle,ST=WA,C=US"


@pytest.mark.parametrize("name", ["jwsWithTimestamp.sig", "coseWithTimestamp.sig"])
def test_timestamped_with_tsa_store(go: Path, name: str) -> None:
    cfg = {
        "trust_store": store(go, "ca", "valid-trust-store"),
        "tsa_store": store(go, "tsa", "test-timestamp"),
        "trusted_identities": ["*"],
        "overrides": NO_REVOCATION,
    }
    check = run(ts_env(go, name), cfg, TS_TARGET)
    assert check.ok, check.reason
    assert check.details["timestamp"].startswith("2024-06-18T06:2")
    assert "Globalsign TSA" in check.details["timestamp_authority"]


def test_timestamped_strict_fails_revocation_offline(go: Path) -> None:
    """The TSA certificates name CRL and OCSP endpoints: strict cannot check them offline and fails."""
    cfg = {
        "trust_store": store(go, "ca", "valid-trust-store"),
        "tsa_store": store(go, "tsa", "test-timestamp"),
        "trusted_identities": ["*"],
    }
    check = run(ts_env(go, "jwsWithTimestamp.sig"), cfg, TS_TARGET)
    assert not check.ok
    assert check.reason is not None and check.reason.code == Code.REVOKED
    assert "crl.globalsign.com" in check.reason.message and "offline" in check.reason.message
    check = run(ts_env(go, "jwsWithTimestamp.sig"), {**cfg, "level": "permissive"}, TS_TARGET)
    assert check.ok
    assert check.details["logged_failures"][0]["code"] == Code.REVOKED


def test_timestamp_from_another_tsa_fails(go: Path) -> None:
    cfg = {
        "trust_store": store(go, "ca", "valid-trust-store"),
        "tsa_store": store(go, "tsa", "test-mismatch"),
        "trusted_identities": ["*"],
        "overrides": NO_REVOCATION,
    }
    check = run(ts_env(go, "coseWithTimestamp.sig"), cfg, TS_TARGET)
    assert not check.ok and check.reason is not None and check.reason.code == Code.CERTIFICATE_INVALID


@pytest.mark.parametrize("name", ["jwsExpiredWithTimestamp.sig", "coseExpiredWithTimestamp.sig"])
def test_expired_certificate_saved_by_timestamp(go: Path, tmp_path: Path, name: str) -> None:
    cand = ts_env(go, name)
    cfg = {"trust_store": leaf_store(tmp_path, cand), "trusted_identities": ["*"], "overrides": NO_REVOCATION}
    check = run(cand, cfg, TS_TARGET)
    assert not check.ok and check.reason is not None and check.reason.code == Code.CERTIFICATE_INVALID
    assert "expired" in check.reason.message
    check = run(cand, {**cfg, "tsa_store": store(go, "tsa", "test-timestamp")}, TS_TARGET)
    assert check.ok, check.reason
    for mode in ("always", "afterCertExpiry"):
        cfg2 = {**cfg, "tsa_store": store(go, "tsa", "test-timestamp"), "verify_timestamp": mode}
        assert run(cand, cfg2, TS_TARGET).ok


@pytest.mark.parametrize(
    ("name", "word"), [("timestampBeforeNotBefore.sig", "before"), ("timestampAfterNotAfter.sig", "after")]
)
def test_timestamp_outside_certificate_validity_fails(go: Path, tmp_path: Path, name: str, word: str) -> None:
    cand = ts_env(go, name)
    cfg = {
        "trust_store": leaf_store(tmp_path, cand),
        "tsa_store": store(go, "tsa", "test-timestamp"),
        "trusted_identities": ["*"],
        "overrides": NO_REVOCATION,
    }
    check = run(cand, cfg, TS_TARGET)
    assert not check.ok and check.reason is not None and check.reason.code == Code.CERTIFICATE_INVALID
    assert f"timestamp may be {word}" in check.reason.message


def test_timestamp_required_but_absent(go: Path) -> None:
    cfg = {
        "trust_store": store(go, "ca", "valid-trust-store"),
        "tsa_store": store(go, "tsa", "test-timestamp"),
        "trusted_identities": ["*"],
    }
    check = run(ts_env(go, "withoutTimestamp.sig"), cfg, TS_TARGET)
    assert not check.ok
    assert check.reason is not None and check.reason.code == Code.CERTIFICATE_INVALID
    assert "no timestamp countersignature" in check.reason.message
    # afterCertExpiry: the certificate is still valid, so no timestamp is needed
    assert run(ts_env(go, "withoutTimestamp.sig"), {**cfg, "verify_timestamp": "afterCertExpiry"}, TS_TARGET).ok
    # without a tsa store the timestamp is not used at all (notation's rule)
    del cfg["tsa_store"]
    assert run(ts_env(go, "withoutTimestamp.sig"), cfg, TS_TARGET).ok


@pytest.mark.parametrize(
    ("token", "parses"),
    [
        ("TimeStampToken.p7s", True),
        ("TimeStampTokenWithoutCertificate.p7s", True),
        ("TimeStampTokenWithInvalideContentType.p7s", False),
        ("TimeStampTokenWithInvalidTSTInfo.p7s", False),
    ],
)
def test_countersignature_token_parser(go: Path, token: str, parses: bool) -> None:
    data = (go / "verifier/testdata/timestamp/countersignature" / token).read_bytes()
    from rfc3161_client import decode_timestamp_response

    if parses:
        assert decode_timestamp_response(_as_response(data)).tst_info.version == 1
    else:
        with pytest.raises(Exception):  # noqa: B017 - asn1crypto / Rust parser errors vary
            decode_timestamp_response(_as_response(data)).tst_info  # noqa: B018 - the access parses


def test_malformed_envelope(notation_vectors: Path) -> None:
    data = (notation_vectors / "notation-e2e/test/e2e/testdata/signatures/malformed.jws.sig").read_bytes()
    for media_type in (JWS, COSE):
        check = run(
            envelope_candidate(data, media_type, ALPINE.digest),
            {
                "trust_store": str(notation_vectors / "notation-e2e/test/e2e/testdata/config/localkeys/e2e.crt"),
                "trusted_identities": ["*"],
            },
            ALPINE,
        )
        assert not check.ok and check.reason is not None and check.reason.code == Code.INVALID_SIGNATURE
        assert check.signer is None


@pytest.mark.parametrize("name", ["blob.jws.sig", "blob.cose.sig"])
def test_blob_signatures_parse_and_verify_cryptographically(notation_vectors: Path, name: str) -> None:
    """Detached blob signatures from notation's e2e data: the envelope and signature are sound (the blob and the
    TSA roots are not in the vectors, so only integrity is checked here)."""
    from sigverify.formats.notation.chain import parse_chain, validate_chain
    from sigverify.formats.notation.envelope import parse_payload, verify_signature
    from sigverify.formats.notation.envelope_cose import parse_cose
    from sigverify.formats.notation.envelope_jws import parse_jws

    data = (notation_vectors / "notation-e2e/test/e2e/testdata/signatures" / name).read_bytes()
    env = parse_jws(data) if name.endswith(".jws.sig") else parse_cose(data)
    chain = parse_chain(env.chain_der)
    verify_signature(env, chain[0])
    validate_chain(chain)
    target = parse_payload(env.payload)
    assert target.media_type == "application/octet-stream" and target.size == 11357
    assert env.timestamp_token is not None
    assert decode_timestamp_response_of(env.timestamp_token).tst_info.version == 1


def decode_timestamp_response_of(token: bytes):  # type: ignore[no-untyped-def]
    from rfc3161_client import decode_timestamp_response

    return decode_timestamp_response(_as_response(token))


def test_conformance_envelopes_with_an_extra_critical_header_are_refused(notation_vectors: Path) -> None:
    """notation-core-go's header-encoding conformance vectors mark `signedCritKey1` critical: a verifier that does
    not understand it must refuse the signature (sigverify runs no plugins)."""
    from sigverify.errors import Failure
    from sigverify.formats.notation.envelope_cose import parse_cose
    from sigverify.formats.notation.envelope_jws import parse_jws

    base = notation_vectors / "notation-core-go/signature"
    jws = (base / "jws/testdata/conformance.json").read_bytes()
    cose = bytes.fromhex(json.loads((base / "cose/testdata/conformance.json").read_text())["expectedOutput"]["cborHex"])
    for parse, data in ((parse_jws, jws), (parse_cose, cose)):
        with pytest.raises(Failure) as info:
            parse(data)
        assert info.value.code == Code.UNSUPPORTED_FORMAT
        assert "signedCritKey1" in info.value.message


@pytest.mark.parametrize(("skip_tsa_revocation", "ok"), [(False, False), (True, True)])
def test_trust_policy_file_with_tsa_store(go: Path, tmp_path: Path, skip_tsa_revocation: bool, ok: bool) -> None:
    """notation's trustpolicy.json over notation-go's own trust store directory (ca + tsa stores)."""
    sv: dict[str, object] = {"level": "strict"}
    if skip_tsa_revocation:
        sv["skipTimestampRevocationCheck"] = True
    policy = {
        "version": "1.0",
        "trustPolicies": [
            {
                "name": "timestamped",
                "registryScopes": ["*"],
                "signatureVerification": sv,
                "trustStores": ["ca:valid-trust-store", "tsa:test-timestamp"],
                "trustedIdentities": ["x509.subject: C=US, ST=WA, L=Seattle, O=Notary, CN=alpine"],
            }
        ],
    }
    path = tmp_path / "trustpolicy.json"
    path.write_text(json.dumps(policy))
    cfg = {"trust_policy": str(path), "trust_store_dir": str(go / "verifier/testdata/truststore")}
    check = run(ts_env(go, "coseWithTimestamp.sig"), cfg, TS_TARGET)
    assert check.ok is ok, check.reason
    if not ok:
        assert check.reason is not None and check.reason.code == Code.REVOKED
        assert "timestamping certificate" in check.reason.message
    else:
        assert check.details["trust_policy"] == "timestamped" and "timestamp" in check.details
