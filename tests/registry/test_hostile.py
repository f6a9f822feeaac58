"""A misbehaving registry (stdlib HTTP server on loopback): wrong content, huge bodies, redirects, 429/5xx,
TLS downgrades and the referrers API. Every case must fail closed with the right category."""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sigverify.errors import NotFoundError, RegistryError
from sigverify.models import Code, Descriptor, ImageRef
from sigverify.policy.model import RegistrySettings
from sigverify.registry import Registries, RetryPolicy
from sigverify.registry.base import MAX_MANIFEST_BYTES
from sigverify.registry.content import fallback_tag
from sigverify.registry.urls import parse_retry_after, redact_url
from tests.fixtures.registry import (
    OCI_INDEX,
    OCI_MANIFEST,
    FakeServer,
    Reply,
    SelfSigned,
    canonical_json,
    make_self_signed,
)

REPO = "team/app"
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=2.0)
USER, PASSWORD = "robot", "pa55-w0rd-secret"

MakeServer = Callable[..., FakeServer]


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    """The expected digest, computed here with hashlib: a bug in the production digest function cannot hide."""
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def manifest_bytes(**extra: Any) -> bytes:
    return canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest_of(b"{}"), "size": 2},
            "layers": [],
            **extra,
        }
    )


def regs_for(
    server: FakeServer,
    *,
    insecure: bool = True,
    ca_file: str | None = None,
    credentials: bool = False,
    retry: RetryPolicy = FAST,
) -> Registries:
    settings = RegistrySettings(
        insecure=insecure,
        ca_file=ca_file,
        username_env="U" if credentials else None,
        password_env="P" if credentials else None,
    )
    env = {"U": USER, "P": PASSWORD} if credentials else {}
    return Registries({server.host: settings}, env=env, docker_config_dir="/nonexistent", retry=retry)


def ref_for(server: FakeServer, **kw: str) -> ImageRef:
    return ImageRef(server.host, REPO, **kw)


def manifest_reply(body: bytes, media_type: str = OCI_MANIFEST, **headers: str) -> Reply:
    return Reply(200, {"Content-Type": media_type, "Docker-Content-Digest": digest_of(body), **headers}, body)


@pytest.fixture
def ca(tmp_path: Any) -> Iterator[tuple[SelfSigned, str]]:
    cert = make_self_signed()
    path = tmp_path / "ca.pem"
    path.write_bytes(cert.cert_pem)
    yield cert, str(path)


# -- content that does not match --------------------------------------------------------------------------------


def test_manifest_not_matching_requested_digest(fake_server: MakeServer) -> None:
    server = fake_server()
    wanted = digest_of(manifest_bytes())
    evil = manifest_bytes(annotations={"evil": "yes"})
    server.route(f"/v2/{REPO}/manifests/{wanted}", Reply(200, {"Content-Type": OCI_MANIFEST}, evil))
    with regs_for(server) as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref_for(server)).get_manifest(ref_for(server), wanted)
    assert exc.value.code == Code.DIGEST_MISMATCH
    assert exc.value.expected == wanted and exc.value.found == digest_of(evil)


def test_blob_not_matching_digest(fake_server: MakeServer) -> None:
    server = fake_server()
    good = b"payload-good"
    server.route(f"/v2/{REPO}/blobs/{digest_of(good)}", Reply(200, {}, b"payload-evil"))
    with regs_for(server) as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref_for(server)).get_blob(
            ref_for(server), Descriptor("application/octet-stream", digest_of(good), len(good))
        )
    assert exc.value.code == Code.DIGEST_MISMATCH


def test_sha512_digests_are_checked(fake_server: MakeServer) -> None:
    server = fake_server()
    body = manifest_bytes()
    d512 = digest_of(body, "sha512")
    server.route(f"/v2/{REPO}/manifests/{d512}", Reply(200, {"Content-Type": OCI_MANIFEST}, body))
    blob = b"blob"
    server.route(f"/v2/{REPO}/blobs/{digest_of(blob, 'sha512')}", Reply(200, {}, b"blub"))
    with regs_for(server) as regs:
        source = regs.source_for(ref_for(server))
        assert source.get_manifest(ref_for(server), d512).descriptor.digest == d512
        with pytest.raises(RegistryError) as exc:
            source.get_blob(ref_for(server), Descriptor("x/y", digest_of(blob, "sha512"), 4))
    assert exc.value.code == Code.DIGEST_MISMATCH


def test_head_naming_another_digest_for_a_digest_reference(fake_server: MakeServer) -> None:
    server = fake_server()
    body = manifest_bytes()
    wanted = digest_of(b"something else")
    server.route(f"/v2/{REPO}/manifests/{wanted}", manifest_reply(body))
    with regs_for(server) as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref_for(server)).resolve(ref_for(server, digest=wanted))
    assert exc.value.code == Code.DIGEST_MISMATCH


def test_tag_without_digest_header_is_hashed(fake_server: MakeServer) -> None:
    server = fake_server()
    body = manifest_bytes()
    server.route(f"/v2/{REPO}/manifests/v1", Reply(200, {"Content-Type": OCI_MANIFEST}, body))
    with regs_for(server) as regs:
        desc = regs.source_for(ref_for(server)).resolve(ref_for(server, tag="v1"))
    assert desc == Descriptor(OCI_MANIFEST, digest_of(body), len(body))
    assert [s.method for s in server.requests_to(f"/v2/{REPO}/manifests/v1")] == ["HEAD", "GET"]


@pytest.mark.parametrize(
    ("body", "content_type", "needle"),
    [
        (b"[1, 2]", OCI_MANIFEST, "not a JSON object"),
        (b"{not json", OCI_MANIFEST, "not valid JSON"),
        (b'{"schemaVersion": 1}', OCI_MANIFEST, "schemaVersion"),
        (manifest_bytes(), OCI_INDEX, "does not match the Content-Type"),
        (b'{"schemaVersion": 2, "schemaVersion": 2}', OCI_MANIFEST, "duplicate JSON key"),
    ],
)
def test_invalid_manifests(fake_server: MakeServer, body: bytes, content_type: str, needle: str) -> None:
    server = fake_server()
    server.route(f"/v2/{REPO}/manifests/{digest_of(body)}", Reply(200, {"Content-Type": content_type}, body))
    with regs_for(server) as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref_for(server)).get_manifest(ref_for(server), digest_of(body))
    assert exc.value.code == Code.REGISTRY_ERROR and needle in exc.value.message


@pytest.mark.parametrize("reference", ["../../etc/passwd", "sha256:abc", "sha256:" + "A" * 64, "v1/../x", "-x"])
def test_invalid_references_never_reach_the_network(fake_server: MakeServer, reference: str) -> None:
    server = fake_server()
    with regs_for(server) as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref_for(server)).get_manifest(ref_for(server), reference)
    assert exc.value.code == Code.INVALID_REFERENCE
    assert server.seen == []


# -- size caps while streaming --------------------------------------------------------------------------------


def test_oversize_manifest_by_content_length(fake_server: MakeServer) -> None:
    server = fake_server()
    body = b"{" + b" " * (MAX_MANIFEST_BYTES + 10) + b"}"
    server.route(f"/v2/{REPO}/manifests/big", Reply(200, {"Content-Type": OCI_MANIFEST}, body))
    with regs_for(server) as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref_for(server)).get_manifest(ref_for(server), "big")
    assert exc.value.code == Code.SIZE_LIMIT


@pytest.mark.parametrize("kind", ["manifest", "blob"])
def test_oversize_body_streamed_stops_reading(fake_server: MakeServer, kind: str) -> None:
    """No Content-Length, a 256 MiB body trickled out: we stop after cap+1 bytes and close."""
    server = fake_server()
    total = 256 * 1024 * 1024

    def huge() -> Iterator[bytes]:
        chunk = b" " * 65536
        for _ in range(total // len(chunk)):
            yield chunk

    cap = 100_000
    digest = digest_of(b"small")
    path = f"/v2/{REPO}/manifests/huge" if kind == "manifest" else f"/v2/{REPO}/blobs/{digest}"
    server.route(path, Reply(200, {"Content-Type": OCI_MANIFEST}, huge, length=False))
    with regs_for(server) as regs, pytest.raises(RegistryError) as exc:
        source = regs.source_for(ref_for(server))
        if kind == "manifest":
            source.get_manifest(ref_for(server), "huge", max_size=cap)
        else:
            source.get_blob(ref_for(server), Descriptor("a/b", digest, cap))
    assert exc.value.code == Code.SIZE_LIMIT and "stopped reading" in exc.value.message
    time.sleep(0.3)
    sent = server.bytes_sent.get(path, 0)
    assert 0 < sent < 32 * 1024 * 1024, sent  # far less than the 256 MiB offered (socket buffers only)


def test_blob_longer_or_shorter_than_descriptor(fake_server: MakeServer) -> None:
    server = fake_server()
    data = b"0123456789"
    server.route(f"/v2/{REPO}/blobs/{digest_of(data)}", Reply(200, {}, data + b"extra"))
    short = b"abcdefghij"
    server.route(f"/v2/{REPO}/blobs/{digest_of(short)}", Reply(200, {}, short[:5], length=False))
    with regs_for(server) as regs:
        source = regs.source_for(ref_for(server))
        with pytest.raises(RegistryError) as exc:
            source.get_blob(ref_for(server), Descriptor("a/b", digest_of(data), len(data)))
        assert exc.value.code == Code.SIZE_LIMIT
        with pytest.raises(RegistryError) as exc:
            source.get_blob(ref_for(server), Descriptor("a/b", digest_of(short), len(short)))
        assert exc.value.code == Code.DIGEST_MISMATCH


# -- redirects and credentials --------------------------------------------------------------------------------


def basic_guard(server: FakeServer, path: str, then: Reply) -> None:
    """The path answers 401 (Basic challenge) until credentials arrive, then ``then``."""
    server.route(path, Reply(401, {"WWW-Authenticate": 'Basic realm="fake"'}, b""), then)


@pytest.mark.parametrize("change", ["port", "host", "scheme-userinfo"])
def test_redirect_to_another_origin_gets_no_credentials(fake_server: MakeServer, change: str) -> None:
    registry = fake_server()
    storage = fake_server() if change == "port" else registry
    data = b"signature payload"
    digest = digest_of(data)
    storage.route("/storage/blob", Reply(200, {}, data))
    if change == "port":
        location = f"{storage.url}/storage/blob?X-Amz-Signature=s3cr3t"
    elif change == "host":  # same port, another host name
        location = f"http://localhost:{registry.port}/storage/blob"
    else:  # userinfo in the target must not turn into Basic auth
        location = f"http://evil:creds@localhost:{registry.port}/storage/blob"
    basic_guard(registry, f"/v2/{REPO}/blobs/{digest}", Reply(307, {"Location": location}, b""))
    with regs_for(registry, credentials=True) as regs:
        got = regs.source_for(ref_for(registry)).get_blob(ref_for(registry), Descriptor("a/b", digest, len(data)))
    assert got == data
    sent = registry.requests_to(f"/v2/{REPO}/blobs/{digest}")
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert [s.headers.get("Authorization") for s in sent] == [None, expected]
    (fetched,) = storage.requests_to("/storage/blob")
    assert "Authorization" not in fetched.headers


def test_same_origin_redirect_keeps_credentials(fake_server: MakeServer) -> None:
    registry = fake_server()
    data = b"blob"
    digest = digest_of(data)
    basic_guard(registry, f"/v2/{REPO}/blobs/{digest}", Reply(302, {"Location": "/elsewhere"}, b""))
    registry.route("/elsewhere", Reply(200, {}, data))
    with regs_for(registry, credentials=True) as regs:
        regs.source_for(ref_for(registry)).get_blob(ref_for(registry), Descriptor("a/b", digest, len(data)))
    (moved,) = registry.requests_to("/elsewhere")
    assert moved.headers.get("Authorization", "").startswith("Basic ")


def test_https_to_http_redirect_refused(fake_server: MakeServer, ca: tuple[SelfSigned, str]) -> None:
    cert, ca_file = ca
    registry, plain = fake_server(tls=cert), fake_server()
    data = b"blob"
    digest = digest_of(data)
    registry.route(f"/v2/{REPO}/blobs/{digest}", Reply(307, {"Location": f"{plain.url}/blob"}, b""))
    plain.route("/blob", Reply(200, {}, data))
    with regs_for(registry, insecure=False, ca_file=ca_file) as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref_for(registry)).get_blob(ref_for(registry), Descriptor("a/b", digest, len(data)))
    assert exc.value.code == Code.INSECURE_REFUSED
    assert plain.seen == []


def test_tls_with_ca_file(fake_server: MakeServer, ca: tuple[SelfSigned, str]) -> None:
    cert, ca_file = ca
    registry = fake_server(tls=cert)
    body = manifest_bytes()
    registry.route(f"/v2/{REPO}/manifests/v1", manifest_reply(body))
    with regs_for(registry, insecure=False, ca_file=ca_file) as regs:
        assert regs.source_for(ref_for(registry)).resolve(ref_for(registry, tag="v1")).digest == digest_of(body)
    with regs_for(registry, insecure=False) as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref_for(registry)).resolve(ref_for(registry, tag="v1"))
    assert exc.value.code == Code.REGISTRY_ERROR and "ca_file" in (exc.value.tip or "")


def test_plain_http_refused_unless_insecure(fake_server: MakeServer) -> None:
    server = fake_server()
    server.route(f"/v2/{REPO}/manifests/v1", manifest_reply(manifest_bytes()))
    with regs_for(server, insecure=False) as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref_for(server)).resolve(ref_for(server, tag="v1"))
    assert exc.value.code == Code.INSECURE_REFUSED
    assert "insecure: true" in (exc.value.tip or "")
    assert server.seen == []  # the TLS handshake failed; no HTTP request was ever served


def test_http_token_realm_refused_for_https_registry(fake_server: MakeServer, ca: tuple[SelfSigned, str]) -> None:
    cert, ca_file = ca
    registry, tokens = fake_server(tls=cert), fake_server()
    registry.route(
        f"/v2/{REPO}/manifests/v1",
        Reply(401, {"WWW-Authenticate": f'Bearer realm="{tokens.url}/token",service="x"'}, b""),
    )
    with (
        regs_for(registry, insecure=False, ca_file=ca_file, credentials=True) as regs,
        pytest.raises(RegistryError) as exc,
    ):
        regs.source_for(ref_for(registry)).resolve(ref_for(registry, tag="v1"))
    assert exc.value.code == Code.INSECURE_REFUSED
    assert tokens.seen == []


def test_redirect_loop_is_bounded(fake_server: MakeServer) -> None:
    server = fake_server()
    server.route(f"/v2/{REPO}/manifests/v1", Reply(302, {"Location": "/loop"}, b""))
    server.route("/loop", Reply(302, {"Location": "/loop"}, b""))
    with regs_for(server) as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref_for(server)).get_manifest(ref_for(server), "v1")
    assert "redirects" in exc.value.message
    assert len(server.seen) == 6


def test_error_messages_never_carry_query_secrets(fake_server: MakeServer) -> None:
    server = fake_server()
    data = b"blob"
    digest = digest_of(data)
    server.route(f"/v2/{REPO}/blobs/{digest}", Reply(307, {"Location": "/s3/obj?X-Amz-Signature=TOPSECRET&a=1"}, b""))
    server.route("/s3/obj", Reply(403, {}, b"denied"))
    with regs_for(server) as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref_for(server)).get_blob(ref_for(server), Descriptor("a/b", digest, len(data)))
    assert exc.value.code == Code.AUTH_ERROR
    assert "TOPSECRET" not in exc.value.diagnostics()
    assert redact_url("https://u:pw@h/p?token=abc&n=1") == "https://h/p?REDACTED"
    # every query string goes, whatever its parameters are called (signed CDN URLs use `verify=`, `sig=`, ...)
    assert redact_url("https://cdn.example/blob?verify=1700000000-SECRETSIG#frag") == "https://cdn.example/blob?REDACTED"
    assert redact_url("http://user@h:5000/v2/") == "http://h:5000/v2/"


# -- retries --------------------------------------------------------------------------------------------------


def test_429_retry_after_then_success(fake_server: MakeServer) -> None:
    server = fake_server()
    body = manifest_bytes()
    path = f"/v2/{REPO}/manifests/v1"
    server.route(path, Reply(429, {"Retry-After": "1"}, b""), manifest_reply(body))
    with regs_for(server) as regs:
        assert regs.source_for(ref_for(server)).resolve(ref_for(server, tag="v1")).digest == digest_of(body)
        assert regs.request_count == 2
    assert len(server.requests_to(path)) == 2


def test_503_and_dropped_connection_then_success(fake_server: MakeServer) -> None:
    server = fake_server()
    body = manifest_bytes()
    path = f"/v2/{REPO}/manifests/v1"
    server.route(path, Reply(503), Reply(drop=True), manifest_reply(body))
    with regs_for(server) as regs:
        assert regs.source_for(ref_for(server)).resolve(ref_for(server, tag="v1")).digest == digest_of(body)
    assert len(server.requests_to(path)) == 3


def test_500_retried_once_only(fake_server: MakeServer) -> None:
    server = fake_server()
    path = f"/v2/{REPO}/manifests/v1"
    err = b'{"errors":[{"code":"UNKNOWN","message":"disk on fire"}]}'
    server.route(path, Reply(500, {"Content-Type": "application/json"}, err))
    with regs_for(server) as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref_for(server)).get_manifest(ref_for(server), "v1")
    assert exc.value.code == Code.REGISTRY_ERROR and exc.value.status == 500
    assert "UNKNOWN: disk on fire" in exc.value.message and path in exc.value.message
    assert len(server.requests_to(path)) == 2


def test_persistent_429_is_rate_limited(fake_server: MakeServer) -> None:
    server = fake_server()
    path = f"/v2/{REPO}/manifests/v1"
    server.route(path, Reply(429, {"Retry-After": "0"}, b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow"}]}'))
    with regs_for(server) as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref_for(server)).get_manifest(ref_for(server), "v1")
    assert exc.value.code == Code.RATE_LIMITED and "TOOMANYREQUESTS" in exc.value.message
    assert len(server.requests_to(path)) == FAST.attempts


def test_connection_refused_is_bounded() -> None:
    from tests.fixtures.registry import free_port

    host = f"127.0.0.1:{free_port()}"
    with (
        Registries({host: RegistrySettings(insecure=True)}, env={}, retry=FAST) as regs,
        pytest.raises(RegistryError) as exc,
    ):
        regs.source_for(ImageRef(host, REPO, tag="v1")).resolve(ImageRef(host, REPO, tag="v1"))
    assert exc.value.code == Code.REGISTRY_ERROR and "attempts" in exc.value.message
    assert regs.request_count == FAST.attempts


def test_retry_after_forms() -> None:
    assert parse_retry_after("7", 30) == 7
    assert parse_retry_after("120", 30) == 30
    assert parse_retry_after(None, 30) is None and parse_retry_after("soon", 30) is None
    later = email.utils.formatdate(time.time() + 20, usegmt=True)
    value = parse_retry_after(later, 30)
    assert value is not None and 15 <= value <= 20
    past = email.utils.formatdate(time.time() - 100, usegmt=True)
    assert parse_retry_after(past, 30) == 0


# -- referrers API --------------------------------------------------------------------------------------------


def referrer(n: int, artifact_type: str = "application/vnd.dev.sigstore.bundle.v0.3+json") -> dict[str, Any]:
    body = manifest_bytes(annotations={"n": str(n)})
    return {
        "mediaType": OCI_MANIFEST,
        "digest": digest_of(body),
        "size": len(body),
        "artifactType": artifact_type,
        "annotations": {"n": str(n)},
    }


def test_referrers_api_with_pagination(fake_server: MakeServer) -> None:
    server = fake_server()
    subject = digest_of(b"image")
    path = f"/v2/{REPO}/referrers/{subject}"
    page1 = canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [referrer(1), referrer(2)]})
    page2 = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [referrer(3, "application/vnd.cncf.notary.signature")],
        }
    )
    server.route(
        path,
        Reply(200, {"Content-Type": OCI_INDEX, "Link": f'<{path}?n=2&last=x>; rel="next"'}, page1),
        Reply(200, {"Content-Type": OCI_INDEX}, page2),
    )
    with regs_for(server) as regs:
        result = regs.source_for(ref_for(server)).referrers(ref_for(server), subject)
    assert result.via == "referrers API"
    assert [d.annotations["n"] for d in result.descriptors] == ["1", "2", "3"]
    assert result.descriptors[2].artifact_type == "application/vnd.cncf.notary.signature"
    assert server.requests_to(path)[0].headers["Accept"] == OCI_INDEX


def test_referrers_pagination_to_another_origin_refused(fake_server: MakeServer) -> None:
    server, other = fake_server(), fake_server()
    subject = digest_of(b"image")
    path = f"/v2/{REPO}/referrers/{subject}"
    page = canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [referrer(1)]})
    server.route(path, Reply(200, {"Content-Type": OCI_INDEX, "Link": f'<{other.url}{path}>; rel="next"'}, page))
    with regs_for(server) as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref_for(server)).referrers(ref_for(server), subject)
    assert "another origin" in exc.value.message and other.seen == []


@pytest.mark.parametrize("status", [400, 404, 405, 501])
def test_referrers_unsupported_falls_back_to_tag(fake_server: MakeServer, status: int) -> None:
    server = fake_server()
    subject = digest_of(b"image")
    server.route(f"/v2/{REPO}/referrers/{subject}", Reply(status, {}, b""))
    index = canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [referrer(7)]})
    server.route(f"/v2/{REPO}/manifests/{fallback_tag(subject)}", Reply(200, {"Content-Type": OCI_INDEX}, index))
    with regs_for(server) as regs:
        result = regs.source_for(ref_for(server)).referrers(ref_for(server), subject)
    assert result.via == "referrers tag" and [d.annotations["n"] for d in result.descriptors] == ["7"]


def test_referrers_with_invalid_descriptor_digest(fake_server: MakeServer) -> None:
    server = fake_server()
    subject = digest_of(b"image")
    bad = {**referrer(1), "digest": "sha256:../../../etc/passwd"}
    page = canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [bad]})
    server.route(f"/v2/{REPO}/referrers/{subject}", Reply(200, {"Content-Type": OCI_INDEX}, page))
    with regs_for(server) as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref_for(server)).referrers(ref_for(server), subject)
    assert "invalid digest" in exc.value.message


def test_referrers_server_error_is_not_an_empty_list(fake_server: MakeServer) -> None:
    server = fake_server()
    subject = digest_of(b"image")
    server.route(f"/v2/{REPO}/referrers/{subject}", Reply(502))
    with regs_for(server) as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref_for(server)).referrers(ref_for(server), subject)
    assert exc.value.status == 502


def test_not_found_blob(fake_server: MakeServer) -> None:
    server = fake_server()
    with regs_for(server) as regs, pytest.raises(NotFoundError):
        regs.source_for(ref_for(server)).get_blob(ref_for(server), Descriptor("a/b", digest_of(b"x"), 1))


def test_json_is_what_we_parse() -> None:
    # the helper builds what registries store; keep it honest
    assert json.loads(manifest_bytes())["schemaVersion"] == 2


# -- connection reuse, dropped bodies, slow bodies ----------------------------------------------------------


def test_connections_are_reused(fake_server: MakeServer) -> None:
    """HEAD, manifest GET and blob GET of many images travel over one keep-alive connection."""
    server = fake_server()
    for i in range(5):
        body = manifest_bytes(annotations={"i": str(i)})
        server.route(f"/v2/{REPO}/manifests/v{i}", manifest_reply(body))
        server.route(f"/v2/{REPO}/manifests/{digest_of(body)}", manifest_reply(body))
        server.route(f"/v2/{REPO}/blobs/{digest_of(str(i).encode())}", Reply(200, {}, str(i).encode()))
    with regs_for(server) as regs:
        source = regs.source_for(ref_for(server))
        for i in range(5):
            desc = source.resolve(ref_for(server, tag=f"v{i}"))
            source.get_manifest(ref_for(server), desc.digest)
            source.get_blob(ref_for(server), Descriptor("a/b", digest_of(str(i).encode()), 1))
    assert len(server.seen) == 15
    assert len({s.client_port for s in server.seen}) == 1


def test_body_dropped_midway_is_retried_once(fake_server: MakeServer) -> None:
    server = fake_server()
    data = b"0123456789" * 10
    digest = digest_of(data)

    def half() -> Iterator[bytes]:
        yield data[:30]

    path = f"/v2/{REPO}/blobs/{digest}"
    server.route(path, Reply(200, {"Content-Length": "100"}, half, length=True, close=True), Reply(200, {}, data))
    with regs_for(server) as regs:
        assert regs.source_for(ref_for(server)).get_blob(ref_for(server), Descriptor("a/b", digest, 100)) == data
    assert len(server.requests_to(path)) == 2


def test_trickling_body_hits_the_deadline(fake_server: MakeServer) -> None:
    server = fake_server()
    data = b"x" * 200
    digest = digest_of(data)

    def trickle() -> Iterator[bytes]:
        for b in data:
            time.sleep(0.05)
            yield bytes([b])

    server.route(f"/v2/{REPO}/blobs/{digest}", Reply(200, {"Content-Length": "200"}, trickle, length=True))
    settings = {server.host: RegistrySettings(insecure=True)}
    with Registries(settings, env={}, timeout=0.25, retry=FAST) as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref_for(server)).get_blob(ref_for(server), Descriptor("a/b", digest, 200))
    assert "not received within" in exc.value.message


def test_too_many_referrers_is_an_error(fake_server: MakeServer) -> None:
    from sigverify.registry.base import MAX_REFERRERS

    server = fake_server()
    subject = digest_of(b"image")
    page = canonical_json(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [referrer(i) for i in range(MAX_REFERRERS + 1)]}
    )
    server.route(f"/v2/{REPO}/referrers/{subject}", Reply(200, {"Content-Type": OCI_INDEX}, page))
    with regs_for(server) as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref_for(server)).referrers(ref_for(server), subject)
    assert exc.value.code == Code.SIZE_LIMIT


def test_429_asking_for_a_long_wait_fails_at_once(fake_server: MakeServer) -> None:
    server = fake_server()
    path = f"/v2/{REPO}/manifests/v1"
    server.route(path, Reply(429, {"Retry-After": "3600"}, b""))
    with regs_for(server) as regs, pytest.raises(RegistryError) as exc:
        regs.source_for(ref_for(server)).get_manifest(ref_for(server), "v1")
    assert exc.value.code == Code.RATE_LIMITED and "Retry-After: 3600" in exc.value.message
    assert len(server.requests_to(path)) == 1
