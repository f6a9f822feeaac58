"""Every request ends by its deadline: hostile servers that trickle headers or bodies, or never accept, cannot hold
sigverify (issue 11 item 4). Each test bounds its own duration far below what the hostile server would take."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from sigverify.errors import RegistryError
from sigverify.models import Code, Descriptor, ImageRef
from sigverify.policy.model import RegistrySettings
from sigverify.registry import Registries, RetryPolicy
from sigverify.registry.content import digest_of

REPO = "team/app"
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, max_retry_after=2.0)
# what the hostile servers below would take to answer in full; every bound tested is far shorter
HOSTILE_SECONDS = 120.0
# a generous ceiling over the bound under test (the machine is shared and slow): far below HOSTILE_SECONDS
SLACK = 10.0


class HostileServer:
    """A raw TCP server on 127.0.0.1: ``behave(conn)`` runs for each accepted connection, in its own thread."""

    def __init__(self, behave: Callable[[socket.socket], None], *, accept: bool = True, backlog: int = 16) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        self.host = f"127.0.0.1:{self.port}"
        self.behave = behave
        self.connections = 0
        self.stopped = threading.Event()
        self._clients: list[socket.socket] = []
        if accept:
            threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            self._clients.append(conn)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            self.behave(conn)

    def trickle(self, conn: socket.socket, data: bytes, every: float) -> None:
        """Send ``data`` one byte at a time, ``every`` seconds apart, until done or stopped."""
        for b in data:
            if self.stopped.wait(every):
                return
            conn.sendall(bytes([b]))

    def stop(self) -> None:
        self.stopped.set()
        for c in self._clients:
            c.close()
        self.sock.close()


@pytest.fixture
def hostile() -> Iterator[Callable[..., HostileServer]]:
    servers: list[HostileServer] = []

    def make(behave: Callable[[socket.socket], None] = lambda c: None, **kw: bool | int) -> HostileServer:
        server = HostileServer(behave, **kw)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield make
    for s in servers:
        s.stop()


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def regs(host: str, *, timeout: float = 30.0, image_timeout: float = 120.0, run_timeout: float = 1800.0) -> Registries:
    return Registries({host: RegistrySettings(insecure=True)}, env={}, docker_config_dir="/nonexistent", retry=FAST,
                      timeout=timeout, image_timeout=image_timeout, run_timeout=run_timeout)


def resolve(host: str, registries: Registries) -> float:
    """Resolve a tag; return how long it took. It must raise a TIMEOUT RegistryError."""
    ref = ImageRef(host, REPO, tag="v1")
    started = time.monotonic()
    with pytest.raises(RegistryError) as exc:
        registries.source_for(ref).resolve(ref)
    took = time.monotonic() - started
    assert exc.value.code == Code.TIMEOUT, exc.value.diagnostics()
    return took


def test_headers_one_byte_every_two_seconds(hostile: Callable[..., HostileServer]) -> None:
    """The issue's server: a valid status line and headers, one byte every 2 s (a per-read timeout never fires)."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\n" + b"X-Pad: a\r\n" * 50

    def behave(conn: socket.socket) -> None:
        read_request(conn)
        server.trickle(conn, head, 2.0)

    server = hostile(behave)
    with regs(server.host, timeout=3.0) as r:
        took = resolve(server.host, r)
        assert r.request_count == 1  # a deadline is not retried
    assert 3.0 <= took < 3.0 + SLACK < HOSTILE_SECONDS


def test_headers_trickled_fast_enough_to_beat_any_read_timeout(hostile: Callable[..., HostileServer]) -> None:
    head = b"HTTP/1.1 200 OK\r\n" + b"X-Pad: a\r\n" * 5000

    def behave(conn: socket.socket) -> None:
        read_request(conn)
        server.trickle(conn, head, 0.02)

    server = hostile(behave)
    with regs(server.host, timeout=1.5) as r:
        took = resolve(server.host, r)
        assert r.request_count == 1  # headers cut short by the deadline are not taken for a (digest-less) answer
    assert took < 1.5 + SLACK


def test_body_one_byte_at_a_time(hostile: Callable[..., HostileServer]) -> None:
    data = b"x" * 4000
    digest = digest_of(data)

    def behave(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4000\r\n\r\n")
        server.trickle(conn, data, 0.05)

    server = hostile(behave)
    ref = ImageRef(server.host, REPO, tag="v1")
    started = time.monotonic()
    with regs(server.host, timeout=1.5) as r, pytest.raises(RegistryError) as exc:
        r.source_for(ref).get_blob(ref, Descriptor("application/octet-stream", digest, len(data)))
    assert exc.value.code == Code.TIMEOUT and "not received within the 1.5 s request timeout" in exc.value.message
    assert time.monotonic() - started < 1.5 + SLACK


def test_accepted_but_never_answered(hostile: Callable[..., HostileServer]) -> None:
    """The server accepts and reads the request, then says nothing."""
    def behave(conn: socket.socket) -> None:
        read_request(conn)
        server.stopped.wait(HOSTILE_SECONDS)

    server = hostile(behave)
    with regs(server.host, timeout=1.0) as r:
        took = resolve(server.host, r)
    assert took < 1.0 + SLACK


def test_never_accepted(hostile: Callable[..., HostileServer]) -> None:
    """Nobody calls accept(): the kernel completes the handshake, nothing is ever read or answered."""
    server = hostile(accept=False)
    with regs(server.host, timeout=1.0) as r:
        took = resolve(server.host, r)
    assert took < 1.0 + SLACK


def test_connect_stalls_on_a_full_backlog(hostile: Callable[..., HostileServer]) -> None:
    """A listen queue that is full and never drained: the TCP handshake itself never completes."""
    server = hostile(accept=False, backlog=0)
    fillers = []
    for _ in range(4):  # fill the accept queue; further SYNs are dropped and connect() hangs
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", server.port))
        fillers.append(s)
    time.sleep(0.2)
    try:
        with regs(server.host, timeout=1.0) as r:
            took = resolve(server.host, r)
        assert took < 1.0 + SLACK
    finally:
        for s in fillers:
            s.close()


def test_the_image_bound_ends_every_request_of_the_image(hostile: Callable[..., HostileServer]) -> None:
    """Each request has 30 s, but the image only 1.5 s: the image's bound decides and says so."""
    def behave(conn: socket.socket) -> None:
        read_request(conn)
        server.trickle(conn, b"HTTP/1.1 200 OK\r\n" * 100, 0.5)

    server = hostile(behave)
    ref = ImageRef(server.host, REPO, tag="v1")
    started = time.monotonic()
    with regs(server.host, timeout=30.0, image_timeout=1.5) as r, pytest.raises(RegistryError) as exc:
        r.source_for(ref).resolve(ref)
    assert exc.value.code == Code.TIMEOUT and "the image's 1.5 s bound" in exc.value.message
    assert time.monotonic() - started < 1.5 + SLACK


def test_the_run_bound_ends_every_image_after_it(hostile: Callable[..., HostileServer]) -> None:
    """Once the run's bound has passed, a new image fails at once (no request sent), with TIMEOUT."""
    def behave(conn: socket.socket) -> None:
        read_request(conn)
        server.stopped.wait(HOSTILE_SECONDS)

    server = hostile(behave)
    ref = ImageRef(server.host, REPO, tag="v1")
    with regs(server.host, timeout=30.0, run_timeout=1.0) as r:
        with pytest.raises(RegistryError) as first:
            r.source_for(ref).resolve(ref)
        assert first.value.code == Code.TIMEOUT and "--timeout" in first.value.message
        sent = r.request_count
        started = time.monotonic()
        with pytest.raises(RegistryError) as later:
            r.source_for(ref).resolve(ref)
        assert later.value.code == Code.TIMEOUT
        assert r.request_count == sent
    assert time.monotonic() - started < SLACK


def test_retry_waits_end_at_the_image_bound(hostile: Callable[..., HostileServer]) -> None:
    """A 503 asking to come back in 20 s (allowed by the retry policy) is not waited for past the image's bound."""

    def behave(conn: socket.socket) -> None:
        while read_request(conn):
            conn.sendall(b"HTTP/1.1 503 Busy\r\nRetry-After: 20\r\nContent-Length: 0\r\n\r\n")

    server = hostile(behave)
    ref = ImageRef(server.host, REPO, tag="v1")
    slow_retry = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=30.0)
    started = time.monotonic()
    with (
        Registries({server.host: RegistrySettings(insecure=True)}, env={}, retry=slow_retry, image_timeout=2.0) as r,
        pytest.raises(RegistryError) as exc,
    ):
        r.source_for(ref).resolve(ref)
    assert exc.value.code == Code.TIMEOUT
    assert time.monotonic() - started < 2.0 + SLACK


def test_a_dropped_connection_is_still_retried(hostile: Callable[..., HostileServer]) -> None:
    """The deadline does not turn ordinary failures into TIMEOUT: a closed connection is retried, then reported."""
    server = hostile(lambda conn: (read_request(conn), conn.close()))
    ref = ImageRef(server.host, REPO, tag="v1")
    with regs(server.host, timeout=5.0) as r, pytest.raises(RegistryError) as exc:
        r.source_for(ref).resolve(ref)
    assert exc.value.code == Code.REGISTRY_ERROR and "after 3 attempts" in exc.value.message
    assert server.connections == 3


def test_tls_handshake_trickled(hostile: Callable[..., HostileServer]) -> None:
    """An https registry whose server sends its TLS ServerHello a byte at a time: the handshake is bounded too."""
    hello = b"\x16\x03\x03\x00\x31\x02\x00\x00\x2d\x03\x03" + b"\x00" * 40

    def behave(conn: socket.socket) -> None:
        conn.recv(4096)  # the ClientHello
        server.trickle(conn, hello, 0.3)

    server = hostile(behave)
    ref = ImageRef(server.host, REPO, tag="v1")
    started = time.monotonic()
    with (
        Registries({server.host: RegistrySettings()}, env={}, retry=FAST, timeout=1.5) as r,
        pytest.raises(RegistryError) as exc,
    ):
        r.source_for(ref).resolve(ref)
    assert exc.value.code == Code.TIMEOUT, exc.value.diagnostics()
    assert time.monotonic() - started < 1.5 + SLACK
