"""Property (b): hostile input never passes, never exits 3, never raises. Every generated document goes through the
real entry points: the format verifiers of the table, the gate over an OCI layout on disk, the config loader and
the trusted-root reader. The answer is always a refusal with a named reason (or a configuration error)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigverify.crypto.strictjson import MAX_DEPTH, PayloadError, depth_of, loads_strict
from sigverify.crypto.trustroot import TrustStore
from sigverify.errors import ConfigError
from sigverify.policy.loader import load_config_text
from sigverify.policy.model import Authority
from tests.property import harness
from tests.property import strategies as s

BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"
SIG_ANNOTATION = "dev.cosignproject.cosign/signature"
CERT_ANNOTATION = "dev.sigstore.cosign/certificate"


@pytest.fixture(scope="module")
def auths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Authority]:
    return harness.authorities(tmp_path_factory.mktemp("auth"))


@pytest.fixture(scope="module")
def trust() -> TrustStore:
    return TrustStore("embedded")


documents = st.one_of(
    s.hostile_json(s.envelopes), s.hostile_json(s.bundles), s.hostile_json(s.jws_envelopes), s.cose_envelopes(),
    s.hostile_json(s.statements), s.hostile_json(s.manifests), st.binary(max_size=300),
)
annotations = st.fixed_dictionaries({}, optional={
    SIG_ANNOTATION: st.binary(max_size=80).map(s.b64) | s.texts,
    BUNDLE_ANNOTATION: s.hostile_json(s.json_values).map(lambda b: b.decode("utf-8", "replace")) | s.texts,
    CERT_ANNOTATION: s.texts | st.just("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
})


@settings(max_examples=s.examples(250))
@given(content=documents, layer_annotations=annotations)
def test_every_verifier_refuses_hostile_content(content: bytes, layer_annotations: dict[str, str],
                                                auths: dict[str, Authority], trust: TrustStore) -> None:
    for check in harness.verify_all(content, layer_annotations, auths, trust):
        harness.assert_refused(check)


@settings(max_examples=s.examples(40))
@given(statement=s.hostile_json(s.statements), payload_type=st.just(s.INTOTO) | s.texts)
def test_a_signed_hostile_statement_is_refused(statement: bytes, payload_type: str,
                                               auths: dict[str, Authority], trust: TrustStore) -> None:
    """A DSSE envelope correctly signed by the authority's key over a hostile statement: the signature verifies,
    the statement parser must still refuse (or the statement does not name the image)."""
    from sigverify.crypto.dsse import pae

    sig = harness.KEY.sign(pae(payload_type, statement))
    envelope = json.dumps({"payloadType": payload_type, "payload": s.b64(statement),
                           "signatures": [{"keyid": "", "sig": s.b64(sig)}]}).encode()
    for check in harness.verify_all(envelope, {}, auths, trust):
        harness.assert_refused(check)


@settings(max_examples=s.examples(40))
@given(payload=s.hostile_json(s.json_values) | s.hostile_json(st.fixed_dictionaries(
    {"critical": st.fixed_dictionaries({"identity": s.json_values, "image": s.json_values, "type": s.texts}),
     "optional": s.json_values})))
def test_a_signed_hostile_simple_signing_payload_is_refused(payload: bytes, auths: dict[str, Authority],
                                                            trust: TrustStore) -> None:
    """A `.sig` payload correctly signed by the authority's key but hostile or bound to no image: refused."""
    sig = harness.KEY.sign(payload)
    for check in harness.verify_all(payload, {SIG_ANNOTATION: s.b64(sig)}, auths, trust):
        harness.assert_refused(check)


# -- the gate over an OCI layout ----------------------------------------------------------------------------------

layout_parts = st.sampled_from(["index", "image", "sig-manifest", "sig-layer", "referrers", "referrer-manifest",
                                "referrer-layer", "oci-layout"])


@st.composite
def hostile_layouts(draw: st.DrawFn) -> tuple[str, bytes, str]:
    part = draw(layout_parts)
    template = {"index": s.indexes, "image": s.manifests, "sig-manifest": s.manifests, "referrers": s.referrers_replies,
                "referrer-manifest": s.manifests, "oci-layout": s.json_values}.get(part)
    if template is not None:
        doc = draw(s.hostile_json(template))
    else:
        doc = draw(st.one_of(s.hostile_json(s.bundles), s.hostile_json(s.jws_envelopes), s.cose_envelopes(),
                             s.hostile_json(s.envelopes), st.binary(max_size=200)))
    media_type = draw(st.sampled_from(s.MEDIA_TYPES))
    return part, doc, media_type


def write_hostile_layout(root: Path, part: str, doc: bytes, media_type: str) -> Path:
    """A layout with a real image tagged v1, whose chosen part is the hostile document."""
    manifest, blobs = harness.image_manifest()
    image_mt = harness.OCI_MANIFEST
    if part == "image":
        manifest, image_mt = doc, media_type
    digest = harness.sha256(manifest)
    hexd = digest.split(":", 1)[1]
    entries: list[tuple[bytes, str, str | None]] = [(manifest, image_mt, "v1")]
    extra: list[bytes] = []
    if part in ("sig-manifest", "sig-layer"):
        layer = doc if part == "sig-layer" else b"{}"
        sig = doc if part == "sig-manifest" else json.dumps({
            "schemaVersion": 2, "mediaType": harness.OCI_MANIFEST,
            "config": harness.descriptor(b"{}", "application/vnd.oci.image.config.v1+json"),
            "layers": [harness.descriptor(layer, media_type, annotations={SIG_ANNOTATION: "MEUCIQ=="})]}).encode()
        entries.append((sig, harness.OCI_MANIFEST, f"sha256-{hexd}.sig"))
        extra += [sig, layer, b"{}"]
    if part in ("referrers", "referrer-manifest", "referrer-layer"):
        layer = doc if part == "referrer-layer" else b"{}"
        ref = doc if part == "referrer-manifest" else json.dumps({
            "schemaVersion": 2, "mediaType": harness.OCI_MANIFEST, "artifactType": media_type,
            "config": harness.descriptor(b"{}", "application/vnd.oci.empty.v1+json"),
            "layers": [harness.descriptor(layer, media_type)],
            "subject": harness.descriptor(manifest, image_mt)}).encode()
        reply = doc if part == "referrers" else json.dumps(
            {"schemaVersion": 2, "mediaType": s.OCI_INDEX,
             "manifests": [harness.descriptor(ref, harness.OCI_MANIFEST, artifactType=media_type)]}).encode()
        entries += [(reply, s.OCI_INDEX, f"sha256-{hexd}"), (ref, harness.OCI_MANIFEST, None)]
        extra += [reply, ref, layer, b"{}"]
    index: bytes | dict[str, object] = doc if part == "index" else harness.index_of(*entries)
    oci_layout = doc if part == "oci-layout" else b'{"imageLayoutVersion":"1.0.0"}'
    harness.write_layout(root / "layout", [manifest, *blobs, *extra], index, oci_layout)
    return harness.gate_config(root)


@settings(max_examples=s.examples(120))
@given(case=hostile_layouts())
def test_the_gate_refuses_hostile_layouts(case: tuple[str, bytes, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = harness.run_gate(write_hostile_layout(Path(tmp), *case))
    harness.assert_gate_refused(result)


@pytest.mark.parametrize("part", ["index", "image", "sig-manifest", "sig-layer", "referrers", "referrer-manifest",
                                  "referrer-layer"])
@pytest.mark.parametrize("kind", ["[", "{"])
def test_the_gate_refuses_200000_deep_documents_everywhere(part: str, kind: str, tmp_path: Path) -> None:
    doc = s.deep(200_000, kind)
    result = harness.run_gate(write_hostile_layout(tmp_path, part, doc, "application/vnd.dsse.envelope.v1+json"))
    harness.assert_gate_refused(result)


# -- the config loader and trusted roots ----------------------------------------------------------------------------


@settings(max_examples=s.examples(250))
@given(text=s.policy_configs())
def test_the_config_loader_answers_config_or_configuration_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            config = load_config_text(text, filename="property.yaml", base_dir=Path(tmp))
        except ConfigError as exc:
            assert exc.problems and all(p.file == "property.yaml" and p.message for p in exc.problems)
        else:
            assert config.policies or config.default == "allow"


@settings(max_examples=s.examples(20))
@given(data=st.binary(max_size=200))
def test_the_config_loader_refuses_invalid_utf8_as_a_configuration_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.yaml"
        path.write_bytes(b"version: 1\nimages: ['\xff" + data + b"']\n")
        from sigverify.policy.loader import load_config

        with pytest.raises(ConfigError):
            load_config(path)


@settings(max_examples=s.examples(150))
@given(doc=s.hostile_json(s.trusted_roots))
def test_a_trusted_root_loads_or_is_a_configuration_error(doc: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trusted_root.json"
        path.write_bytes(doc)
        store = TrustStore(str(path))
        try:
            keys = store.rekor_keys() + store.ctlog_keys()
        except ConfigError as exc:
            assert exc.problems
            return
    for key in keys:  # a key is accepted only with the start of its validity (valid forever is refused)
        assert key.valid_from is not None, key


# -- the bounded reader itself ---------------------------------------------------------------------------------


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, Mapping):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=s.examples(200))
@given(value=s.json_values, noise=st.text(alphabet='[]{}"\\', max_size=30))
def test_depth_is_measured_exactly_strings_ignored(value: object, noise: str) -> None:
    """The pre-parse depth scan agrees with the real nesting, whatever brackets and escapes strings hold."""
    doc = json.dumps([value, noise, {"k" + noise: [noise]}]).encode()
    assert depth_of(doc, -1) == _depth(json.loads(doc))


@settings(max_examples=s.examples(100))
@given(doc=s.hostile_json(s.json_values))
def test_the_bounded_reader_only_raises_payload_errors(doc: bytes) -> None:
    try:
        value = loads_strict(doc)
    except PayloadError as exc:
        assert exc.message
    else:
        assert _depth(value) <= MAX_DEPTH + 1


ber_tokens = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(s.DEEP).map(lambda n: b"\x30\x80" * n + b"\x00\x00" * n),  # indefinite-length BER nesting
    st.integers(1, 2000).map(lambda n: b"\x30\x82\xff\xff" * n),  # lengths that promise more than there is
)


@settings(max_examples=s.examples(30))
@given(token=ber_tokens)
def test_a_hostile_countersignature_on_a_real_signature_is_refused(token: bytes) -> None:
    """The timestamp token sits in the unsigned JWS header: anyone can replace it on a real, trusted signature.
    A hostile token (deep BER, lying lengths, random bytes) is refused with a named reason, never a crash."""
    from tests.fixtures.vectors import missing, vectors_root
    from tests.notation.helpers import envelope_candidate, run

    go = vectors_root() / "notation/notation-go"
    if not go.is_dir():
        missing("the shared test vectors", "Set SIGVERIFY_VECTORS or check out ../shared/vectors.")
    doc = json.loads((go / "verifier/testdata/timestamp/sigEnv/jwsWithTimestamp.sig").read_bytes())
    doc["header"]["io.cncf.notary.timestampSignature"] = s.b64(token)
    from sigverify.models import Descriptor

    target = Descriptor("application/vnd.docker.distribution.manifest.v2+json",
                        "sha256:c0669ef34cdc14332c0f1ab0c2c01acb91d96014b172f1a76f3a39e63d1f0bda", 528)
    store = go / "verifier/testdata/truststore/x509"
    cfg = {"trust_store": str(store / "ca/valid-trust-store"), "tsa_store": str(store / "tsa/test-timestamp"),
           "trusted_identities": ["*"], "overrides": {"revocation": "skip"}}
    check = run(envelope_candidate(json.dumps(doc).encode(), "application/jose+json", target.digest), cfg, target)
    harness.assert_refused(check)
