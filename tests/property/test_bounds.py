"""Property (c): the size and count bounds hold, measured with counters (bytes read, parser and verifier calls),
never with a wall clock: content over a cap is refused before it is read or parsed, counts over a bound before
anything is verified, and the work per image is at most one verification per layer and authority."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sigverify.formats as dispatch
from sigverify.crypto import strictjson
from sigverify.crypto.strictjson import MAX_DEPTH, PayloadError, loads_strict
from sigverify.models import Code, RunResult
from sigverify.registry.base import MAX_BLOB_BYTES, MAX_LAYERS, MAX_MANIFEST_BYTES, MAX_REFERRERS
from tests.fixtures.cosign_sign import sign_image
from tests.property import harness
from tests.property import strategies as s

SIG = "application/vnd.dev.cosign.simplesigning.v1+json"


@contextmanager
def parser_calls() -> Iterator[list[int]]:
    """The sizes of the documents the JSON parser is asked to parse, while the block runs."""
    sizes: list[int] = []
    real = json.loads

    def counting(text: Any, *args: Any, **kwargs: Any) -> Any:
        sizes.append(len(text))
        return real(text, *args, **kwargs)

    with mock.patch.object(strictjson.json, "loads", counting):
        yield sizes


@settings(max_examples=s.examples(150))
@given(doc=s.hostile_json(s.json_values), cap=st.integers(min_value=1, max_value=300))
def test_documents_over_a_bound_are_never_parsed(doc: bytes, cap: int) -> None:
    with parser_calls() as sizes:
        try:
            loads_strict(doc, max_bytes=cap)
        except PayloadError as exc:
            if len(doc) > cap:
                assert "larger than" in exc.message
            elif strictjson.depth_of(doc, MAX_DEPTH) > MAX_DEPTH:
                assert "nested deeper" in exc.message
    if len(doc) > cap or strictjson.depth_of(doc, MAX_DEPTH) > MAX_DEPTH:
        assert sizes == []  # refused before the parser saw a byte
    else:
        assert len(sizes) <= 1 and all(n <= cap for n in sizes)


def _reference_depth(data: bytes) -> int:
    """The nesting depth by a byte-at-a-time state machine (strings and escapes followed exactly)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return deepest


@settings(max_examples=s.examples(300))
@given(doc=st.lists(st.sampled_from([b"[", b"]", b"{", b"}", b'"', b"\\", b"a", b":", b",", b"\xff", b"[" * 70]),
                    max_size=120).map(b"".join))
def test_the_linear_depth_scan_agrees_with_a_state_machine(doc: bytes) -> None:
    """The scan (one regex pass that blanks strings, an unterminated one to the end, then a running sum) gives the
    depth a byte-at-a-time reader gives, on any mix of brackets, quotes and escapes."""
    assert strictjson.depth_of(doc, -1) == _reference_depth(doc)


# -- the gate over layouts at and over the bounds ---------------------------------------------------------------


@contextmanager
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Count verifier calls (per format) and bytes read from layout files while the gate runs."""
    calls: Counter[str] = Counter()
    for target in list(dispatch.VERIFIERS.values()):
        module_name, attr = target.split(":")
        real = dispatch.verifier_for(*next(k for k, v in dispatch.VERIFIERS.items() if v == target))
        assert real is not None

        class Counting:
            def __init__(self, inner: Any, name: str) -> None:
                self.inner, self.name = inner, name

            def verify(self, candidate: Any, authority: Any, ctx: Any) -> Any:
                calls[f"verify {candidate.format}"] += 1
                return self.inner.verify(candidate, authority, ctx)

        monkeypatch.setitem(dispatch._loaded, target, Counting(real, f"{module_name}:{attr}"))
    import os

    real_read = os.read

    def reading(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        calls["bytes read"] += len(data)
        return data

    monkeypatch.setattr("sigverify.registry.layout.os.read", reading)
    yield calls


def _layout_with_signature(root: Path, layers: list[dict[str, Any]], blobs: list[bytes]) -> Path:
    manifest, image_blobs = harness.image_manifest()
    digest = harness.sha256(manifest)
    sig = json.dumps({"schemaVersion": 2, "mediaType": harness.OCI_MANIFEST,
                      "config": harness.descriptor(b"{}", "application/vnd.oci.image.config.v1+json"),
                      "layers": layers}).encode()
    tag = "sha256-" + digest.split(":", 1)[1] + ".sig"
    harness.write_layout(root / "layout", [manifest, *image_blobs, sig, b"{}", *blobs],
                         harness.index_of((manifest, harness.OCI_MANIFEST, "v1"), (sig, harness.OCI_MANIFEST, tag)))
    return harness.gate_config(root)


def _codes(result: RunResult) -> set[str]:
    img = result.images[0]
    return {r.code for r in img.reasons} | {c.reason.code for c in img.signatures if c.reason}


def test_a_signature_blob_over_the_cap_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = b"{" + b" " * MAX_BLOB_BYTES + b"}"
    config = _layout_with_signature(tmp_path, [harness.descriptor(big, SIG)], [big])
    with counted(monkeypatch) as calls:
        result = harness.run_gate(config)
    harness.assert_gate_refused(result)
    assert Code.SIZE_LIMIT in str(result.images[0].reasons)
    assert calls["bytes read"] < MAX_BLOB_BYTES // 4  # the cap is checked on the file size: the blob is not read
    assert not any(k.startswith("verify") for k in calls)


def test_an_image_manifest_over_the_cap_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = json.dumps({"schemaVersion": 2, "mediaType": harness.OCI_MANIFEST, "pad": "x" * MAX_MANIFEST_BYTES}).encode()
    harness.write_layout(tmp_path / "layout", [big], harness.index_of((big, harness.OCI_MANIFEST, "v1")))
    with counted(monkeypatch) as calls:
        result = harness.run_gate(harness.gate_config(tmp_path))
    harness.assert_gate_refused(result)
    assert [r.code for r in result.images[0].reasons] == [Code.SIZE_LIMIT]
    assert calls["bytes read"] < MAX_MANIFEST_BYTES // 4


@pytest.mark.parametrize("count", [MAX_LAYERS, MAX_LAYERS + 1])
def test_signature_layers_are_bounded(count: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At the bound every layer is verified once per applicable authority; over it nothing is."""
    layer = sign_image(harness.KEY, "sha256:" + "0" * 64)  # signed for another digest: never a pass
    desc = harness.descriptor(layer.payload, SIG, annotations=layer.annotations)
    config = _layout_with_signature(tmp_path, [desc] * count, [layer.payload])
    with counted(monkeypatch) as calls:
        result = harness.run_gate(config)
    harness.assert_gate_refused(result)
    verified = calls["verify cosign-classic"]
    if count > MAX_LAYERS:
        assert Code.SIZE_LIMIT in _codes(result) and verified == 0
    else:
        assert verified == 2 * count  # key and keyless authorities: one check each per layer, no more
        assert Code.SIZE_LIMIT not in _codes(result)


@pytest.mark.parametrize("count", [MAX_REFERRERS + 1])
def test_referrers_are_bounded(count: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest, blobs = harness.image_manifest()
    digest = harness.sha256(manifest)
    ref = json.dumps({"schemaVersion": 2, "mediaType": harness.OCI_MANIFEST, "artifactType": s.MEDIA_TYPES[5],
                      "config": harness.descriptor(b"{}", "application/vnd.oci.empty.v1+json"), "layers": [],
                      "subject": harness.descriptor(manifest, harness.OCI_MANIFEST)}).encode()
    reply = json.dumps({"schemaVersion": 2, "mediaType": s.OCI_INDEX, "manifests": [
        harness.descriptor(ref, harness.OCI_MANIFEST, artifactType=s.MEDIA_TYPES[5])] * count}).encode()
    harness.write_layout(tmp_path / "layout", [manifest, *blobs, ref, reply, b"{}"], harness.index_of(
        (manifest, harness.OCI_MANIFEST, "v1"), (reply, s.OCI_INDEX, "sha256-" + digest.split(":", 1)[1])))
    with counted(monkeypatch) as calls:
        result = harness.run_gate(harness.gate_config(tmp_path))
    harness.assert_gate_refused(result)
    assert Code.SIZE_LIMIT in _codes(result)
    assert not any(k.startswith("verify") for k in calls)
