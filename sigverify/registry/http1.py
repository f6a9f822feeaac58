"""HTTP/1.1 for direct connections on plain sockets: request heads that cannot be split, strict framing of every
response (status line, headers, Content-Length or chunked bodies), and the opener that sends them over ``pool``'s
kept-alive connections, opening them ahead of need when asked."""

from __future__ import annotations

import re
import ssl
import threading
import time
import urllib.parse
from collections import OrderedDict
from typing import Any

from sigverify.registry.deadline import attach_current, current
from sigverify.registry.pool import Conn, OriginPool, SendError

MAX_LINE = 65536  # bytes in the status line, one header line or one chunk-size line
MAX_HEADERS = 100  # header lines in one response (and trailer lines after a chunked body)
MAX_INTERIM = 10  # 1xx responses before the final one
MAX_ORIGINS = 64  # origins (registry, blob storage behind redirects) with kept-alive connections at once
_IDEMPOTENT = frozenset({"GET", "HEAD"})
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # a header field name (RFC 9110 token)
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # controls other than tab never go into a header value
_BAD_TARGET = re.compile(r"[^\x21-\x7e]")  # a request target is visible ASCII only
_HEX = re.compile(r"[0-9A-Fa-f]{1,16}")


class ProtocolError(Exception):
    """The server's answer is not valid HTTP/1.1 (status line, header block or body framing)."""


class RemoteDisconnected(ConnectionResetError):
    """The connection closed before a status line arrived."""


class IncompleteRead(Exception):
    """The connection closed before the body was complete (short of its Content-Length, or inside a chunk)."""


class Headers:
    """Response header fields: ``get`` ignores case; a repeated field's values are joined with ", "."""

    __slots__ = ("_fields",)

    def __init__(self, fields: dict[str, str]) -> None:
        self._fields = fields

    def get(self, name: str, default: Any = None) -> Any:
        return self._fields.get(name.lower(), default)


def _line(fp: Any, what: str) -> bytes:
    line: bytes = fp.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise ProtocolError(f"{what} longer than {MAX_LINE} bytes")
    return line


def parse_headers(fp: Any) -> Headers:
    """Header lines up to the empty line: at most MAX_HEADERS lines of at most MAX_LINE bytes, each ``name: value``."""
    fields: dict[str, str] = {}
    last = ""
    for _ in range(MAX_HEADERS + 1):
        line = _line(fp, "a header line")
        if line in (b"\r\n", b"\n", b""):
            return Headers(fields)
        text = line.decode("iso-8859-1")
        if text[0] in " \t":  # obsolete line folding: the line continues the previous field
            if not last:
                raise ProtocolError("a header continuation line without a field")
            fields[last] = f"{fields[last]} {text.strip()}"
            continue
        name, sep, value = text.partition(":")
        if not sep or not _TOKEN.fullmatch(name):
            raise ProtocolError("a malformed header line")
        last = name.lower()
        value = value.strip()
        fields[last] = f"{fields[last]}, {value}" if last in fields else value
    raise ProtocolError(f"more than {MAX_HEADERS} header lines")


def _request_head(method: str, target: str, host: str, headers: dict[str, str], body: bytes | None) -> bytes:
    """The request line and header block; refuses what would split or bend them (CR, LF, controls, spaces)."""
    if _BAD_TARGET.search(target):
        raise ProtocolError("a request target with spaces, controls or non-ASCII characters")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
            raise ProtocolError(f"a header {name[:40]!r} that is not a valid field")
        lines.append(f"{name}: {value}")
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body or b'')}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("iso-8859-1")


class RawResponse:
    """A response whose body is read with ``read1``/``read``; ``release_conn`` returns a connection whose response
    was read to its end to its pool, ``close`` drops it. Bodies are returned as sent (no content decoding): a
    digest is checked over the bytes on the wire."""

    __slots__ = ("_broken", "_chunk_left", "_conn", "_done", "_eof", "_left", "_pool", "_until_close", "_will_close",
                 "headers", "reason", "status")

    def __init__(self, conn: Conn, pool: OriginPool, method: str) -> None:
        self._conn = conn
        self._pool = pool
        self._done = False
        self._broken = False
        fp = conn.rfile
        for _ in range(MAX_INTERIM + 1):
            version, status, reason = self._status_line(fp)
            if status >= 200:
                break
            parse_headers(fp)  # 1xx: an interim answer, the final one follows
        else:
            raise ProtocolError(f"more than {MAX_INTERIM} interim (1xx) responses")
        self.status = status
        self.reason = reason
        self.headers = headers = parse_headers(fp)
        connection = (headers.get("connection") or "").lower()
        self._will_close = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
        self._chunk_left = -1  # chunked: bytes left in the current chunk (-1: a size line comes next)
        self._left: int | None = None  # a fixed length: bytes still to read; None: chunked or until close
        self._until_close = False
        encoding = headers.get("transfer-encoding")
        length = headers.get("content-length")
        if method == "HEAD" or status in (204, 304):
            self._left = 0
        elif encoding is not None:
            if encoding.lower().replace(" ", "") != "chunked":
                raise ProtocolError(f"an unsupported Transfer-Encoding {encoding[:40]!r}")
            self._will_close = self._will_close or length is not None  # both framings: never reuse it
        elif length is not None:
            if not length.isascii() or not length.isdigit():  # "10, 12" (two fields), "-1", "0x10"
                raise ProtocolError("an invalid Content-Length")
            self._left = int(length)
        else:
            self._will_close = self._until_close = True  # the body ends when the connection does
        self._eof = self._left == 0

    @staticmethod
    def _status_line(fp: Any) -> tuple[str, int, str]:
        line = _line(fp, "the status line")
        if not line:
            raise RemoteDisconnected("connection closed by the server without an answer")
        version, _, rest = line.decode("iso-8859-1").rstrip("\r\n").partition(" ")
        code, _, reason = rest.partition(" ")
        if version not in ("HTTP/1.1", "HTTP/1.0") or len(code) != 3 or not code.isdigit() or not code.isascii():
            raise ProtocolError("an invalid status line")
        return version, int(code), reason.strip()

    def _next_chunk(self) -> None:
        fp = self._conn.rfile
        if self._chunk_left == 0 and fp.read(2) != b"\r\n":  # the end of the previous chunk's data
            raise ProtocolError("a chunk not followed by CRLF")
        line = _line(fp, "a chunk-size line")
        if not line:
            raise IncompleteRead("the connection closed inside a chunked body")
        size = line.split(b";", 1)[0].strip()
        if not _HEX.fullmatch(size.decode("ascii", "replace")):
            raise ProtocolError("an invalid chunk size")
        self._chunk_left = int(size, 16)
        if self._chunk_left == 0:  # the last chunk: the trailer section, then the end
            parse_headers(fp)
            self._eof = True

    def read1(self, amt: int) -> bytes:
        """At most ``amt`` bytes of the body, with at most one read from the socket; b"" at its end."""
        if self._eof or amt <= 0:
            return b""
        try:
            fp = self._conn.rfile
            if self._left is not None:  # Content-Length
                data: bytes = fp.read1(min(amt, self._left))
                if not data:
                    raise IncompleteRead(f"the connection closed {self._left} bytes short of the Content-Length")
                self._left -= len(data)
                self._eof = self._left == 0
                return data
            if self._until_close:
                data = fp.read1(amt)
                self._eof = not data
                return data
            if self._chunk_left <= 0:
                self._next_chunk()
                if self._eof:
                    return b""
            data = fp.read1(min(amt, self._chunk_left))
            if not data:
                raise IncompleteRead("the connection closed inside a chunk")
            self._chunk_left -= len(data)
            return data
        except BaseException:
            self._broken = True
            raise

    def read(self, amt: int) -> bytes:
        """At most ``amt`` bytes of the body; b"" at its end."""
        parts: list[bytes] = []
        while amt > 0 and (data := self.read1(amt)):
            parts.append(data)
            amt -= len(data)
        return b"".join(parts)

    def release_conn(self) -> None:
        """The caller is done: a connection whose response was read to its end is kept, any other is closed."""
        if self._done:
            return
        self._done = True
        if self._eof and not self._broken and not self._will_close:
            self._pool.put(self._conn)
        else:
            self._pool.drop(self._conn)

    def close(self) -> None:
        """Abandon the rest of the body: the connection is closed, not reused."""
        self._broken = True
        self.release_conn()


class DirectOpener:
    """Sends requests straight to each origin, at most ``size`` at once per origin, over kept-alive connections."""

    def __init__(self, *, size: int, ca_file: str | None) -> None:
        self._size = size
        self._ca_file = ca_file
        self._context: ssl.SSLContext | None = None
        self._pools: OrderedDict[str, tuple[OriginPool, bool, str, int | None]] = OrderedDict()
        self._lock = threading.Lock()

    def _tls(self) -> ssl.SSLContext:
        with self._lock:
            if self._context is None:  # loaded once: the CA bundle is parsed for the first https origin only
                self._context = ssl.create_default_context(cafile=self._ca_file)
            return self._context

    def _pool(self, origin: str) -> tuple[OriginPool, bool, str, int | None]:
        with self._lock:
            found = self._pools.get(origin)
            if found is not None:
                self._pools.move_to_end(origin)
                return found
        parts = urllib.parse.urlsplit(origin)
        entry = (OriginPool(self._size), parts.scheme.lower() == "https", parts.hostname or "", parts.port)
        with self._lock:
            found = self._pools.setdefault(origin, entry)
            self._pools.move_to_end(origin)
            retired = self._pools.popitem(last=False)[1][0] if len(self._pools) > MAX_ORIGINS else None
        if retired is not None:
            retired.close()  # its connections in use are closed when they come back
        return found

    def _connect(self, tls: bool, host: str, port: int | None, timeout: float) -> Conn:
        conn = Conn(host, port, self._tls() if tls else None)
        try:
            conn.connect(timeout)
        except TimeoutError as exc:
            raise SendError("connect-timeout", exc) from None
        except ssl.SSLError as exc:
            raise SendError("tls", exc) from None
        except OSError as exc:
            raise SendError("other", exc) from None
        return conn

    def preconnect(self, origin: str, count: int, timeout: float) -> threading.Thread | None:
        """Open up to ``count`` connections to ``origin`` in the background; each joins the pool idle, and a request
        that finds none idle meanwhile waits for them. The first one alone, then the others side by side, so an
        unreachable registry costs one attempt. Failures are dropped: the requests report their own. Returns the
        thread to join."""
        pool, tls, host, port = self._pool(origin)
        reserved = pool.begin_opening(count)  # now, so that a request sent before the thread runs waits for them
        if not reserved:
            return None

        def one() -> bool:
            conn = None
            try:
                conn = self._connect(tls, host, port, timeout)
            except Exception:  # noqa: S110 - best effort: the requests report their own failures
                pass
            finally:
                pool.end_opening(conn)
            return conn is not None

        def all_of_them() -> None:
            if not one():
                for _ in range(reserved - 1):
                    pool.end_opening(None)
                return
            rest = [threading.Thread(target=one, name="sigverify-connect") for _ in range(reserved - 1)]
            for thread in rest:
                thread.start()
            for thread in rest:
                thread.join()

        thread = threading.Thread(target=all_of_them, name="sigverify-connect")
        thread.start()
        return thread

    def open(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, remaining: float, connect: float
    ) -> RawResponse:
        """The response (body unread), or SendError saying why there is none."""
        scheme_end = url.index("://") + 3
        slash = url.find("/", scheme_end)
        origin, target = (url, "/") if slash < 0 else (url[:slash], url[slash:])
        target = target.split("#", 1)[0]
        pool, tls, host, port = self._pool(origin)
        until = time.monotonic() + remaining

        def left() -> float:  # what is left of ``remaining`` (waiting for a connection counts too)
            seconds = until - time.monotonic()
            if seconds <= 0:
                raise SendError("timeout", TimeoutError("the request's deadline passed"))
            return seconds

        conn = pool.acquire(remaining)
        fresh = conn is None
        try:
            if conn is None:
                conn = self._connect(tls, host, port, min(connect, left()))
            try:
                return self._exchange(conn, pool, method, target, headers, body, left())
            except (ConnectionResetError, BrokenPipeError):  # RemoteDisconnected is a ConnectionResetError
                entry = getattr(current, "entry", None)
                if fresh or method not in _IDEMPOTENT or (entry is not None and entry.fired):
                    raise  # not a kept-alive connection the server gave up, or our own deadline ended it
            # a kept-alive connection the server closed as we reused it: once more on a new one, in the time left
            conn.close()
            conn = None
            conn = self._connect(tls, host, port, min(connect, left()))
            return self._exchange(conn, pool, method, target, headers, body, left())
        except BaseException as exc:
            pool.drop(conn)
            if isinstance(exc, SendError):
                raise
            if isinstance(exc, TimeoutError):
                raise SendError("timeout", exc) from None
            if isinstance(exc, ssl.SSLError):
                raise SendError("tls", exc) from None
            if isinstance(exc, OSError | ValueError | ProtocolError | IncompleteRead):  # ValueError: not encodable
                raise SendError("other", exc) from None
            raise

    @staticmethod
    def _exchange(
        conn: Conn,
        pool: OriginPool,
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
        head = _request_head(method, target, conn.host_header, headers, body)
        sock.sendall(head + body if body else head)
        return RawResponse(conn, pool, method)

    def close(self) -> None:
        with self._lock:
            pools = [entry[0] for entry in self._pools.values()]
            self._pools.clear()
        for pool in pools:
            pool.close()
