"""Property (a): mutated signed material never passes. Start from real signed material (the passing vectors of
../shared/vectors, tests/fuzz/corpus.py; a cosign `.sig` layer made by tests/fixtures/cosign_sign.py; keyless
bundles made by the local test Sigstore), mutate it (bytes, slices, JSON structure), verify again: the verdict is
never pass unless the mutation changed nothing that is verified (the classes of tests/fuzz/README.md)."""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sigverify.crypto.trustroot import TrustStore
from sigverify.formats.blob import read_blob_input, verify_blob
from sigverify.models import Candidate, Descriptor, Format
from sigverify.policy.model import KeylessIdentity, Pattern
from tests.fixtures.cosign_sign import generate_key, sign_image, verify_candidate
from tests.fixtures.testsigstore import GITHUB_ISSUER, WORKFLOW, TestSigstore, statement
from tests.fixtures.vectors import missing, vectors_root
from tests.fuzz.corpus import SAME, Fields, Vector, _bundle_explainer, passing_vectors
from tests.property import strategies as s


def _classic_made() -> Vector:
    """A `cosign sign --key` layer (cosign_sign.py), verified by the `.sig` key verifier."""
    key = generate_key("p256")
    digest = "sha256:" + hashlib.sha256(b"property image").hexdigest()
    layer = sign_image(key, digest, annotations={"env": "prod"})
    fields = {"payload": layer.payload, "signature": layer.annotations["dev.cosignproject.cosign/signature"].encode()}

    def verify(f: Fields) -> bool:
        try:
            ann = {"dev.cosignproject.cosign/signature": f["signature"].decode()}
        except UnicodeDecodeError:
            return False
        desc = Descriptor(layer.media_type, "sha256:" + hashlib.sha256(f["payload"]).hexdigest(), len(f["payload"]),
                          ann)
        cand = Candidate(Format.COSIGN_CLASSIC, "made", digest, "sha256:" + "0" * 64, desc, f["payload"])
        return verify_candidate(cand, key_pem=key.public_pem, digest=digest, annotations={"env": "prod"}).ok

    def explain(field: str, a: bytes, b: bytes) -> str | None:
        if field == "signature":
            try:
                same = base64.b64decode(a, validate=True) == base64.b64decode(b, validate=True)
            except ValueError:
                return None
            return SAME if same else None
        return SAME if a == b else None

    return Vector("made-cosign-key", fields, verify, explain)


def _sigstore_made(directory: Path) -> list[Vector]:
    """Keyless bundles from the local test Sigstore (testsigstore.py): a message signature and a DSSE statement."""
    sigstore = TestSigstore()
    trust = TrustStore(str(sigstore.write_trusted_root(directory)))
    identity = KeylessIdentity(issuer=Pattern(GITHUB_ISSUER), subject=Pattern(WORKFLOW))
    artifact = b"property artifact\n"
    out = []
    for name, bundle in (
        ("made-blob-bundle", sigstore.blob_bundle(artifact)),
        ("made-dsse-bundle", sigstore.dsse_bundle(statement(hashlib.sha256(artifact).hexdigest()))),
    ):
        fields = {"bundle": bundle, "artifact": artifact}

        def verify(f: Fields) -> bool:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "artifact"
                path.write_bytes(f["artifact"])
                return verify_blob(read_blob_input(str(path)), trust=trust, bundle=f["bundle"], identity=identity).ok

        out.append(Vector(name, fields, verify, _bundle_explainer(
            lambda doc, fields=fields, verify=verify: verify({**fields, "bundle": doc}))))
    return out


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> list[Vector]:
    root = vectors_root()
    vectors = passing_vectors(root) if (root / "MANIFEST.md").is_file() else []
    if not vectors:
        missing("the shared test vectors", "Set SIGVERIFY_VECTORS or check out ../shared/vectors.")
    made = [_classic_made(), *_sigstore_made(tmp_path_factory.mktemp("sigstore"))]
    for vector in made:
        assert vector.verify(vector.fields), f"{vector.name} must verify untouched"
    return vectors + made


def _json_mutations(draw: st.DrawFn, data: bytes) -> bytes:
    """Structural mutations of a JSON document: a leaf replaced, a key dropped, a key duplicated."""
    doc = json.loads(data)
    paths: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                paths.append((node, k))
                walk(v)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                paths.append((node, i))
                walk(v)

    walk(doc)
    if not paths:
        return data + b" "
    parent, key = draw(st.sampled_from(paths))
    action = draw(st.sampled_from(["replace", "drop", "dup"]))
    if action == "replace":
        parent[key] = draw(s.json_values)
    elif action == "drop":
        del parent[key]
    elif isinstance(parent, dict):  # a second value under the same key, first: parsers disagree on which wins
        text = json.dumps(doc)
        return text.replace(json.dumps(key) + ":", json.dumps(key) + ":" + json.dumps(draw(s.json_values)) + ", "
                            + json.dumps(key) + ":", 1).encode()
    return json.dumps(doc).encode()


@st.composite
def mutations(draw: st.DrawFn, data: bytes) -> bytes:
    kind = draw(st.sampled_from(["flip", "flip", "insert", "delete", "truncate", "repeat", "json"]))
    out = bytearray(data)
    if kind == "flip":
        for _ in range(draw(st.integers(1, 4))):
            out[draw(st.integers(0, len(out) - 1))] ^= draw(st.integers(1, 255))
    elif kind == "insert":
        at = draw(st.integers(0, len(out)))
        out[at:at] = draw(st.binary(min_size=1, max_size=8))
    elif kind == "delete":
        at = draw(st.integers(0, len(out) - 1))
        del out[at:at + draw(st.integers(1, 16))]
    elif kind == "truncate":
        del out[draw(st.integers(0, len(out) - 1)):]
    elif kind == "repeat":
        at = draw(st.integers(0, len(out) - 1))
        out[at:at] = out[at:at + draw(st.integers(1, 32))]
    else:
        try:
            return _json_mutations(draw, data)
        except ValueError:
            out += b"\x00"
    return bytes(out)


@settings(max_examples=s.examples(500))
@given(data=st.data())
def test_mutated_signed_material_never_passes(material: list[Vector], data: st.DataObject) -> None:
    vector = data.draw(st.sampled_from(material))
    field = data.draw(st.sampled_from(sorted(vector.fields)))
    original = vector.fields[field]
    mutated = data.draw(mutations(original))
    assume(mutated != original)
    if vector.verify({**vector.fields, field: mutated}):
        assert vector.explain(field, original, mutated), f"{vector.name}: mutated {field} still verifies"
