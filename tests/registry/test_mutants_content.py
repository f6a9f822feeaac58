"""Registry content checks, one decision per test (written for the mutation run of registry/content.py)."""

from __future__ import annotations

import hashlib
import json

import pytest

from sigverify.errors import RegistryError
from sigverify.models import Code, Descriptor
from sigverify.registry.content import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    bare_media_type,
    check_digest,
    check_reference,
    check_repository,
    digest_of,
    fallback_tag,
    index_descriptors,
    is_digest,
    manifest_descriptor,
    manifest_media_type,
    new_hash,
    parse_descriptor,
    parse_manifest,
    string_map,
    verify_digest,
)

H256 = "a" * 64
H512 = "b" * 128


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"sha256:{H256}", True),
        (f"sha512:{H512}", True),
        (f"sha256:{H256[:-1]}", False),  # 63 hex
        (f"sha256:{H256}a", False),  # 65 hex
        (f"sha512:{H256}", False),  # sha512 with a sha256 length
        (f"sha256:{H512}", False),
        (f"sha256:{H256.upper()}", False),  # lowercase hex only
        (f"sha256:{'g' * 64}", False),
        (f"SHA256:{H256}", False),
        (f"md5:{'a' * 32}", False),
        (f" sha256:{H256}", False),  # anchored at the start
        (f"sha256:{H256}\n", False),  # anchored at the end
        (f"xsha256:{H256}", False),
        ("", False),
    ],
)
def test_digest_syntax_is_exact(value: str, expected: bool) -> None:
    assert is_digest(value) is expected


@pytest.mark.parametrize("value", [None, 42, f"sha256:{H256[:-1]}", f"sha256:{H256}/../x", ""])
def test_check_digest_refuses_anything_but_a_digest_with_registry_error(value: object) -> None:
    with pytest.raises(RegistryError) as info:
        check_digest(value, "where")
    assert info.value.code == Code.REGISTRY_ERROR
    assert info.value.message.startswith("where: invalid digest")


def test_check_digest_returns_the_digest_unchanged() -> None:
    assert check_digest(f"sha256:{H256}", "w") == f"sha256:{H256}"


@pytest.mark.parametrize("repo", ["team/app", "a", "a.b/c_d/e__f/g-h/i--j", "x" * 255])
def test_repository_names_of_the_grammar_pass(repo: str) -> None:
    assert check_repository(repo) == repo


@pytest.mark.parametrize(
    "repo", ["Team/app", "team//app", "/team", "team/", "team/../x", "a_-b", "a___b", "x" * 256, "", "team app",
             "team/app\n"]
)
def test_repository_names_outside_the_grammar_are_invalid_reference(repo: str) -> None:
    with pytest.raises(RegistryError) as info:
        check_repository(repo)
    assert info.value.code == Code.INVALID_REFERENCE


@pytest.mark.parametrize("ref", ["v1", "_x", "1.0-rc_1", "A" * 128, f"sha256:{H256}", f"sha512:{H512}"])
def test_manifest_references_tags_and_digests_pass(ref: str) -> None:
    assert check_reference(ref) == ref


@pytest.mark.parametrize("ref", ["", ".v1", "-v1", "A" * 129, "v1/../x", "v 1", "v1\n", f"sha256:{H256[:-1]}x"])
def test_manifest_references_outside_the_grammar_are_invalid_reference(ref: str) -> None:
    with pytest.raises(RegistryError) as info:
        check_reference(ref)
    assert info.value.code == Code.INVALID_REFERENCE


def test_hash_algorithms_are_exactly_sha256_and_sha512() -> None:
    data = b"content"
    assert digest_of(data) == "sha256:" + hashlib.sha256(data).hexdigest()
    assert digest_of(data, "sha512") == "sha512:" + hashlib.sha512(data).hexdigest()
    assert new_hash("sha256").name == "sha256"
    assert new_hash("sha512").name == "sha512"
    for algorithm in ("md5", "SHA256", "sha384", ""):
        with pytest.raises(RegistryError) as info:
            new_hash(algorithm)
        assert info.value.code == Code.REGISTRY_ERROR


def test_verify_digest_accepts_the_right_bytes_and_names_digest_mismatch() -> None:
    data = b"manifest bytes"
    verify_digest(data, "sha256:" + hashlib.sha256(data).hexdigest(), "w")
    verify_digest(data, "sha512:" + hashlib.sha512(data).hexdigest(), "w")
    with pytest.raises(RegistryError) as info:
        verify_digest(data + b"x", "sha256:" + hashlib.sha256(data).hexdigest(), "w")
    assert info.value.code == Code.DIGEST_MISMATCH
    assert info.value.expected == "sha256:" + hashlib.sha256(data).hexdigest()
    assert info.value.found == "sha256:" + hashlib.sha256(data + b"x").hexdigest()
    with pytest.raises(RegistryError) as info:  # a sha512 digest is checked with sha512, not sha256
        verify_digest(data, "sha512:" + hashlib.sha512(data + b"x").hexdigest(), "w")
    assert info.value.code == Code.DIGEST_MISMATCH


def test_fallback_tag_replaces_only_the_first_colon_and_truncates_to_128() -> None:
    assert fallback_tag(f"sha256:{H256}") == f"sha256-{H256}"
    assert fallback_tag(f"sha512:{H512}") == f"sha512-{H512}"[:128]
    assert len(fallback_tag(f"sha512:{H512}")) == 128
    assert fallback_tag("a:b:c") == "a-b:c"


@pytest.mark.parametrize(
    ("header", "bare"),
    [
        (None, None),
        ("", None),
        ("Application/VND.OCI.Image.Manifest.v1+JSON; charset=utf-8", OCI_MANIFEST),
        (" application/json ;a=b;c=d", "application/json"),
        (";charset=utf-8", None),
    ],
)
def test_bare_media_type(header: str | None, bare: str | None) -> None:
    assert bare_media_type(header) == bare


def _doc(**fields: object) -> bytes:
    return json.dumps({"schemaVersion": 2, **fields}).encode()


def test_parse_manifest_returns_the_object() -> None:
    assert parse_manifest(_doc(mediaType=OCI_MANIFEST), OCI_MANIFEST, "w") == {"schemaVersion": 2,
                                                                               "mediaType": OCI_MANIFEST}


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b"[]", None),  # not an object
        (b'"x"', None),
        (b"{}", None),  # no schemaVersion
        (json.dumps({"schemaVersion": 1}).encode(), None),
        (json.dumps({"schemaVersion": "2"}).encode(), None),
        (_doc(mediaType=5), None),  # mediaType not a string
        (_doc(mediaType=OCI_MANIFEST), OCI_INDEX),  # body and header disagree
        (_doc(mediaType=DOCKER_MANIFEST), OCI_MANIFEST + "; charset=utf-8"),
        (b'{"schemaVersion": 2, "schemaVersion": 2}', None),  # duplicate key (strict JSON)
        (b"not json", None),
    ],
)
def test_parse_manifest_refuses_with_registry_error(raw: bytes, content_type: str | None) -> None:
    with pytest.raises(RegistryError) as info:
        parse_manifest(raw, content_type, "w")
    assert info.value.code == Code.REGISTRY_ERROR
    assert info.value.message.startswith("w: ")


def test_parse_manifest_ignores_a_header_that_is_not_a_manifest_type() -> None:
    assert parse_manifest(_doc(mediaType=OCI_MANIFEST), "application/json", "w")["mediaType"] == OCI_MANIFEST
    assert parse_manifest(_doc(), OCI_INDEX, "w") == {"schemaVersion": 2}  # no body mediaType: nothing to compare


def test_manifest_media_type_prefers_body_then_header_then_shape() -> None:
    assert manifest_media_type({"mediaType": DOCKER_LIST}, OCI_MANIFEST) == DOCKER_LIST
    assert manifest_media_type({"mediaType": ""}, "Application/Foo; x=y") == "application/foo"
    assert manifest_media_type({}, None) == OCI_MANIFEST
    assert manifest_media_type({"manifests": []}, None) == OCI_INDEX
    assert manifest_media_type({"manifests": []}, "") == OCI_INDEX


def test_manifest_descriptor_records_size_digest_annotations_and_artifact_type() -> None:
    raw = _doc(mediaType=OCI_MANIFEST, artifactType="application/x", annotations={"a": "b", "n": 1})
    d = manifest_descriptor(json.loads(raw), raw, f"sha256:{H256}", None)
    assert d == Descriptor(OCI_MANIFEST, f"sha256:{H256}", len(raw), {"a": "b"}, "application/x")
    d = manifest_descriptor({"artifactType": ""}, b"{}", f"sha256:{H256}", "application/y")
    assert d.artifact_type is None
    assert d.media_type == "application/y"
    assert d.size == 2


def test_string_map_keeps_only_string_pairs() -> None:
    assert string_map({"a": "b", "c": 1, "d": None, "e": ""}) == {"a": "b", "e": ""}
    assert string_map(["a"]) == {}
    assert string_map(None) == {}


GOOD = {"mediaType": OCI_MANIFEST, "digest": f"sha256:{H256}", "size": 7}


def test_parse_descriptor_returns_every_field() -> None:
    d = parse_descriptor({**GOOD, "annotations": {"k": "v"}, "artifactType": "application/z"}, "w")
    assert d == Descriptor(OCI_MANIFEST, f"sha256:{H256}", 7, {"k": "v"}, "application/z")
    assert parse_descriptor({**GOOD, "size": 0}, "w").size == 0  # zero is a valid size


@pytest.mark.parametrize(
    "obj",
    [
        [GOOD],
        {**GOOD, "digest": "sha256:abc"},
        {k: v for k, v in GOOD.items() if k != "digest"},
        {**GOOD, "size": -1},
        {**GOOD, "size": True},
        {**GOOD, "size": 7.0},
        {**GOOD, "size": "7"},
        {k: v for k, v in GOOD.items() if k != "size"},
        {**GOOD, "mediaType": None},
        {k: v for k, v in GOOD.items() if k != "mediaType"},
    ],
)
def test_parse_descriptor_refuses_with_registry_error(obj: object) -> None:
    with pytest.raises(RegistryError) as info:
        parse_descriptor(obj, "w")
    assert info.value.code == Code.REGISTRY_ERROR


def test_index_descriptors_bounded_by_the_limit_inclusive() -> None:
    index = {"mediaType": OCI_INDEX, "manifests": [GOOD, GOOD, GOOD]}
    assert len(index_descriptors(index, "w", 3)) == 3
    with pytest.raises(RegistryError) as info:
        index_descriptors(index, "w", 2)
    assert info.value.code == Code.SIZE_LIMIT
    assert info.value.expected == "at most 2"
    assert info.value.found == "3"


def test_index_descriptors_validation() -> None:
    assert index_descriptors({"mediaType": DOCKER_LIST, "manifests": [GOOD]}, "w", 1)[0].size == 7
    assert index_descriptors({"manifests": [GOOD]}, "w", 1)[0].digest == f"sha256:{H256}"  # mediaType optional
    assert index_descriptors({}, "w", 0) == []
    bad_indexes: list[dict[str, object]] = [
        {"mediaType": OCI_MANIFEST, "manifests": []}, {"manifests": {}}, {"manifests": [GOOD, {}]}
    ]
    for bad in bad_indexes:
        with pytest.raises(RegistryError) as info:
            index_descriptors(bad, "w", 5)
        assert info.value.code == Code.REGISTRY_ERROR
    with pytest.raises(RegistryError) as info:
        index_descriptors({"manifests": [GOOD, {**GOOD, "size": -1}]}, "idx", 5)
    assert "idx manifests[1]" in info.value.message
