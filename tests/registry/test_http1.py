"""The direct HTTP/1.1 client: header parsing, kept-alive connections the server closed, bodies cut short, repeated
or conflicting fields, and bodies taken as sent (never decoded behind the digest's back)."""

from __future__ import annotations

import contextlib
import gzip
import io
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from sigverify.errors import RegistryError
from sigverify.models import Code, Descriptor, ImageRef
from sigverify.policy.model import RegistrySettings
from sigverify.registry import Registries, RetryPolicy
from sigverify.registry.content import digest_of
from sigverify.registry.http1 import MAX_HEADERS, parse_headers

REPO = "team/app"
FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02, max_retry_after=1.0)


# -- header parsing ----------------------------------------------------------------------------------------------


def test_header_names_ignore_case_and_repeated_fields_are_joined() -> None:
    headers = parse_headers(io.BytesIO(b"Content-Type: a/b\r\nX-A: 1\r\nx-a:  2 \r\nFolded: one\r\n two\r\n\r\nbody"))
    assert headers.get("content-type") == headers.get("CONTENT-TYPE") == "a/b"
    assert headers.get("X-A") == "1, 2"
    assert headers.get("Folded") == "one two"
    assert headers.get("Missing", "d") == "d" and headers.get("x-A") == "1, 2" and headers.get("Missing") is None


@pytest.mark.parametrize(
    "block",
    [
        b"No colon here\r\n\r\n",
        b": no name\r\n\r\n",
        b"Space Name: v\r\n\r\n",
        b"Name : v\r\n\r\n",
        b" continuation first\r\n\r\n",
        b"".join(b"X-%d: v\r\n" % i for i in range(MAX_HEADERS + 1)) + b"\r\n",
        b"X-Long: " + b"a" * 70000 + b"\r\n\r\n",
    ],
    ids=["no-colon", "no-name", "space-in-name", "space-before-colon", "leading-continuation", "too-many", "too-long"],
)
def test_a_malformed_header_block_is_refused(block: bytes) -> None:
    from sigverify.registry.http1 import ProtocolError

    with pytest.raises(ProtocolError):
        parse_headers(io.BytesIO(block))


def test_an_idle_connection_is_dead_once_the_server_closed_or_wrote_to_it() -> None:
    from sigverify.registry.pool import Conn, is_dead

    for action in ("nothing", "close", "write"):
        client, server = socket.socketpair()
        conn = Conn("127.0.0.1", 1, None)
        conn.sock = client
        if action == "close":
            server.close()
        elif action == "write":
            server.sendall(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
        assert is_dead(conn) is (action != "nothing"), action
        conn.close()
        server.close()
    assert is_dead(Conn("127.0.0.1", 1, None))  # never connected


# -- a scripted server: each connection answers with the next script -----------------------------------------------

Script = Callable[["_Recorder"], None]


@contextlib.contextmanager
def scripted(*scripts: Script) -> Iterator[tuple[str, list[int]]]:
    """A loopback server whose n-th connection runs ``scripts[n]`` (the last repeats); yields host and a list that
    records, per request line received, the number of the connection it arrived on."""
    srv = socket.create_server(("127.0.0.1", 0))
    seen: list[int] = []

    def serve() -> None:
        n = 0
        with contextlib.suppress(OSError):
            while True:
                conn, _ = srv.accept()
                script = scripts[min(n, len(scripts) - 1)]
                number = n
                n += 1

                def run(conn: socket.socket = conn, script: Script = script, number: int = number) -> None:
                    with contextlib.suppress(OSError), conn:
                        conn.settimeout(10)
                        script(_Recorder(conn, seen, number))

                threading.Thread(target=run, daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"127.0.0.1:{srv.getsockname()[1]}", seen
    finally:
        srv.close()


class _Recorder:
    """The connection as a script sees it: ``request()`` reads one request head and records its connection."""

    def __init__(self, conn: socket.socket, seen: list[int], number: int) -> None:
        self.conn, self.seen, self.number, self.buf = conn, seen, number, b""

    def request(self) -> bool:
        while b"\r\n\r\n" not in self.buf:
            more = self.conn.recv(4096)
            if not more:
                return False
            self.buf += more
        self.buf = self.buf.split(b"\r\n\r\n", 1)[1]
        self.seen.append(self.number)
        return True

    def sendall(self, data: bytes) -> None:
        self.conn.sendall(data)

    def close(self) -> None:
        self.conn.close()


def _ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n" % (len(body), extra) + body


BODY = b"signature payload"
DIGEST = digest_of(BODY)


def _get(host: str, body: bytes = BODY, size: int | None = None) -> bytes:
    ref = ImageRef(host, REPO, tag="v1")
    with Registries({host: RegistrySettings(insecure=True)}, env={}, retry=FAST) as regs:
        descriptor = Descriptor("a/b", digest_of(body), len(body) if size is None else size)
        return regs.source_for(ref).get_blob(ref, descriptor)


def test_connections_are_kept_alive_between_requests() -> None:
    def keep(c: _Recorder) -> None:
        while c.request():
            c.sendall(_ok(BODY))

    with scripted(keep) as (host, seen):
        ref = ImageRef(host, REPO, tag="v1")
        with Registries({host: RegistrySettings(insecure=True)}, env={}, retry=FAST) as regs:
            source = regs.source_for(ref)
            for _ in range(3):
                assert source.get_blob(ref, Descriptor("a/b", DIGEST, len(BODY))) == BODY
        assert seen == [0, 0, 0]


def test_a_kept_alive_connection_the_server_closed_is_not_reused() -> None:
    def once_then_close(c: _Recorder) -> None:
        if c.request():
            c.sendall(_ok(BODY))
        c.close()  # an idle timeout on the server's side

    with scripted(once_then_close) as (host, seen):
        ref = ImageRef(host, REPO, tag="v1")
        with Registries({host: RegistrySettings(insecure=True)}, env={}, retry=RetryPolicy(attempts=1)) as regs:
            source = regs.source_for(ref)
            assert source.get_blob(ref, Descriptor("a/b", DIGEST, len(BODY))) == BODY
            threading.Event().wait(0.2)  # the close reaches the client's idle connection
            assert source.get_blob(ref, Descriptor("a/b", DIGEST, len(BODY))) == BODY
        assert seen == [0, 1]


def test_a_request_lost_to_a_server_closing_a_kept_alive_connection_is_sent_once_more() -> None:
    def close_on_second(c: _Recorder) -> None:
        if c.request():
            c.sendall(_ok(BODY))
        if c.request():  # the second request arrives as the server gives up the connection: no answer
            c.close()

    def keep(c: _Recorder) -> None:
        while c.request():
            c.sendall(_ok(BODY))

    with scripted(close_on_second, keep) as (host, seen):
        ref = ImageRef(host, REPO, tag="v1")
        once = RetryPolicy(attempts=1)  # no retry at the transport's level: the resend is the connection pool's
        with Registries({host: RegistrySettings(insecure=True)}, env={}, retry=once) as regs:
            source = regs.source_for(ref)
            assert source.get_blob(ref, Descriptor("a/b", DIGEST, len(BODY))) == BODY
            assert source.get_blob(ref, Descriptor("a/b", DIGEST, len(BODY))) == BODY
        assert seen == [0, 0, 1]  # the lost request again, on a new connection


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY[:5],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % len(BODY) + BODY[:4],
    ],
    ids=["short-of-content-length", "inside-a-chunk"],
)
def test_a_body_cut_short_is_an_error_not_a_short_body(reply: bytes) -> None:
    def short(c: _Recorder) -> None:
        if c.request():
            c.sendall(reply)
        c.close()

    with scripted(short) as (host, _seen), pytest.raises(RegistryError) as exc:
        _get(host)
    assert "connection closed before the body was complete" in exc.value.message


def test_a_body_is_taken_as_sent_even_with_an_unrequested_content_encoding() -> None:
    """We ask for identity; a server that gzips anyway is checked on the bytes it sent (as Go clients do)."""
    stored = gzip.compress(BODY)

    def gz(c: _Recorder) -> None:
        while c.request():
            c.sendall(_ok(stored, b"Content-Encoding: gzip\r\n"))

    with scripted(gz) as (host, _seen):
        assert _get(host, stored) == stored
        with pytest.raises(RegistryError) as exc:
            _get(host, BODY, len(stored))  # the decoded bytes are not what was sent: their digest is not the blob's
    assert exc.value.code == Code.DIGEST_MISMATCH


def test_https_through_a_proxy_goes_through_a_connect_tunnel(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTPS_PROXY: the proxy sees only CONNECT host:port (with its own credentials); TLS is end to end."""
    import base64
    from pathlib import Path

    from tests.fixtures.registry import FakeServer, Reply, make_self_signed

    tls = make_self_signed()
    registry = FakeServer(tls=tls)
    body = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}'
    registry.route(f"/v2/{REPO}/manifests/v1", Reply(200, {
        "Content-Type": "application/vnd.oci.image.manifest.v1+json", "Docker-Content-Digest": digest_of(body)}, body))
    heads: list[bytes] = []
    srv = socket.create_server(("127.0.0.1", 0))

    def pipe(a: socket.socket, b: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := a.recv(65536):
                b.sendall(data)
        with contextlib.suppress(OSError):
            b.shutdown(socket.SHUT_WR)

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = srv.accept()
                head = b""
                while b"\r\n\r\n" not in head:
                    head += client.recv(4096)
                heads.append(head)
                upstream = socket.create_connection(("127.0.0.1", registry.port))
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
                threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    ca = Path(str(tmp_path)) / "ca.pem"
    ca.write_bytes(tls.cert_pem)
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", f"http://proxyuser:pa%20ss@127.0.0.1:{srv.getsockname()[1]}")
    ref = ImageRef(registry.host, REPO, tag="v1")
    try:
        with Registries({registry.host: RegistrySettings(ca_file=str(ca))}, env={}, retry=FAST) as regs:
            assert regs.source_for(ref).resolve(ref).digest == digest_of(body)
    finally:
        srv.close()
        registry.stop()
    assert len(heads) == 1
    assert heads[0].startswith(f"CONNECT {registry.host} HTTP/1.".encode())
    credentials = base64.b64encode(b"proxyuser:pa ss").decode()
    assert f"proxy-authorization: basic {credentials}".lower().encode() in heads[0].lower()
    assert len(registry.seen) == 1  # the registry got the request itself, through the tunnel


# -- response framing ----------------------------------------------------------------------------------------------


def _chunked(body: bytes, size: int = 5, trailer: bytes = b"") -> bytes:
    out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    for i in range(0, len(body), size):
        out += b"%x;ext=1\r\n" % len(body[i : i + size]) + body[i : i + size] + b"\r\n"
    return out + b"0\r\n" + trailer + b"\r\n"


@pytest.mark.parametrize(
    "reply",
    [
        _chunked(BODY),
        _chunked(BODY, trailer=b"X-Trailer: 1\r\n"),
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n" + _ok(BODY),
    ],
    ids=["chunked", "chunked-with-trailer", "interim-responses"],
)
def test_well_framed_bodies_are_read_whole_and_the_connection_kept(reply: bytes) -> None:
    def keep(c: _Recorder) -> None:
        while c.request():
            c.sendall(reply)

    with scripted(keep) as (host, seen):
        ref = ImageRef(host, REPO, tag="v1")
        with Registries({host: RegistrySettings(insecure=True)}, env={}, retry=FAST) as regs:
            source = regs.source_for(ref)
            for _ in range(2):
                assert source.get_blob(ref, Descriptor("a/b", DIGEST, len(BODY))) == BODY
        assert seen == [0, 0]


def test_a_body_that_ends_with_the_connection_is_read_and_the_connection_not_reused() -> None:
    def http10(c: _Recorder) -> None:
        if c.request():
            c.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + BODY)
        c.close()

    with scripted(http10) as (host, seen):
        ref = ImageRef(host, REPO, tag="v1")
        with Registries({host: RegistrySettings(insecure=True)}, env={}, retry=FAST) as regs:
            source = regs.source_for(ref)
            for _ in range(2):
                assert source.get_blob(ref, Descriptor("a/b", DIGEST, len(BODY))) == BODY
        assert seen == [0, 1]


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + BODY + b"\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % len(BODY) + BODY + b"XX0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        b"HTTP/2 200 OK\r\nContent-Length: 17\r\n\r\n" + BODY,
        b"HTTP/1.1 2000 OK\r\nContent-Length: 17\r\n\r\n" + BODY,
        b"".join(b"HTTP/1.1 100 Continue\r\n\r\n" for _ in range(11)) + _ok(BODY),
        b"HTTP/1.1 200 OK\r\nContent-Length: 17\r\nContent-Length: 18\r\n\r\n" + BODY,
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n" + BODY,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0x11\r\n\r\n" + BODY,
    ],
    ids=["bad-chunk-size", "chunk-without-crlf", "other-transfer-coding", "http2-status", "bad-status", "endless-1xx",
         "two-content-lengths", "negative-content-length", "hex-content-length"],
)
def test_badly_framed_answers_are_refused(reply: bytes) -> None:
    def bad(c: _Recorder) -> None:
        while c.request():
            c.sendall(reply)
        c.close()

    with scripted(bad) as (host, _seen), pytest.raises(RegistryError) as exc:
        _get(host)
    assert "not valid HTTP" in exc.value.message
    assert exc.value.code == Code.REGISTRY_ERROR


@pytest.mark.parametrize(
    ("target", "headers"),
    [
        ("/v2/x\r\nX-Injected: 1", {}),
        ("/v2/x y", {}),
        ("/v2/x", {"Authorization": "Bearer abc\r\nX-Injected: 1"}),
        ("/v2/x", {"Bad Name": "v"}),
        ("/v2/x", {"Authorization": "Bearer \u2603"}),
    ],
    ids=["crlf-in-target", "space-in-target", "crlf-in-value", "space-in-name", "not-latin-1"],
)
def test_a_request_that_would_split_its_head_is_never_sent(target: str, headers: dict[str, str]) -> None:
    from sigverify.registry.http1 import DirectOpener
    from sigverify.registry.pool import SendError

    def record(c: _Recorder) -> None:
        while c.request():
            c.sendall(_ok(BODY))

    with scripted(record) as (host, seen):
        opener = DirectOpener(size=2, ca_file=None)
        with pytest.raises(SendError) as exc:
            opener.open("GET", f"http://{host}{target}", headers, None, 5.0, 5.0)
        opener.close()
        assert exc.value.kind == "other"
        assert seen == []


# -- connections opened ahead of need ------------------------------------------------------------------------------


def test_connections_opened_ahead_carry_the_first_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[int] = []

    def keep(c: _Recorder) -> None:
        opened.append(c.number)
        while c.request():
            c.sendall(_ok(BODY))

    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with scripted(keep) as (host, seen):
        refs = [ImageRef(host, REPO, tag=f"v{i}") for i in range(3)]
        with Registries({host: RegistrySettings(insecure=True)}, env={}, retry=FAST) as regs:
            regs.preconnect([*refs, ImageRef("oci", "x", tag="1", layout="/nonexistent")], limit=8)  # layouts: none
            for opening in regs._connecting:
                opening.join(10)
            threading.Event().wait(0.1)
            assert len(opened) == 3 and seen == []  # opened, nothing asked yet
            threads = [
                threading.Thread(target=regs.source_for(r).get_blob, args=(r, Descriptor("a/b", DIGEST, len(BODY))))
                for r in refs
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
        assert len(seen) == 3 and max(seen) <= 2  # every request on a connection opened ahead, no fourth opened


def test_no_connection_is_opened_ahead_through_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    accepted: list[int] = []

    def count(c: _Recorder) -> None:
        accepted.append(1)

    with scripted(count) as (host, _seen):
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        with Registries({host: RegistrySettings(insecure=True)}, env={}, retry=FAST) as regs:
            regs.preconnect([ImageRef(host, REPO, tag="v1")], limit=8)
        threading.Event().wait(0.2)
    assert accepted == []


def test_connections_opened_ahead_end_within_the_runs_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """close() joins them: an attempt may never outlast --timeout (a registry that drops SYNs would hold it 10 s)."""
    from sigverify.registry.http1 import DirectOpener

    asked: list[float] = []
    monkeypatch.setattr(DirectOpener, "preconnect", lambda self, origin, count, timeout: asked.append(timeout))
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with Registries({"127.0.0.1:9": RegistrySettings(insecure=True)}, env={}, run_timeout=2.0) as regs:
        regs.preconnect([ImageRef("127.0.0.1:9", REPO, tag="v1")], limit=4)
    assert len(asked) == 1 and 0 < asked[0] <= 2.0
    with Registries({"127.0.0.1:9": RegistrySettings(insecure=True)}, env={}) as regs:
        regs.preconnect([ImageRef("127.0.0.1:9", REPO, tag="v1")], limit=4)
    assert asked[1] == 10.0  # otherwise the connect timeout
