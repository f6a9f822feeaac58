"""LayoutSource over the real derived OCI layouts and notation's e2e layouts; tampering and traversal."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from sigverify.errors import NotFoundError, RegistryError
from sigverify.models import Code, Descriptor, ImageRef
from sigverify.registry import Registries
from sigverify.registry.content import digest_of, fallback_tag
from sigverify.registry.layout import LayoutSource

COSIGN_VALID = "derived/oci-layouts/cosign-legacy-sig-dir-img-cosign-valid"
COSIGN_BUNDLE = "derived/oci-layouts/cosign-attestation-bundle-on-empty-image"
NOTATION = "notation/notation-e2e/test/e2e/testdata/registry/oci_layout"
IMAGE_634 = "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"
NOTATION_SUBJECT = "sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9"
NOTARY = "application/vnd.cncf.notary.signature"


def layout_ref(path: Path, *, tag: str | None = None, digest: str | None = None) -> ImageRef:
    return ImageRef("oci", "layout", tag=tag, digest=digest, layout=str(path))


def source_for(ref: ImageRef) -> LayoutSource:
    source = Registries({}, env={}).source_for(ref)
    assert isinstance(source, LayoutSource)
    return source


def copy_layout(vectors: Path, rel: str, tmp_path: Path) -> Path:
    dest = tmp_path / "layout"
    shutil.copytree(vectors / rel, dest)
    return dest


def test_cosign_legacy_layout(vectors: Path) -> None:
    root = vectors / COSIGN_VALID
    ref = layout_ref(root, tag="signed")
    source = source_for(ref)
    desc = source.resolve(ref)
    assert desc == Descriptor("application/vnd.docker.distribution.manifest.v2+json", IMAGE_634, 428)
    sig = source.get_manifest(ref, fallback_tag(desc.digest) + ".sig")
    assert sig.descriptor.digest == "sha256:4e9e18b27581f5046e09644e683cae2a55187345ca64be139bc2d53e12be04c0"
    layer = json.loads(sig.raw)["layers"][0]
    payload = source.get_blob(ref, Descriptor(layer["mediaType"], layer["digest"], layer["size"]))
    assert json.loads(payload)["critical"]["image"]["docker-manifest-digest"] == IMAGE_634
    assert source.referrers(ref, desc.digest).descriptors == ()


def test_digest_reference_in_layout(vectors: Path) -> None:
    ref = layout_ref(vectors / COSIGN_VALID, digest=IMAGE_634)
    assert source_for(ref).resolve(ref).digest == IMAGE_634
    absent = layout_ref(vectors / COSIGN_VALID, digest="sha256:" + "1" * 64)
    with pytest.raises(NotFoundError):
        source_for(absent).resolve(absent)


def test_missing_tag(vectors: Path) -> None:
    ref = layout_ref(vectors / COSIGN_VALID, tag="nope")
    with pytest.raises(NotFoundError) as exc:
        source_for(ref).resolve(ref)
    assert "'nope'" in exc.value.message and exc.value.code == Code.NOT_FOUND


def test_cosign_bundle_layout_fallback_tag(vectors: Path) -> None:
    ref = layout_ref(vectors / COSIGN_BUNDLE, tag="tag")
    source = source_for(ref)
    digest = source.resolve(ref).digest
    assert digest == "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"
    result = source.referrers(ref, digest)
    assert result.via == "referrers tag"
    (d,) = result.descriptors
    assert d.digest == "sha256:33fb607c1282b93f97b6f164528e46a735ee58196efdce63654dabb28132abea"
    assert d.artifact_type  # as written by cosign's fallback index: not filtered
    bundle = source.get_manifest(ref, d.digest)
    assert json.loads(bundle.raw)["subject"]["digest"] == digest


def test_notation_layout_referrers_union(vectors: Path) -> None:
    """The fallback index lists one signature, index.json lists another with a subject: both are returned."""
    ref = layout_ref(vectors / NOTATION / "e2e-valid-multiple-signatures", tag="v1")
    source = source_for(ref)
    digest = source.resolve(ref).digest
    assert digest == NOTATION_SUBJECT
    result = source.referrers(ref, digest)
    assert result.via == "referrers tag + layout index"
    assert {d.digest for d in result.descriptors} == {
        "sha256:90ceaff260d657d797c408ac73564a9c7bb9d86055877c2a811f0e63b8c6524f",
        "sha256:c3ebe4a20b6832328fc5078a7795ddc1114b896e13fca2add38109c3866b5fbf",
    }
    assert {d.artifact_type for d in result.descriptors} == {NOTARY}


def test_notation_layout_without_fallback_tag(vectors: Path) -> None:
    ref = layout_ref(vectors / NOTATION / "e2e-with-timestamped-signature", tag="v1")
    source = source_for(ref)
    desc = source.resolve(ref)
    result = source.referrers(ref, desc.digest)
    assert result.via == "layout"
    (d,) = result.descriptors
    assert d.digest == "sha256:6a5cd3a886707a317935dcaf13954fc80ef9aeb665262b6ae4fe469ad7ea3aea"
    assert d.artifact_type == NOTARY  # from the manifest's config media type
    assert "io.cncf.notary.x509chain.thumbprint#S256" in d.annotations


def test_every_notation_layout_reads(vectors: Path) -> None:
    names = sorted(os.listdir(vectors / NOTATION))
    assert len(names) >= 8
    for name in names:
        ref = layout_ref(vectors / NOTATION / name, tag="v1")
        source = source_for(ref)
        desc = source.resolve(ref)
        found = source.referrers(ref, desc.digest).descriptors
        assert found or name == "e2e", name
        for d in found:
            manifest = source.get_manifest(ref, d.digest)
            assert json.loads(manifest.raw)["subject"]["digest"] == desc.digest


def test_tampered_blob_and_manifest(vectors: Path, tmp_path: Path) -> None:
    root = copy_layout(vectors, COSIGN_VALID, tmp_path)
    payload = root / "blobs/sha256/cf482371b51a7633b3f02e29b87fc3f4a18b3f127af61cb114af5f2c04fcdd75"
    data = bytearray(payload.read_bytes())
    data[10] ^= 1
    payload.write_bytes(bytes(data))
    image = root / "blobs/sha256" / IMAGE_634.split(":")[1]
    image.write_bytes(image.read_bytes().replace(b"schemaVersion", b"schemaVersioN"))
    ref = layout_ref(root, tag="signed")
    source = source_for(ref)
    with pytest.raises(RegistryError) as exc:
        source.resolve(ref)
    assert exc.value.code == Code.DIGEST_MISMATCH
    desc = Descriptor("application/octet-stream", "sha256:" + payload.name, len(data))
    with pytest.raises(RegistryError) as exc:
        source.get_blob(ref, desc)
    assert exc.value.code == Code.DIGEST_MISMATCH and exc.value.found == digest_of(bytes(data))


def test_symlink_out_of_layout_refused(vectors: Path, tmp_path: Path) -> None:
    root = copy_layout(vectors, COSIGN_VALID, tmp_path)
    outside = tmp_path / "outside"
    outside.write_bytes(b"secret")
    blob = root / "blobs/sha256" / IMAGE_634.split(":")[1]
    blob.unlink()
    blob.symlink_to(outside)
    ref = layout_ref(root, tag="signed")
    with pytest.raises(RegistryError) as exc:
        source_for(ref).resolve(ref)
    assert "outside the layout" in exc.value.message


@pytest.mark.parametrize(
    "digest", ["sha256:../../../../etc/passwd", "sha256/../../x", "md5:" + "0" * 32, "sha256:" + "0" * 63]
)
def test_path_traversal_digests_rejected(vectors: Path, digest: str) -> None:
    ref = layout_ref(vectors / COSIGN_VALID, tag="signed")
    source = source_for(ref)
    with pytest.raises(RegistryError) as exc:
        source.get_blob(ref, Descriptor("a/b", digest, 1))
    assert "invalid digest" in exc.value.message
    with pytest.raises(RegistryError) as exc:
        source.get_manifest(ref, digest)
    # digest-like strings are refused; anything else is only ever a ref name looked up in index.json
    assert exc.value.code == (Code.INVALID_REFERENCE if digest.startswith(("sha256:", "md5:")) else Code.NOT_FOUND)


def test_size_caps(vectors: Path) -> None:
    ref = layout_ref(vectors / COSIGN_VALID, tag="signed")
    source = source_for(ref)
    with pytest.raises(RegistryError) as exc:
        source.get_manifest(ref, IMAGE_634, max_size=100)
    assert exc.value.code == Code.SIZE_LIMIT
    with pytest.raises(RegistryError) as exc:
        source.get_blob(ref, Descriptor("a/b", IMAGE_634, 428), max_size=100)
    assert exc.value.code == Code.SIZE_LIMIT
    with pytest.raises(RegistryError) as exc:  # the descriptor lies about the size: never truncated
        source.get_blob(ref, Descriptor("a/b", IMAGE_634, 100))
    assert exc.value.code == Code.SIZE_LIMIT


def test_not_a_layout(tmp_path: Path) -> None:
    ref = layout_ref(tmp_path, tag="v1")
    with pytest.raises(RegistryError) as exc:
        source_for(ref).resolve(ref)
    assert "not an OCI image layout" in exc.value.message


def test_ambiguous_tag(vectors: Path, tmp_path: Path) -> None:
    root = copy_layout(vectors, COSIGN_VALID, tmp_path)
    index = json.loads((root / "index.json").read_text())
    index["manifests"][1]["annotations"]["org.opencontainers.image.ref.name"] = "signed"
    (root / "index.json").write_text(json.dumps(index))
    ref = layout_ref(root, tag="signed")
    with pytest.raises(RegistryError) as exc:
        source_for(ref).resolve(ref)
    assert "different manifests" in exc.value.message


def test_one_source_per_layout(vectors: Path) -> None:
    regs = Registries({}, env={})
    a = regs.source_for(layout_ref(vectors / COSIGN_VALID, tag="signed"))
    b = regs.source_for(layout_ref(vectors / COSIGN_VALID, digest=IMAGE_634))
    assert a is b


def test_layout_only_run_does_not_import_the_http_stack(vectors: Path) -> None:
    """Offline (layout) verification must not pay for importing requests/urllib3."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from sigverify.models import ImageRef\n"
        "from sigverify.registry import Registries\n"
        f"ref = ImageRef('oci', 'layout', tag='signed', layout={str(vectors / COSIGN_VALID)!r})\n"
        "assert Registries({}, env={}).source_for(ref).resolve(ref).digest.startswith('sha256:634a')\n"
        "print(sorted(m for m in ('requests', 'urllib3') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_full_ref_names_in_layouts(vectors: Path, tmp_path: Path) -> None:
    """Some tools write full names (``docker.io/library/x:1``) as org.opencontainers.image.ref.name."""
    root = copy_layout(vectors, COSIGN_VALID, tmp_path)
    index = json.loads((root / "index.json").read_text())
    index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] = "docker.io/team/app:1.0"
    (root / "index.json").write_text(json.dumps(index))
    ref = layout_ref(root, tag="docker.io/team/app:1.0")
    assert source_for(ref).resolve(ref).digest == IMAGE_634


# -- only regular files inside the layout are read (a FIFO or a device must not hang or feed sigverify) ----------


def bounded_call(fn: Callable[[], object], seconds: float = 20.0) -> BaseException | None:
    """Run ``fn`` in a thread; fail the test (instead of hanging the suite) if it does not return in time."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            fn()
            outcome.append(None)
        except BaseException as exc:  # handed back to the test
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, f"still blocked after {seconds} s"
    return outcome[0]


def resolve_error(root: Path, tag: str = "signed") -> RegistryError:
    ref = layout_ref(root, tag=tag)
    exc = bounded_call(lambda: source_for(ref).resolve(ref))
    assert isinstance(exc, RegistryError), exc
    return exc


def replace_with_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def test_fifo_index_json_is_refused_not_waited_on(vectors: Path, tmp_path: Path) -> None:
    root = copy_layout(vectors, COSIGN_VALID, tmp_path)
    replace_with_fifo(root / "index.json")
    exc = resolve_error(root)
    assert exc.code == Code.REGISTRY_ERROR and "index.json" in exc.message and exc.found == "a FIFO (named pipe)"


def test_fifo_blob_is_refused_not_waited_on(vectors: Path, tmp_path: Path) -> None:
    root = copy_layout(vectors, COSIGN_VALID, tmp_path)
    replace_with_fifo(root / "blobs/sha256" / IMAGE_634.split(":")[1])
    exc = resolve_error(root)
    assert exc.code == Code.REGISTRY_ERROR and exc.found == "a FIFO (named pipe)"


def test_fifo_oci_layout_marker_is_refused(vectors: Path, tmp_path: Path) -> None:
    root = copy_layout(vectors, COSIGN_VALID, tmp_path)
    replace_with_fifo(root / "oci-layout")
    exc = resolve_error(root)
    assert exc.code == Code.REGISTRY_ERROR and exc.found == "a FIFO (named pipe)"


def test_character_device_blob_is_refused(vectors: Path, tmp_path: Path) -> None:
    root = copy_layout(vectors, COSIGN_VALID, tmp_path)
    blob = root / "blobs/sha256" / IMAGE_634.split(":")[1]
    blob.unlink()
    try:
        os.mknod(blob, stat.S_IFCHR | 0o600, os.makedev(1, 5))  # what /dev/zero is: it never ends
    except PermissionError:
        pytest.skip("creating a device node needs CAP_MKNOD")
    exc = resolve_error(root)
    assert exc.code == Code.REGISTRY_ERROR and exc.found == "a character device"


def test_symlink_to_a_device_outside_is_refused(vectors: Path, tmp_path: Path) -> None:
    root = copy_layout(vectors, COSIGN_VALID, tmp_path)
    (root / "index.json").unlink()
    (root / "index.json").symlink_to("/dev/zero")
    exc = resolve_error(root)
    assert "outside the layout" in exc.message and "index.json" in exc.message


def test_symlinked_index_json_escaping_the_layout_is_refused(vectors: Path, tmp_path: Path) -> None:
    root = copy_layout(vectors, COSIGN_VALID, tmp_path)
    outside = tmp_path / "elsewhere.json"
    outside.write_bytes((root / "index.json").read_bytes())  # valid content: refused for where it is
    (root / "index.json").unlink()
    (root / "index.json").symlink_to(outside)
    exc = resolve_error(root)
    assert "outside the layout" in exc.message


def test_symlinked_blobs_directory_escaping_the_layout_is_refused(vectors: Path, tmp_path: Path) -> None:
    root = copy_layout(vectors, COSIGN_VALID, tmp_path)
    shutil.move(root / "blobs", tmp_path / "blobs-elsewhere")
    (root / "blobs").symlink_to(tmp_path / "blobs-elsewhere")
    exc = resolve_error(root)
    assert "outside the layout" in exc.message


def test_symlink_inside_the_layout_is_followed(vectors: Path, tmp_path: Path) -> None:
    root = copy_layout(vectors, COSIGN_VALID, tmp_path)
    blob = root / "blobs/sha256" / IMAGE_634.split(":")[1]
    shutil.move(blob, root / "image-manifest.json")
    blob.symlink_to(root / "image-manifest.json")
    ref = layout_ref(root, tag="signed")
    assert source_for(ref).resolve(ref).digest == IMAGE_634


def test_socket_and_directory_blobs_are_refused(vectors: Path, tmp_path: Path) -> None:
    root = copy_layout(vectors, COSIGN_VALID, tmp_path)
    blob = root / "blobs/sha256" / IMAGE_634.split(":")[1]
    blob.unlink()
    blob.mkdir()
    assert resolve_error(root).found == "a directory"
    blob.rmdir()
    server = socket.socket(socket.AF_UNIX)
    short = Path(tempfile.mkdtemp(prefix="sv-", dir="/tmp")) / "s"  # AF_UNIX paths are short: bind, then move
    try:
        server.bind(str(short))
        os.rename(short, blob)
        assert resolve_error(root).found == "a socket"
    finally:
        server.close()
        shutil.rmtree(short.parent)


def test_oversize_index_json_is_refused_by_its_size(vectors: Path, tmp_path: Path) -> None:
    from sigverify.registry.base import MAX_MANIFEST_BYTES

    root = copy_layout(vectors, COSIGN_VALID, tmp_path)
    with open(root / "index.json", "r+b") as fh:
        fh.truncate(MAX_MANIFEST_BYTES + 1)  # sparse: its size is enough to refuse it
    exc = resolve_error(root)
    assert exc.code == Code.SIZE_LIMIT


def test_deeply_nested_index_json_is_an_error(vectors: Path, tmp_path: Path) -> None:
    root = copy_layout(vectors, COSIGN_VALID, tmp_path)
    (root / "index.json").write_bytes(b'{"schemaVersion": 2, "manifests": ' + b"[" * 200_000 + b"]" * 200_000 + b"}")
    exc = resolve_error(root)
    assert exc.code == Code.REGISTRY_ERROR and "nested deeper than 64 levels" in exc.message
