"""Bounds of the registry layer that are not time: per-registry concurrency, shared backoff on 429/503, token
lifetimes, hostile JSON in credentials, chunked bodies, and the redaction of URLs in registry-supplied text."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sigverify.errors import RegistryError
from sigverify.models import Code, Descriptor, ImageRef
from sigverify.policy.model import RegistrySettings
from sigverify.registry import Registries, RetryPolicy
from sigverify.registry.auth import MIN_TOKEN_LIFETIME, token_lifetime
from sigverify.registry.content import digest_of
from sigverify.registry.response import registry_error_detail
from sigverify.registry.urls import next_link, redact_text
from tests.fixtures.registry import FakeServer, Reply

REPO = "team/app"
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=5.0)
MakeServer = Callable[..., FakeServer]


# -- per-registry concurrency and shared backoff ----------------------------------------------------------------


@pytest.fixture
def served() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.stop()


def test_at_most_pool_size_requests_in_flight_to_one_registry(served: FakeServer) -> None:
    data = b"payload"
    digest = digest_of(data)
    lock = threading.Lock()
    now = [0]
    peak = [0]

    def slow() -> Iterator[bytes]:
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        time.sleep(0.2)
        with lock:
            now[0] -= 1
        yield data

    served.route(f"/v2/{REPO}/blobs/{digest}", Reply(200, {"Content-Length": str(len(data))}, slow, length=True))
    ref = ImageRef(served.host, REPO, tag="v1")
    settings = {served.host: RegistrySettings(insecure=True)}
    with Registries(settings, env={}, retry=FAST, pool_size=2) as regs:
        def fetch(_: int) -> bytes:
            return regs.source_for(ref).get_blob(ref, Descriptor("a/b", digest, len(data)))

        threads = [threading.Thread(target=fetch, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert len(served.requests_to(f"/v2/{REPO}/blobs/{digest}")) == 8
    assert peak[0] == 2


def test_503_with_retry_after_holds_back_every_thread_of_that_registry(served: FakeServer) -> None:
    """One request told to come back in 1 s: requests of other threads to the same registry wait as well."""
    body = b"blob"
    digest = digest_of(body)
    blob_path = f"/v2/{REPO}/blobs/{digest}"
    busy_path = f"/v2/{REPO}/manifests/busy"
    served.route(busy_path, Reply(503, {"Retry-After": "1"}, b""), Reply(200, {}, b"{}"))
    served.route(blob_path, Reply(200, {}, body))
    arrivals: dict[str, float] = {}
    ref = ImageRef(served.host, REPO, tag="v1")
    with Registries({served.host: RegistrySettings(insecure=True)}, env={}, retry=FAST) as regs:
        source = regs.source_for(ref)
        def ask_busy() -> None:
            with pytest.raises(RegistryError):  # retried after the wait, then found not to be a manifest
                source.get_manifest(ref, "busy")

        busy = threading.Thread(target=ask_busy)
        busy.start()
        while not served.requests_to(busy_path):
            time.sleep(0.01)
        told = time.monotonic()
        time.sleep(0.1)  # the 503 has been answered; now another thread asks for something else
        source.get_blob(ref, Descriptor("a/b", digest, len(body)))
        arrivals["blob"] = time.monotonic()
        busy.join(30)
    assert arrivals["blob"] - told >= 0.8  # it waited out (most of) the registry's Retry-After


# -- tokens -----------------------------------------------------------------------------------------------------


def iso(seconds_ago: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds_ago)).isoformat().replace("+00:00", "Z")


def test_token_lifetime_from_expires_in_and_issued_at() -> None:
    assert token_lifetime({"expires_in": 300}) == 300
    assert token_lifetime({}) == MIN_TOKEN_LIFETIME  # the docker token spec's default
    assert token_lifetime({"expires_in": 5}) == MIN_TOKEN_LIFETIME
    assert token_lifetime({"expires_in": True}) == MIN_TOKEN_LIFETIME
    assert token_lifetime({"expires_in": 10**9}) == 24 * 3600  # never trusted for more than a day
    # issued two minutes before we asked: two minutes less
    assert 175 <= token_lifetime({"expires_in": 300, "issued_at": iso(120)}) <= 181
    # a server clock ahead of ours is ignored; one far behind never makes a token last under a minute
    assert token_lifetime({"expires_in": 300, "issued_at": iso(-600)}) == 300
    assert token_lifetime({"expires_in": 300, "issued_at": iso(3600)}) == MIN_TOKEN_LIFETIME
    assert token_lifetime({"expires_in": 300, "issued_at": "yesterday"}) == 300


# -- redaction and small parsers --------------------------------------------------------------------------------


def test_urls_in_registry_text_are_redacted() -> None:
    text = 'denied: see https://user:pw@cdn.example/o?verify=SIG and http://h/p?X-Amz-Signature=S2 now'
    assert redact_text(text) == "denied: see https://cdn.example/o?REDACTED and http://h/p?REDACTED now"
    body = b'{"errors": [{"code": "DENIED", "message": "fetch https://s3.example/b?sig=SECRET failed"}]}'
    assert registry_error_detail(body) == "DENIED: fetch https://s3.example/b?REDACTED failed"
    assert registry_error_detail(b'{"errors": ' + b"[" * 100_000 + b"]" * 100_000 + b"}") is None


def test_next_link() -> None:
    assert next_link('</v2/a/referrers/x?n=2&last=y>; rel="next"') == "/v2/a/referrers/x?n=2&last=y"
    assert next_link('<https://o/p>; rel="prev", <https://o/q>; type="x"; rel=next') == "https://o/q"
    assert next_link('<https://o/p>; rel="prev"') is None
    assert next_link(None) is None


def test_an_error_body_with_a_signed_url_does_not_leak(served: FakeServer) -> None:
    path = f"/v2/{REPO}/manifests/v1"
    err = b'{"errors":[{"code":"DENIED","message":"see https://cdn.example/x?verify=TOPSECRET"}]}'
    served.route(path, Reply(403, {"Content-Type": "application/json"}, err))
    ref = ImageRef(served.host, REPO, tag="v1")
    with (
        Registries({served.host: RegistrySettings(insecure=True)}, env={}, retry=FAST) as regs,
        pytest.raises(RegistryError) as exc,
    ):
        regs.source_for(ref).get_manifest(ref, "v1")
    assert exc.value.code == Code.AUTH_ERROR and "DENIED" in exc.value.message
    assert "TOPSECRET" not in exc.value.diagnostics()


def test_http_proxy_from_the_environment_is_used(served: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTP_PROXY / NO_PROXY are honoured (the registry below does not exist: only the proxy can answer)."""
    body = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}'
    target = "registry.invalid:5000"
    served.route(f"http://{target}/v2/{REPO}/manifests/v1",
                 Reply(200, {"Content-Type": "application/vnd.oci.image.manifest.v1+json",
                             "Docker-Content-Digest": digest_of(body)}, body))
    monkeypatch.setenv("HTTP_PROXY", served.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    ref = ImageRef(target, REPO, tag="v1")
    with Registries({target: RegistrySettings(insecure=True)}, env={}, retry=FAST) as regs:
        assert regs.source_for(ref).resolve(ref).digest == digest_of(body)
    monkeypatch.setenv("NO_PROXY", "registry.invalid")
    with Registries({target: RegistrySettings(insecure=True)}, env={}, retry=FAST) as regs, pytest.raises(
            RegistryError) as exc:
        regs.source_for(ref).resolve(ref)  # straight to a host that does not resolve
    assert exc.value.code == Code.REGISTRY_ERROR
    assert len(served.seen) == 1


def test_hostile_docker_config_and_helper_answers_are_clear_errors(tmp_path: Path) -> None:
    from sigverify.registry.credentials import Keychain

    (tmp_path / "config.json").write_bytes(b'{"auths": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    with pytest.raises(RegistryError) as exc:
        Keychain({}, env={}, docker_config_dir=str(tmp_path)).get("ghcr.io")
    assert exc.value.code == Code.AUTH_ERROR and "nested deeper than 64 levels" in exc.value.message
    (tmp_path / "config.json").write_bytes(b'{"auths": {}, "auths": {"ghcr.io": {"auth": "eDp5"}}}')
    with pytest.raises(RegistryError) as exc:
        Keychain({}, env={}, docker_config_dir=str(tmp_path)).get("ghcr.io")
    assert exc.value.code == Code.AUTH_ERROR and "duplicate JSON key 'auths'" in exc.value.message


def test_chunked_bodies_are_read_whole_and_capped() -> None:
    """Registries and CDNs send chunked bodies too: read in full, keep-alive kept, and capped while streaming."""
    import socket

    data = b"signature payload " * 500
    srv = socket.create_server(("127.0.0.1", 0))
    connections = []

    def handle(conn: socket.socket) -> None:
        buf = b""
        with contextlib.suppress(OSError), conn:
            while True:
                while b"\r\n\r\n" not in buf:
                    more = conn.recv(4096)
                    if not more:
                        return
                    buf += more
                buf = buf.split(b"\r\n\r\n", 1)[1]
                out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                for i in range(0, len(data), 777):
                    out += b"%x\r\n" % len(data[i:i + 777]) + data[i:i + 777] + b"\r\n"
                conn.sendall(out + b"0\r\n\r\n")

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = srv.accept()
                connections.append(conn)
                threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    host = f"127.0.0.1:{srv.getsockname()[1]}"
    ref = ImageRef(host, REPO, tag="v1")
    try:
        with Registries({host: RegistrySettings(insecure=True)}, env={}, retry=FAST) as regs:
            source = regs.source_for(ref)
            for _ in range(3):
                assert source.get_blob(ref, Descriptor("a/b", digest_of(data), len(data))) == data
            assert len(connections) == 1  # the chunked body was read to its end: the connection was reused
            with pytest.raises(RegistryError) as exc:
                source.get_blob(ref, Descriptor("a/b", digest_of(data), len(data) - 1))
            assert exc.value.code == Code.SIZE_LIMIT
    finally:
        srv.close()
