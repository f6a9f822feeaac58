"""RemoteSource against Debian's real docker-registry: resolve once, fetch by digest, referrers tag fallback."""

from __future__ import annotations

import json
import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest

from sigverify.errors import NotFoundError, RegistryError
from sigverify.models import Code, Descriptor, ImageRef
from sigverify.policy.model import RegistrySettings
from sigverify.registry import Registries
from sigverify.registry.content import fallback_tag
from tests.fixtures.registry import OCI_INDEX, OCI_MANIFEST, RegistryServer, canonical_json, unique_repo

pytestmark = pytest.mark.registry


def make_registries(server: RegistryServer, **kw: object) -> Registries:
    return Registries({server.host: RegistrySettings(insecure=True)}, env={}, docker_config_dir="/nonexistent", **kw)  # type: ignore[arg-type]


def layer_of(raw: bytes) -> Descriptor:
    layer = json.loads(raw)["layers"][0]
    return Descriptor(layer["mediaType"], layer["digest"], layer["size"])


def test_anonymous_resolve_manifest_blob(registry: RegistryServer) -> None:
    repo = unique_repo()
    digest, raw = registry.push_image(repo, "v1", layer=b"layer-bytes")
    with make_registries(registry) as regs:
        ref = ImageRef(registry.host, repo, tag="v1")
        source = regs.source_for(ref)
        desc = source.resolve(ref)
        assert desc == Descriptor(OCI_MANIFEST, digest, len(raw))
        manifest = source.get_manifest(ref, digest)
        assert manifest.raw == raw
        assert manifest.descriptor.digest == digest and manifest.descriptor.media_type == OCI_MANIFEST
        assert source.get_blob(ref, layer_of(raw)) == b"layer-bytes"
        assert regs.request_count == 3


def test_tag_resolved_once_with_one_head(registry: RegistryServer) -> None:
    repo = unique_repo()
    digest, _ = registry.push_image(repo, "stable")
    with make_registries(registry) as regs:
        ref = ImageRef(registry.host, repo, tag="stable")
        assert regs.source_for(ref).resolve(ref).digest == digest
    lines = registry.sent_requests(repo)
    assert [(a.method, a.path) for a in lines] == [("HEAD", f"/v2/{repo}/manifests/stable")]


def test_digest_reference_is_confirmed(registry: RegistryServer) -> None:
    repo = unique_repo()
    digest, raw = registry.push_image(repo, "v1")
    with make_registries(registry) as regs:
        ref = ImageRef(registry.host, repo, digest=digest)
        assert regs.source_for(ref).resolve(ref) == Descriptor(OCI_MANIFEST, digest, len(raw))
        absent = "sha256:" + "0" * 64
        with pytest.raises(NotFoundError) as exc:
            regs.source_for(ref).resolve(ImageRef(registry.host, repo, digest=absent))
        assert exc.value.code == Code.NOT_FOUND
        assert absent in str(exc.value)


def test_missing_tag_and_repo_are_not_found(registry: RegistryServer) -> None:
    repo = unique_repo()
    registry.push_image(repo, "v1")
    with make_registries(registry) as regs:
        for ref in (ImageRef(registry.host, repo, tag="nope"), ImageRef(registry.host, unique_repo(), tag="v1")):
            with pytest.raises(NotFoundError) as exc:
                regs.source_for(ref).resolve(ref)
            assert ref.repository in exc.value.message
        with pytest.raises(NotFoundError) as exc:
            regs.source_for(ref).get_manifest(ImageRef(registry.host, repo), "nope")
        assert "MANIFEST_UNKNOWN" in exc.value.message  # the registry's JSON error body is parsed


def test_multi_arch_index(registry: RegistryServer) -> None:
    repo = unique_repo()
    digest, raw, children = registry.push_index(repo, "multi")
    with make_registries(registry) as regs:
        ref = ImageRef(registry.host, repo, tag="multi")
        source = regs.source_for(ref)
        assert source.resolve(ref) == Descriptor(OCI_INDEX, digest, len(raw))
        index = source.get_manifest(ref, digest)
        assert index.descriptor.media_type == OCI_INDEX
        assert [m["digest"] for m in json.loads(index.raw)["manifests"]] == children


def test_classic_signature_flow_takes_three_requests(registry: RegistryServer) -> None:
    """Issue 8: a tag reference with a classic `.sig` costs HEAD tag + GET .sig manifest + GET payload."""
    repo = unique_repo()
    digest, _ = registry.push_image(repo, "app")
    payload = b'{"critical":{}}'
    sig_digest, sig_raw = registry.push_artifact(
        repo,
        fallback_tag(digest) + ".sig",
        artifact_type="application/vnd.dev.cosign.simplesigning.v1+json",
        layer=payload,
        layer_media_type="application/vnd.dev.cosign.simplesigning.v1+json",
    )
    with make_registries(registry) as regs:
        ref = ImageRef(registry.host, repo, tag="app")
        source = regs.source_for(ref)
        resolved = source.resolve(ref)
        sig = source.get_manifest(ref, fallback_tag(resolved.digest) + ".sig")
        assert sig.descriptor.digest == sig_digest and sig.raw == sig_raw
        assert source.get_blob(ref, layer_of(sig.raw)) == payload
        assert regs.request_count == 3
    assert len(registry.sent_requests(repo)) == 3


def test_referrers_fallback_tag_on_docker_registry(registry: RegistryServer) -> None:
    """docker-registry has no referrers API (404): the sha256-<hex> tag index is read, unfiltered."""
    repo = unique_repo()
    digest, raw = registry.push_image(repo, "v1")
    bundle_digest, bundle_raw = registry.push_artifact(
        repo,
        None,
        artifact_type="application/vnd.dev.sigstore.bundle.v0.3+json",
        layer=b'{"bundle": true}',
        layer_media_type="application/vnd.dev.sigstore.bundle.v0.3+json",
        subject=(digest, len(raw), OCI_MANIFEST),
        annotations={"dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1"},
    )
    # a real cosign fallback index carries artifactType = the config media type; it must not be filtered out
    entries = [
        {
            "mediaType": OCI_MANIFEST,
            "digest": bundle_digest,
            "size": len(bundle_raw),
            "artifactType": "application/vnd.oci.empty.v1+json",
            "annotations": {"dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1"},
        }
    ]
    index = canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
    registry.push_manifest(repo, fallback_tag(digest), index, OCI_INDEX)
    with make_registries(registry) as regs:
        ref = ImageRef(registry.host, repo, digest=digest)
        result = regs.source_for(ref).referrers(ref, digest)
    assert result.via == "referrers tag"
    assert result.descriptors == (
        Descriptor(
            OCI_MANIFEST,
            bundle_digest,
            len(bundle_raw),
            {"dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1"},
            "application/vnd.oci.empty.v1+json",
        ),
    )


def test_no_referrers_is_empty(registry: RegistryServer) -> None:
    repo = unique_repo()
    digest, _ = registry.push_image(repo, "v1")
    with make_registries(registry) as regs:
        ref = ImageRef(registry.host, repo, digest=digest)
        result = regs.source_for(ref).referrers(ref, digest)
    assert result.descriptors == () and result.via == "referrers tag"


def test_fallback_tag_that_is_not_an_index_is_an_error(registry: RegistryServer) -> None:
    repo = unique_repo()
    digest, _ = registry.push_image(repo, "v1")
    registry.push_image(repo, fallback_tag(digest))  # an image manifest squatting on the referrers tag
    with make_registries(registry) as regs:
        ref = ImageRef(registry.host, repo, digest=digest)
        with pytest.raises(RegistryError) as exc:
            regs.source_for(ref).referrers(ref, digest)
    assert "not an image index" in exc.value.message


def test_tag_moving_after_resolution_does_not_change_what_is_fetched(registry: RegistryServer) -> None:
    repo = unique_repo()
    first, first_raw = registry.push_image(repo, "moving")
    with make_registries(registry) as regs:
        ref = ImageRef(registry.host, repo, tag="moving")
        source = regs.source_for(ref)
        resolved = source.resolve(ref)
        registry.push_image(repo, "moving")  # the tag now points elsewhere
        assert source.get_manifest(ref, resolved.digest).raw == first_raw
        assert resolved.digest == first


def test_blob_larger_than_cap_is_refused_before_fetching(registry: RegistryServer) -> None:
    repo = unique_repo()
    _, raw = registry.push_image(repo, "v1", layer=secrets.token_bytes(2048))
    with make_registries(registry) as regs:
        ref = ImageRef(registry.host, repo, tag="v1")
        with pytest.raises(RegistryError) as exc:
            regs.source_for(ref).get_blob(ref, layer_of(raw), max_size=1024)
        assert exc.value.code == Code.SIZE_LIMIT
        assert regs.request_count == 0


def test_concurrent_use_is_thread_safe(registry: RegistryServer) -> None:
    repos = [unique_repo() for _ in range(12)]
    pushed = {repo: registry.push_image(repo, "v1") for repo in repos}
    with make_registries(registry, pool_size=8) as regs:

        def work(repo: str) -> tuple[str, bytes]:
            ref = ImageRef(registry.host, repo, tag="v1")
            source = regs.source_for(ref)
            desc = source.resolve(ref)
            manifest = source.get_manifest(ref, desc.digest)
            return desc.digest, source.get_blob(ref, layer_of(manifest.raw))

        with ThreadPoolExecutor(8) as pool:
            results = dict(zip(repos, pool.map(work, repos), strict=True))
        assert regs.request_count == 3 * len(repos)
    for repo, (digest, _layer) in results.items():
        assert digest == pushed[repo][0]


def test_retag_and_delete_helpers(registry: RegistryServer) -> None:
    repo = unique_repo()
    first, _ = registry.push_image(repo, "a")
    second, _ = registry.push_image(repo, "b")
    registry.retag(repo, second, "a")
    with make_registries(registry) as regs:
        ref = ImageRef(registry.host, repo, tag="a")
        assert regs.source_for(ref).resolve(ref).digest == second
        registry.delete(repo, first)
        with pytest.raises(NotFoundError):
            regs.source_for(ref).get_manifest(ref, first)


def test_https_registry_with_ca_file(tls_registry: RegistryServer) -> None:
    repo = unique_repo()
    digest, _ = tls_registry.push_image(repo, "v1", layer=b"tls-layer")
    ref = ImageRef(tls_registry.host, repo, tag="v1")
    settings = {tls_registry.host: RegistrySettings(ca_file=tls_registry.ca_file)}
    with Registries(settings, env={}, docker_config_dir="/nonexistent") as regs:
        source = regs.source_for(ref)
        assert source.resolve(ref).digest == digest
        assert source.get_blob(ref, layer_of(source.get_manifest(ref, digest).raw)) == b"tls-layer"
    # without the CA bundle the certificate is not trusted: an error that names the fix
    with Registries({}, env={}, docker_config_dir="/nonexistent") as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref).resolve(ref)
    assert exc.value.code == Code.REGISTRY_ERROR and "ca_file" in (exc.value.tip or "")
    assert len(tls_registry.sent_requests(repo)) == 3
