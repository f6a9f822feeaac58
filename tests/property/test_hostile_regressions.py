"""Each hostile input the property suite and the byte-flip sweep found, pinned with the exact reason it must get."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

import sigverify.formats as dispatch
from sigverify.crypto.strictjson import _STRING, MAX_DEPTH, PayloadError, depth_of, loads_strict
from sigverify.errors import ConfigError
from sigverify.formats.base import crash_reason
from sigverify.models import Code, Verdict
from sigverify.policy.loader import load_config_text
from tests.property import harness

DEEP = 200_000


def deep_json(n: int = DEEP) -> bytes:
    return b'{"a":' * n + b"1" + b"}" * n


# -- the one bounded strict JSON reader (crypto/strictjson.py) -------------------------------------------------


@pytest.mark.parametrize("doc", [b"[" * DEEP + b"]" * DEEP, deep_json(), b'{"x":' + b"[" * DEEP + b"]" * DEEP + b"}"])
def test_nesting_is_refused_before_parsing(doc: bytes) -> None:
    with pytest.raises(PayloadError, match=f"nested deeper than {MAX_DEPTH} levels"):
        loads_strict(doc)


def test_brackets_inside_strings_do_not_count() -> None:
    doc = json.dumps({"a": "[" * 500 + "\\\"{" * 100, "b": [[["]"]]]}).encode()
    assert depth_of(doc, 2) == 4
    assert loads_strict(doc)["b"] == [[["]"]]]


def test_unterminated_escaped_string_is_one_linear_match() -> None:
    """``"\\"\\"\\"...`` never closed: a required closing quote made every quote start a failed scan to the end
    (quadratic: 32 KiB took 17 s); the optional quote makes it one match to the end."""
    doc = b"[" * (MAX_DEPTH + 1) + b'"' + b'\\"' * 100_000
    match = _STRING.search(doc)
    assert match is not None and match.end() == len(doc)
    with pytest.raises(PayloadError, match="nested deeper"):
        loads_strict(doc)


def test_documents_over_the_cap_are_refused() -> None:
    with pytest.raises(PayloadError, match="larger than 16 bytes"):
        loads_strict(b'{"a": "0123456789"}', max_bytes=16)


@pytest.mark.parametrize("number", [b"1e999999", b"-1e400"])
def test_a_number_that_overflows_to_infinity_is_refused(number: bytes) -> None:
    """``1e999999`` parsed as float('inf'): Infinity by another spelling, refused like the constant."""
    with pytest.raises(PayloadError, match="out of range"):
        loads_strict(b'{"a":' + number + b"}")


def test_huge_integer_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="not valid JSON"):
        loads_strict(b'{"a":' + b"9" * 100_000 + b"}")


# -- notation envelopes and trust policies -----------------------------------------------------------------------


def test_deep_jws_envelope_is_invalid_signature(tmp_path: Path) -> None:
    auths = harness.authorities(tmp_path)
    from sigverify.crypto.trustroot import TrustStore

    checks = harness.verify_all(deep_json(), {}, auths, TrustStore("embedded"))
    jws = next(c for c in checks if c.format == "notation")
    assert jws.reason is not None and jws.reason.code == Code.INVALID_SIGNATURE
    assert f"nested deeper than {MAX_DEPTH} levels" in jws.reason.message
    for check in checks:
        harness.assert_refused(check)


def test_deep_notation_trust_policy_is_a_configuration_error(tmp_path: Path) -> None:
    from sigverify.formats.notation.trustpolicy import _load_document

    path = tmp_path / "trustpolicy.json"
    path.write_bytes(b'{"version":"1.0","trustPolicies":' + b"[" * DEEP + b"]" * DEEP + b"}")
    with pytest.raises(ConfigError, match="nested deeper"):
        _load_document(str(path), path.stat().st_mtime_ns)


# -- the configuration loader ------------------------------------------------------------------------------------


def test_huge_integer_in_the_config_is_a_configuration_error(tmp_path: Path) -> None:
    text = "version: 1\nimages: [a.test/b:c]\npolicies: []\ndefault: allow\nconcurrency: " + "9" * 5000 + "\n"
    with pytest.raises(ConfigError) as info:
        load_config_text(text, filename="big.yaml", base_dir=tmp_path)
    problem = next(p for p in info.value.problems if "number too large" in p.message)
    assert (problem.file, problem.line, problem.found) == ("big.yaml", 5, "5000 characters")


# -- the last resort: exhausted recursion or memory is RESOURCE_LIMIT, never INTERNAL_ERROR / exit 3 ---------


@pytest.mark.parametrize("exc", [RecursionError("maximum recursion depth exceeded"), MemoryError()])
def test_crash_reason_names_resource_exhaustion(exc: BaseException) -> None:
    reason = crash_reason(exc, "bundle verification", "a")
    assert reason.code == Code.RESOURCE_LIMIT and reason.authority == "a"
    assert type(exc).__name__ in reason.message


def test_crash_reason_keeps_internal_error_for_bugs() -> None:
    assert crash_reason(ZeroDivisionError("x"), "v").code == Code.INTERNAL_ERROR


class _Exhausting:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def verify(self, *args: object) -> object:
        raise self.exc


def _signed_layout(tmp_path: Path) -> Path:
    """A layout whose image has one `.sig` manifest (the verifier under test decides its fate)."""
    from tests.fixtures.cosign_sign import sign_image, signature_manifest

    manifest, blobs = harness.image_manifest()
    digest = harness.sha256(manifest)
    sig = signature_manifest(digest, [sign_image(harness.KEY, digest)])
    tag = "sha256-" + digest.split(":", 1)[1] + ".sig"
    harness.write_layout(tmp_path / "layout", [manifest, *blobs, sig.manifest, *sig.blobs.values()],
                         harness.index_of((manifest, harness.OCI_MANIFEST, "v1"), (sig.manifest, sig.media_type, tag)))
    return harness.gate_config(tmp_path)


@pytest.mark.parametrize("exc", [RecursionError("maximum recursion depth exceeded"), MemoryError()])
def test_verifier_exhaustion_fails_the_image_with_resource_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: BaseException
) -> None:
    config = _signed_layout(tmp_path)
    monkeypatch.setitem(dispatch._loaded, "sigverify.formats.cosign_sig.key:VERIFIER", _Exhausting(exc))
    result = harness.run_gate(config)
    assert result.exit_code == 1
    (img,) = result.images
    assert img.verdict is Verdict.FAIL
    codes = {c.reason.code for c in img.signatures if c.reason}
    assert Code.RESOURCE_LIMIT in codes and Code.INTERNAL_ERROR not in codes


@pytest.mark.parametrize("exc", [RecursionError("maximum recursion depth exceeded"), MemoryError()])
def test_gate_exhaustion_is_an_error_verdict_not_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: BaseException
) -> None:
    config = _signed_layout(tmp_path)

    def exhausted(*args: object, **kwargs: object) -> object:
        raise exc

    monkeypatch.setattr("sigverify.gate.discover", exhausted)
    result = harness.run_gate(config)
    (img,) = result.images
    assert img.verdict is Verdict.ERROR and [r.code for r in img.reasons] == [Code.RESOURCE_LIMIT]
    assert result.exit_code == 1


def test_a_genuine_bug_is_still_internal_error_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _signed_layout(tmp_path)

    def bug(*args: object, **kwargs: object) -> object:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("sigverify.gate.discover", bug)
    result = harness.run_gate(config)
    assert [r.code for r in result.images[0].reasons] == [Code.INTERNAL_ERROR]
    assert result.exit_code == 3


def test_the_signed_layout_passes_untouched(tmp_path: Path) -> None:
    """The control: the same layout with the real verifier passes, so the failures above are the exhaustion's."""
    result = harness.run_gate(_signed_layout(tmp_path))
    assert result.exit_code == 0, result.to_dict()


def test_deep_rekor_entry_body_is_tlog_invalid(tmp_path: Path) -> None:
    """An attestation whose Rekor entry body (SET-signed by the trusted log) is nested 200,000 deep: the body is
    read with the bounded reader, so the answer is TLOG_INVALID, never a RecursionError / INTERNAL_ERROR."""
    from sigverify.crypto.dsse import pae
    from sigverify.crypto.intoto import INTOTO_PAYLOAD_TYPE
    from sigverify.crypto.trustroot import TrustStore
    from sigverify.formats.cosign_att import VERIFIER
    from sigverify.models import Candidate, Descriptor, Format
    from sigverify.policy.model import Authority, KeyRef, Location
    from tests.fixtures.cosign_sign import FakeRekor

    rekor = FakeRekor()
    root = rekor.write_trusted_root(tmp_path / "trusted_root.json")
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://example.test/p",
                            "subject": [{"name": "x", "digest": {"sha256": harness.SUBJECT.split(":")[1]}}],
                            "predicate": {}}).encode()
    signature = harness.KEY.sign(pae(INTOTO_PAYLOAD_TYPE, statement))
    envelope = json.dumps({"payloadType": INTOTO_PAYLOAD_TYPE, "payload": base64.b64encode(statement).decode(),
                           "signatures": [{"keyid": "", "sig": base64.b64encode(signature).decode()}]}).encode()
    bundle = rekor.bundle(signature, harness.KEY.public_pem, statement, body=deep_json())
    layer = Descriptor("application/vnd.dsse.envelope.v1+json", harness.sha256(envelope), len(envelope),
                       {"dev.sigstore.cosign/bundle": bundle})
    cand = Candidate(Format.COSIGN_ATTESTATION, "property", harness.SUBJECT, "sha256:" + "0" * 64, layer, envelope)
    authority = Authority("key", Location("p.yaml", 1), key=KeyRef("p.pub", pem=harness.KEY.public_pem))
    check = VERIFIER.verify(cand, authority, harness.context(TrustStore(str(root))))
    assert not check.ok and check.reason is not None
    assert check.reason.code == Code.TLOG_INVALID, check.reason


# -- found by the byte-flip sweep ---------------------------------------------------------------------------------


def test_log_entry_naming_no_trusted_log_is_tlog_invalid(vectors: Path) -> None:
    """A Rekor v2 entry whose logId was flipped still verified: sigstore-python treats the ID as a hint and tries
    every key, so the validity window check keyed on it was skipped. Now the ID must name a log of the root."""
    from sigverify.crypto.trustroot import TrustStore
    from sigverify.formats.blob import read_blob_input, verify_blob
    from sigverify.policy.model import KeylessIdentity, Pattern

    case = vectors / "sigstore-conformance/test/assets/bundle-verify/rekor2-happy-path"
    doc = json.loads((case / "bundle.sigstore.json").read_bytes())
    identity = KeylessIdentity(issuer=Pattern(".*", regexp=True), subject=Pattern(".*", regexp=True))
    trust = TrustStore(str(case / "trusted_root.json"))
    artifact = read_blob_input(str(case.parent / "a.txt"))
    assert verify_blob(artifact, trust=trust, bundle=json.dumps(doc).encode(), identity=identity).ok  # control
    key_id = bytearray(base64.b64decode(doc["verificationMaterial"]["tlogEntries"][0]["logId"]["keyId"]))
    key_id[5] ^= 0x01  # the 4-byte checkpoint key hint is unchanged
    doc["verificationMaterial"]["tlogEntries"][0]["logId"]["keyId"] = base64.b64encode(bytes(key_id)).decode()
    check = verify_blob(artifact, trust=trust, bundle=json.dumps(doc).encode(), identity=identity)
    assert not check.ok and check.reason is not None
    assert check.reason.code == Code.TLOG_INVALID and "names no transparency log" in check.reason.message


# -- found by the property suite ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("section", "entry"), [
    ("tlogs", {"baseUrl": "https://rekor.test", "publicKey": {"rawBytes": "AAAA", "keyDetails": "PKIX_ED25519"},
               "logId": {"keyId": "AAAA"}}),
    ("ctlogs", {"publicKey": {"rawBytes": "AAAA", "validFor": {"end": "2030-01-01T00:00:00Z"}}}),
    ("certificateAuthorities", {"certChain": {"certificates": []}}),
    ("timestampAuthorities", {"certChain": {"certificates": []}, "validFor": {}}),
])
def test_a_trusted_root_key_without_validity_start_is_a_configuration_error(
    section: str, entry: dict[str, object], tmp_path: Path
) -> None:
    """A key with no validFor.start was loaded with no lower bound (trusted for signatures made at any time)."""
    from sigverify.crypto.trustroot import TrustStore

    path = tmp_path / "trusted_root.json"
    path.write_text(json.dumps({"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
                                section: [entry]}))
    store = TrustStore(str(path))
    with pytest.raises(ConfigError) as info:
        store.rekor_keys() + store.ctlog_keys()
    (problem,) = info.value.problems
    assert problem.key == f"{section}[0]" and "validFor.start" in problem.message and problem.found == "none"


def test_the_registry_reads_manifests_with_the_one_bounded_reader() -> None:
    """A manifest too deep to parse, followed by an unterminated escaped string, is refused with the depth reason
    through the registry layer's parser (once a reader of its own, now crypto.strictjson)."""
    from sigverify.errors import RegistryError
    from sigverify.registry.content import parse_manifest

    doc = b"[" * (MAX_DEPTH + 1) + b'"' + b'\\"' * 2_000
    with pytest.raises((RegistryError, PayloadError)) as info:
        parse_manifest(doc, "application/vnd.oci.image.manifest.v1+json", "manifest of example")
    assert f"deeper than {MAX_DEPTH} levels" in str(info.value)


@pytest.mark.parametrize("doc", [b'{"images":' + b"[" * DEEP + b"]" * DEEP + b"}", b'{"images":[],"images":[]}',
                                 b'{"images": [], "summary": {"exit_code": 1e999999}}'])
def test_a_hostile_shard_report_is_a_configuration_error(doc: bytes, tmp_path: Path) -> None:
    """`sigverify merge` read reports with json.load: a 200,000-deep one was a RecursionError (exit 3)."""
    from sigverify.merge import merge_reports

    path = tmp_path / "shard.json"
    path.write_bytes(doc)
    with pytest.raises(ConfigError) as info:
        merge_reports([str(path)])
    assert info.value.problems[0].file == str(path) and "cannot merge" in info.value.problems[0].message
