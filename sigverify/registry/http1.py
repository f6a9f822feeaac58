"""Pooled HTTP/1.1 on http.client for direct connections: a per-origin cap, idle-connection checks, lean header
parsing, and the deadline watchdog's reach into every socket."""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
import urllib.parse
from collections import OrderedDict
from typing import Any

from sigverify.registry.deadline import attach_current

MAX_LINE = 65536  # bytes in the status line or one header line
MAX_HEADERS = 100  # header lines in one response
MAX_ORIGINS = 64  # origins (registry, blob storage behind redirects) with kept-alive connections at once
_IDEMPOTENT = frozenset({"GET", "HEAD"})


class SendError(Exception):
    """A request got no response. ``kind``: connect-timeout, timeout, tls, pool-timeout, proxy or other."""

    def __init__(self, kind: str, cause: BaseException) -> None:
        super().__init__(kind, cause)
        self.kind = kind
        self.cause = cause


class Headers:
    """Response header fields: ``get`` ignores case; a repeated field's values are joined with ", "."""

    __slots__ = ("_fields",)

    def __init__(self, fields: dict[str, str]) -> None:
        self._fields = fields

    def get(self, name: str, default: Any = None) -> Any:
        return self._fields.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._fields

    def items(self) -> list[tuple[str, str]]:
        return list(self._fields.items())


def parse_headers(fp: Any) -> Headers:
    """Header lines up to the empty line: at most MAX_HEADERS lines of at most MAX_LINE bytes, each ``name: value``."""
    fields: dict[str, str] = {}
    last = ""
    for _ in range(MAX_HEADERS + 1):
        line = fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        if line in (b"\r\n", b"\n", b""):
            return Headers(fields)
        text = line.decode("iso-8859-1")
        if text[0] in " \t":  # obsolete line folding: the line continues the previous field
            if not last:
                raise http.client.HTTPException("a header continuation line without a field")
            fields[last] = f"{fields[last]} {text.strip()}"
            continue
        name, sep, value = text.partition(":")
        if not sep or not name or name != name.strip() or " " in name or "\t" in name:
            raise http.client.HTTPException("a malformed header line")
        last = name.lower()
        value = value.strip()
        fields[last] = f"{fields[last]}, {value}" if last in fields else value
    raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")


class _Response(http.client.HTTPResponse):
    """http.client's response with the header block parsed above (not by email.parser) and one Content-Length."""

    def begin(self) -> None:
        this: Any = self  # http.client's private helpers are not in the type stubs
        if this.headers is not None:
            return
        while True:
            version, status, reason = this._read_status()
            if status != http.client.CONTINUE:
                break
            parse_headers(self.fp)
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        headers = parse_headers(self.fp)
        this.headers = this.msg = headers
        encoding = headers.get("transfer-encoding")
        self.chunked = bool(encoding) and encoding.lower() == "chunked"
        if self.chunked:
            self.chunk_left = None
        self.will_close = this._check_close()
        self.length = None
        length = headers.get("content-length")
        if length is not None and not self.chunked:
            if not length.isdigit() or not length.isascii():  # "10, 12" (two fields), "-1", "0x10"
                raise http.client.HTTPException("an invalid Content-Length")
            self.length = int(length)
        if status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED) or status < 200 or this._method == "HEAD":
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True


class _Conn(http.client.HTTPConnection):
    """A plain connection whose socket the deadline watchdog can reach."""

    response_class = _Response

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._secure(sock)

    def _secure(self, sock: socket.socket) -> socket.socket:
        attach_current(sock)
        return sock


class _TLSConn(_Conn):
    """A TLS connection (certificate and host name verified) whose socket the watchdog reaches, the handshake too."""

    default_port = http.client.HTTPS_PORT

    def __init__(self, host: str, port: int | None, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout)
        self.context = context

    def _secure(self, sock: socket.socket) -> socket.socket:
        attach_current(sock, dup=True)  # wrap_socket detaches the plain socket object: reach it through a dup
        try:
            tls = self.context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        attach_current(tls)
        return tls


class RawResponse:
    """A response whose body is read with ``read1``/``read``; ``release_conn`` returns a finished connection to
    its pool, ``close`` drops it. Bodies are returned as sent: a digest is checked over the bytes on the wire."""

    __slots__ = ("_broken", "_conn", "_done", "_pool", "_resp", "headers", "reason", "status")

    def __init__(self, resp: _Response, conn: _Conn, pool: _OriginPool) -> None:
        self._resp = resp
        self._conn = conn
        self._pool = pool
        self._done = False
        self._broken = False
        self.status = resp.status
        self.reason = resp.reason
        self.headers: Headers = resp.headers  # type: ignore[assignment]

    def _read(self, reader: Any, amt: int) -> bytes:
        resp = self._resp
        expected = resp.length
        try:
            data: bytes = reader(amt)
        except BaseException:
            self._broken = True
            raise
        if not data and amt and expected and not resp.chunked:
            self._broken = True
            raise http.client.IncompleteRead(b"", expected)
        return data

    def read1(self, amt: int) -> bytes:
        """At most ``amt`` bytes of the body with at most one read from the socket; b"" at its end."""
        return self._read(self._resp.read1, amt)

    def read(self, amt: int) -> bytes:
        """At most ``amt`` bytes of the body; b"" at its end."""
        return self._read(self._resp.read, amt)

    def _complete(self) -> bool:
        resp = self._resp
        if self._broken or resp.will_close:
            return False
        if resp.chunked:
            return resp.isclosed()  # the last chunk and the trailer were read
        return resp.length == 0

    def release_conn(self) -> None:
        """The caller is done: a connection whose response was read to its end is kept, any other is closed."""
        if self._done:
            return
        self._done = True
        if self._complete():
            self._resp.close()
            self._pool.put(self._conn)
        else:
            self._resp.close()
            self._pool.drop(self._conn)

    def close(self) -> None:
        """Abandon the rest of the body: the connection is closed, not reused."""
        self._broken = True
        self.release_conn()


def _dead(conn: _Conn) -> bool:
    """An idle kept-alive connection the server closed (or wrote to unasked) must not carry another request."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


class _OriginPool:
    """Connections to one origin: at most ``size`` in use at once (the next caller waits), idle ones reused
    last-in first-out."""

    def __init__(self, size: int) -> None:
        self._slots = threading.Semaphore(size)
        self._idle: list[_Conn] = []
        self._lock = threading.Lock()
        self.closed = False

    def acquire(self, timeout: float) -> _Conn | None:
        """An idle connection that is still open, or None (the caller opens one); SendError when none is free."""
        if not self._slots.acquire(timeout=max(timeout, 0.0)):
            raise SendError("pool-timeout", TimeoutError("no free connection"))
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None or not _dead(conn):
                return conn
            conn.close()

    def put(self, conn: _Conn) -> None:
        with self._lock:
            keep = not self.closed
            if keep:
                self._idle.append(conn)
        if not keep:
            conn.close()
        self._slots.release()

    def drop(self, conn: _Conn | None) -> None:
        """Give up the slot of a connection that is not reused (None: the one that never opened)."""
        if conn is not None:
            conn.close()
        self._slots.release()

    def close(self) -> None:
        with self._lock:
            self.closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class DirectOpener:
    """Sends requests straight to each origin, at most ``size`` at once per origin, over kept-alive connections."""

    def __init__(self, *, size: int, ca_file: str | None) -> None:
        self._size = size
        self._ca_file = ca_file
        self._context: ssl.SSLContext | None = None
        self._pools: OrderedDict[str, tuple[_OriginPool, str, str, int | None]] = OrderedDict()
        self._lock = threading.Lock()

    def _tls(self) -> ssl.SSLContext:
        with self._lock:
            if self._context is None:  # loaded once: the CA bundle is parsed for the first https origin only
                self._context = ssl.create_default_context(cafile=self._ca_file)
            return self._context

    def _pool(self, origin: str) -> tuple[_OriginPool, str, str, int | None]:
        with self._lock:
            found = self._pools.get(origin)
            if found is not None:
                self._pools.move_to_end(origin)
                return found
        parts = urllib.parse.urlsplit(origin)
        entry = (_OriginPool(self._size), parts.scheme.lower(), parts.hostname or "", parts.port)
        with self._lock:
            found = self._pools.setdefault(origin, entry)
            self._pools.move_to_end(origin)
            retired = self._pools.popitem(last=False)[1][0] if len(self._pools) > MAX_ORIGINS else None
        if retired is not None:
            retired.close()  # its connections in use are closed when they come back
        return found

    def _connect(self, scheme: str, host: str, port: int | None, timeout: float) -> _Conn:
        conn = _TLSConn(host, port, timeout, self._tls()) if scheme == "https" else _Conn(host, port, timeout)
        try:
            conn.connect()
        except TimeoutError as exc:
            raise SendError("connect-timeout", exc) from None
        except ssl.SSLError as exc:
            raise SendError("tls", exc) from None
        except OSError as exc:
            raise SendError("other", exc) from None
        return conn

    def open(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, remaining: float, connect: float
    ) -> RawResponse:
        """The response (body unread), or SendError saying why there is none."""
        scheme_end = url.index("://") + 3
        slash = url.find("/", scheme_end)
        origin, target = (url, "/") if slash < 0 else (url[:slash], url[slash:])
        target = target.split("#", 1)[0]
        pool, scheme, host, port = self._pool(origin)
        conn = pool.acquire(remaining)
        fresh = conn is None
        try:
            if conn is None:
                conn = self._connect(scheme, host, port, connect)
            try:
                return self._exchange(conn, pool, method, target, headers, body, remaining)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if fresh or method not in _IDEMPOTENT:
                    raise
            # a kept-alive connection the server closed as we reused it: once more on a new one
            conn.close()
            conn = None
            conn = self._connect(scheme, host, port, connect)
            return self._exchange(conn, pool, method, target, headers, body, remaining)
        except BaseException as exc:
            pool.drop(conn)
            if isinstance(exc, SendError):
                raise
            if isinstance(exc, TimeoutError):
                raise SendError("timeout", exc) from None
            if isinstance(exc, ssl.SSLError):
                raise SendError("tls", exc) from None
            if isinstance(exc, OSError | http.client.HTTPException):
                raise SendError("other", exc) from None
            raise

    def _exchange(
        self,
        conn: _Conn,
        pool: _OriginPool,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes | None,
        remaining: float,
    ) -> RawResponse:
        sock = conn.sock
        assert sock is not None
        sock.settimeout(remaining)
        attach_current(sock)
        conn.request(method, target, body=body, headers=headers)
        resp = conn.getresponse()
        assert isinstance(resp, _Response)
        return RawResponse(resp, conn, pool)

    def close(self) -> None:
        with self._lock:
            pools = [entry[0] for entry in self._pools.values()]
            self._pools.clear()
        for pool in pools:
            pool.close()
