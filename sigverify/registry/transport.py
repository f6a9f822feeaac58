"""Pooled HTTP for one registry host (urllib3): a deadline over each whole request, bounded retries with shared
backoff, hand-followed redirects, capped reads, redacted URLs."""

from __future__ import annotations

import contextlib
import email.utils
import heapq
import http.client
import itertools
import random
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from sigverify.errors import RegistryError
from sigverify.models import Code
from sigverify.registry.jsonbound import JSONBoundError, loads
from sigverify.registry.limits import (
    CONNECT_TIMEOUT,
    PER_REGISTRY_CONNECTIONS,
    REQUEST_TIMEOUT,
    Bound,
    RequestCounter,
    RetryPolicy,
    request_bound,
)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
BACKOFF_STATUSES = frozenset({429, 503})  # the registry asks every thread to slow down, not only this request
MAX_REDIRECTS = 5
MAX_ERROR_BODY = 64 * 1024
CHUNK = 64 * 1024
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")


class ReadError(RegistryError):
    """The connection failed while a body was being read (worth one more try)."""


# -- redaction ------------------------------------------------------------------------------------------------


def origin_of(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with the default port filled in: what "the same origin" compares."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def redact_url(url: str) -> str:
    """A URL safe to print: no userinfo, no fragment, and the whole query string replaced by ``REDACTED``
    (signed storage URLs carry their signature in parameters of any name)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = "REDACTED" if parts.query else ""
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact_text(text: str) -> str:
    """Registry-supplied text with every URL in it redacted (a realm or Location quoted in an error body)."""
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group()), text)


def parse_retry_after(value: str | None, cap: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), capped; None when absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, min(when.timestamp() - time.time(), cap))


def registry_error_detail(body: bytes) -> str | None:
    """``code: message`` pairs from a registry JSON error body ``{"errors": [{code, message}]}`` (URLs redacted)."""
    try:
        obj = loads(body, max_bytes=MAX_ERROR_BODY, max_depth=8)
    except JSONBoundError:
        return None
    errors = obj.get("errors") if isinstance(obj, dict) else None
    if not isinstance(errors, list):
        return None
    parts = []
    for err in errors[:5]:
        if not isinstance(err, dict):
            continue
        code, message = err.get("code"), err.get("message")
        text = ": ".join(str(x) for x in (code, message) if isinstance(x, str) and x)
        if text:
            parts.append(text)
    if not parts:
        return None
    detail = redact_text("; ".join(parts))
    detail = "".join(c if c.isprintable() else "?" for c in detail)
    return detail[:300]


def next_link(header: str | None) -> str | None:
    """The target of ``rel="next"`` in a Link header (RFC 8288), or None."""
    if not header:
        return None
    for match in re.finditer(r"<([^>]*)>((?:\s*;\s*[^;,]*)*)", header):
        params = [p.strip() for p in match.group(2).split(";") if p.strip()]
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "rel" and "next" in value.strip().strip('"').lower().split():
                return match.group(1)
    return None


# -- the deadline watchdog --------------------------------------------------------------------------------------


class _Armed:
    """One request's deadline as the watchdog sees it: the socket to shut down when it passes."""

    __slots__ = ("at", "done", "fired", "owned", "sock")

    def __init__(self, at: float) -> None:
        self.at = at
        self.sock: socket.socket | None = None
        self.owned: socket.socket | None = None  # a dup we made to reach a socket during its TLS handshake
        self.fired = False
        self.done = False


class _Watchdog:
    """One daemon thread that shuts down the socket of every request whose deadline passed.

    Socket timeouts bound each read; only this bounds a server that trickles headers or a body a byte at a time.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Armed]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, at: float) -> _Armed:
        entry = _Armed(at)
        with self._cond:
            heapq.heappush(self._heap, (at, next(self._seq), entry))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sigverify-deadlines", daemon=True)
                self._thread.start()
            if self._heap[0][2] is entry:
                self._cond.notify()
        return entry

    def attach(self, entry: _Armed, sock: socket.socket, *, owned: bool = False) -> None:
        with self._cond:
            old, entry.owned = entry.owned, (sock if owned else None)
            entry.sock = sock
            if entry.fired:
                _shutdown(sock)
        if old is not None:
            old.close()

    def detach(self, entry: _Armed) -> None:
        """The request is over (its connection may go back to the pool): never touch its socket again."""
        with self._cond:
            entry.done = True
            entry.sock = None
            owned, entry.owned = entry.owned, None
        if owned is not None:
            owned.close()

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                entry = heapq.heappop(self._heap)[2]
                entry.fired = True
                if entry.sock is not None:
                    _shutdown(entry.sock)


def _shutdown(sock: socket.socket) -> None:
    # the plain socket method: an SSLSocket's override would drop its TLS state under a reading thread
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_WATCHDOG = _Watchdog()
_current = threading.local()  # the entry of the request this thread is opening (read by the connections below)


def _attach_current(sock: socket.socket | None, *, dup: bool = False) -> None:
    entry: _Armed | None = getattr(_current, "entry", None)
    if entry is None or sock is None:
        return
    if dup:  # during the TLS handshake the plain socket object is detached: reach the socket through a dup
        try:
            _WATCHDOG.attach(entry, sock.dup(), owned=True)
        except OSError:
            return
    else:
        _WATCHDOG.attach(entry, sock)


class _Conn(HTTPConnection):
    """An HTTP connection whose socket the deadline watchdog can reach (new or reused)."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _attach_current(sock, dup=True)
        return sock

    def connect(self) -> None:
        super().connect()
        _attach_current(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach_current(self.sock)
        super().request(*args, **kwargs)


class _TLSConn(HTTPSConnection):
    """An HTTPS connection whose socket the deadline watchdog can reach, the TLS handshake included."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _attach_current(sock, dup=True)
        return sock

    def connect(self) -> None:
        super().connect()
        _attach_current(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach_current(self.sock)
        super().request(*args, **kwargs)


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Conn


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _TLSConn


_POOL_CLASSES = {"http": _Pool, "https": _TLSPool}


# -- responses ------------------------------------------------------------------------------------------------


class Response:
    """A response whose body has not been read yet; ``read_capped`` or ``discard`` ends it (exactly once)."""

    __slots__ = ("_entry", "_finished", "bound", "headers", "method", "raw", "reason", "status_code", "url")

    def __init__(self, raw: urllib3.BaseHTTPResponse, method: str, url: str, entry: _Armed, bound: Bound) -> None:
        self.raw = raw
        self.method = method
        self.url = url
        self.status_code = raw.status
        self.reason = raw.reason or ""
        self.headers = raw.headers
        self.bound = bound
        self._entry = entry
        self._finished = False

    @property
    def timed_out(self) -> bool:
        return self._entry.fired or self.bound.remaining() <= 0

    def release(self) -> None:
        """The body was read completely: the connection goes back to the pool."""
        if not self._finished:
            self._finished = True
            _WATCHDOG.detach(self._entry)
            self.raw.release_conn()

    def close(self) -> None:
        """Abandon the rest of the body: the connection is closed, not reused."""
        if not self._finished:
            self._finished = True
            _WATCHDOG.detach(self._entry)
            self.raw.close()
            self.raw.release_conn()


def timeout_error(what: str, url: str, bound: Bound) -> RegistryError:
    return RegistryError(
        f"{what} {redact_url(url)}: not received within {bound.label}",
        code=Code.TIMEOUT,
        url=redact_url(url),
        tip="The registry answered too slowly (or not at all); try again later, or raise `sigverify verify "
        "--timeout` if the whole run needs more time.",
    )


# -- the transport --------------------------------------------------------------------------------------------


class Transport:
    """One pooled, thread-safe HTTP client for one registry origin.

    Sends a request, retries transient failures, and follows redirects by hand: ``Authorization`` is sent only
    while the request stays on the registry's origin (scheme, host and port), and https never becomes http.
    Every request ends by its deadline (``timeout``, or the image/run bound in force if earlier): connect,
    headers and body included. At most ``pool_size`` requests are in flight to one origin.
    """

    def __init__(
        self,
        host: str,
        *,
        insecure: bool,
        verify: bool | str,
        timeout: float = REQUEST_TIMEOUT,
        pool_size: int = PER_REGISTRY_CONNECTIONS,
        user_agent: str,
        counter: RequestCounter,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.host = host
        self.insecure = insecure
        self.scheme = "http" if insecure else "https"
        self.base = f"{self.scheme}://{host}"
        self.origin = origin_of(self.base)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._counter = counter
        self._headers = {"User-Agent": user_agent, "Accept-Encoding": "identity"}
        self._pool_kw: dict[str, Any] = {
            "num_pools": 64,
            "maxsize": pool_size,
            "block": True,  # the per-origin concurrency cap: a thread waits for a free connection
            "cert_reqs": "CERT_REQUIRED",
            "ca_certs": verify if isinstance(verify, str) else _default_ca_bundle(),
            "retries": False,
        }
        self._managers: dict[str | None, urllib3.PoolManager] = {}
        self._origins: dict[str, Any] = {}  # origin -> its HTTPConnectionPool, or the ProxyManager that reaches it
        self._manager_lock = threading.Lock()
        self._pause_lock = threading.Lock()
        self._pause_until = 0.0

    def close(self) -> None:
        with self._manager_lock:
            for manager in self._managers.values():
                manager.clear()
            self._managers.clear()
            self._origins.clear()

    # -- sending --------------------------------------------------------------------------------------------

    def _opener(self, url: str) -> tuple[Any, str]:
        """What sends a request to ``url`` and the URL to give it: the origin's connection pool and the request
        target when no proxy is involved (cheaper), else the proxy manager and the absolute URL."""
        parts = url.split("/", 3)
        origin = "/".join(parts[:3])  # scheme://host:port: the environment is read once per origin
        cached = self._origins.get(origin)
        if cached is None:
            manager = self._manager(url)
            cached = manager if isinstance(manager, urllib3.ProxyManager) else manager.connection_from_url(url)
            with self._manager_lock:
                self._origins[origin] = cached
        if isinstance(cached, urllib3.PoolManager):
            return cached, url
        return cached, "/" + (parts[3].split("#", 1)[0] if len(parts) > 3 else "")

    def _forget(self, url: str) -> None:
        with self._manager_lock:
            self._origins.pop("/".join(url.split("/", 3)[:3]), None)

    def _manager(self, url: str) -> urllib3.PoolManager:
        key = proxy = _proxy_for(url)
        with self._manager_lock:
            manager = self._managers.get(key)
            if manager is None:
                if proxy is None:
                    manager = urllib3.PoolManager(**self._pool_kw)
                else:
                    parts = urllib.parse.urlsplit(proxy)
                    headers = None
                    if parts.username is not None:
                        user, password = (urllib.parse.unquote(x or "") for x in (parts.username, parts.password))
                        userinfo = f"{user}:{password}"
                        headers = urllib3.make_headers(proxy_basic_auth=userinfo)
                        proxy = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
                    manager = urllib3.ProxyManager(proxy, proxy_headers=headers, **self._pool_kw)
                manager.pool_classes_by_scheme = _POOL_CLASSES
                self._managers[key] = manager
        return manager

    def _send_once(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, bound: Bound
    ) -> Response:
        remaining = bound.remaining()
        if remaining <= 0:
            raise timeout_error(method, url, bound)
        opener, target = self._opener(url)
        self._counter.add()
        entry = _WATCHDOG.arm(bound.at)
        _current.entry = entry
        try:
            raw = opener.urlopen(
                method,
                target,
                body=body,
                headers={**self._headers, **headers},
                redirect=False,
                retries=False,
                preload_content=False,
                decode_content=True,
                release_conn=False,
                assert_same_host=False,
                timeout=urllib3.Timeout(connect=min(CONNECT_TIMEOUT, remaining), read=remaining),
                pool_timeout=remaining,
            )
        except Exception as exc:
            _WATCHDOG.detach(entry)
            if isinstance(exc, urllib3.exceptions.ClosedPoolError):
                self._forget(url)  # the manager retired this origin's pool (too many origins): the retry gets a new one
            # the socket timeouts were the deadline's remainder: when one of them fired, the deadline did
            bounded_by_deadline = isinstance(exc, urllib3.exceptions.ReadTimeoutError) or (
                isinstance(exc, urllib3.exceptions.ConnectTimeoutError) and remaining < CONNECT_TIMEOUT
            )
            if entry.fired or bound.remaining() <= 0 or bounded_by_deadline:
                raise timeout_error(method, url, bound) from None
            raise self._connection_error(method, url, exc) from None
        finally:
            _current.entry = None
        resp = Response(raw, method, url, entry, bound)
        if entry.fired:  # the watchdog cut the headers short: http.client takes that end for the end of them
            resp.close()
            raise timeout_error(method, url, bound)
        return resp

    def _connection_error(self, method: str, url: str, exc: BaseException) -> RegistryError:
        if isinstance(exc, urllib3.exceptions.SSLError):
            text = str(exc)
            if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text or "record layer" in text:
                return RegistryError(
                    f"{method} {redact_url(url)}: the server answered plain HTTP on an https connection",
                    code=Code.INSECURE_REFUSED,
                    url=redact_url(url),
                    tip=f"Plain HTTP is used only for registries marked insecure: add `registries: "
                    f"{{{self.host}: {{insecure: true}}}}` if you trust this network, or enable TLS.",
                )
            return RegistryError(
                f"{method} {redact_url(url)}: TLS verification failed ({_exc_summary(exc)})",
                url=redact_url(url),
                tip="Point `ca_file` of this registry at the CA bundle that signed its certificate.",
            )
        return _Unreachable(f"{method} {redact_url(url)}: {_exc_summary(exc)}", url=redact_url(url))

    def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        *,
        authorization: str | None = None,
        stream: bool = True,
        body: bytes | None = None,
        auth_origin: tuple[str, str, int] | None = None,
    ) -> Response:
        """Send with bounded retries and hand-followed redirects. Returns the final (non-redirect) response,
        whose body the caller reads with ``read_capped`` or drops with ``discard``.

        ``authorization`` is attached only while the URL is on ``auth_origin`` (default: the registry's origin).
        Raises RegistryError for exhausted retries (RATE_LIMITED / REGISTRY_ERROR), connection failures,
        deadlines (TIMEOUT), too many redirects and unsafe redirects (INSECURE_REFUSED).
        """
        del stream  # every body is streamed
        attempt = 0
        retried_500 = False
        while True:
            attempt += 1
            bound = request_bound(self.timeout)
            self._wait_for_backoff(bound, method, url)
            try:
                resp = self._follow(method, url, headers, authorization, body, auth_origin or self.origin, bound)
            except _Unreachable as exc:
                if attempt >= self.retry.attempts:
                    raise RegistryError(
                        f"{exc.message} (after {attempt} attempts)",
                        url=exc.url,
                        tip="Check that the registry is reachable from here (DNS, firewall, proxy settings).",
                    ) from None
                self._sleep(attempt, None, bound, method, url)
                continue
            status = resp.status_code
            retryable = status in RETRY_STATUSES or (status == 500 and not retried_500)
            if retryable and attempt < self.retry.attempts:
                wait = parse_retry_after(resp.headers.get("Retry-After"), float("inf"))
                if wait is not None and wait > self.retry.max_retry_after:
                    return resp  # asked to come back much later: fail now rather than hold a worker
                if status == 500:
                    retried_500 = True
                discard(resp)
                self._sleep(attempt, wait, bound, method, url, shared=status in BACKOFF_STATUSES)
                continue
            return resp

    def _wait_for_backoff(self, bound: Bound, method: str, url: str) -> None:
        """Another thread was told to slow down (429/503): every request to this registry waits that long."""
        with self._pause_lock:
            wait = self._pause_until - time.monotonic()
        if wait > 0:
            if wait >= bound.remaining():
                raise timeout_error(method, url, bound)
            time.sleep(wait)

    def _sleep(
        self,
        attempt: int,
        retry_after: float | None,
        bound: Bound,
        method: str,
        url: str,
        *,
        shared: bool = False,
    ) -> None:
        if retry_after is not None:
            delay = retry_after
        else:
            delay = min(self.retry.max_delay, self.retry.base_delay * (2 ** (attempt - 1)))
            delay = delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - jitter, not crypto
        outer = request_bound(float("inf"))
        if outer.remaining() <= delay:  # the image or run deadline comes first: give up now, say why
            raise timeout_error(method, url, outer)
        if shared:
            with self._pause_lock:
                self._pause_until = max(self._pause_until, time.monotonic() + delay)
        if delay > 0:
            time.sleep(delay)

    def _follow(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        authorization: str | None,
        body: bytes | None,
        auth_origin: tuple[str, str, int],
        bound: Bound,
    ) -> Response:
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            send_headers = dict(headers)
            if authorization is not None and origin_of(current) == auth_origin:
                send_headers["Authorization"] = authorization
            else:
                authorization = None  # once dropped, never re-added on this chain
            resp = self._send_once(method, current, send_headers, body, bound)
            if resp.status_code not in REDIRECT_STATUSES:
                return resp
            location = resp.headers.get("Location")
            discard(resp)
            if not location:
                raise RegistryError(
                    f"{method} {redact_url(current)}: redirect without a Location header",
                    url=redact_url(current),
                    status=resp.status_code,
                )
            target = _without_userinfo(urllib.parse.urljoin(current, location))
            scheme = urllib.parse.urlsplit(target).scheme.lower()
            if scheme not in ("http", "https"):
                raise RegistryError(
                    f"{method} {redact_url(current)}: redirect to an unsupported scheme",
                    url=redact_url(current),
                    found=scheme[:20],
                )
            if scheme == "http" and (urllib.parse.urlsplit(current).scheme.lower() == "https" or not self.insecure):
                raise RegistryError(
                    f"{method} {redact_url(current)}: refused a redirect from https to plain http "
                    f"({redact_url(target)})",
                    code=Code.INSECURE_REFUSED,
                    url=redact_url(current),
                    expected="https",
                    found="http",
                    tip="A registry must never downgrade to plain HTTP; fix the registry or its storage backend.",
                )
            if method == "POST" and resp.status_code in (301, 302, 303):
                method, body = "GET", None
            current = target
        raise RegistryError(
            f"{method} {redact_url(url)}: more than {MAX_REDIRECTS} redirects",
            url=redact_url(url),
            tip="The registry is redirecting in a loop.",
        )


class _Unreachable(RegistryError):
    """No answer at all (refused, reset, per-read timeout): worth another attempt."""


def _default_ca_bundle() -> str | None:
    """certifi's bundle when installed (what most Python HTTP clients trust), else the system store."""
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi comes with the sigstore dependency
        return None
    return str(certifi.where())


def _proxy_for(url: str) -> str | None:
    """The proxy the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) names for ``url``, or None."""
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    if not proxies:
        return None
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if proxies.get("no") and urllib.request.proxy_bypass(host):
        return None
    return proxies.get(parts.scheme.lower()) or proxies.get("all")


def _without_userinfo(url: str) -> str:
    """Drop ``user:pass@`` from a redirect target: it must never turn into Basic auth."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def discard(resp: Response) -> None:
    """Release a response we do not need: keep the connection when the rest is small, else close it."""
    if resp._finished:
        return
    try:
        length = int(resp.headers.get("Content-Length", "-1"))
    except ValueError:
        length = -1
    try:
        if resp.method == "HEAD" or resp.status_code in (204, 304) or 0 <= length <= MAX_ERROR_BODY:
            resp.raw.read(MAX_ERROR_BODY + 1, decode_content=False)
            resp.release()
        else:
            resp.close()
    except Exception:  # best effort cleanup
        resp.close()


def read_capped(resp: Response, cap: int, what: str, url: str) -> bytes:
    """Read the body, never more than ``cap + 1`` bytes; an over-size body is SIZE_LIMIT, never truncated.

    The request's deadline covers the body: a server trickling bytes is cut off when it passes (TIMEOUT).
    """
    length_header = resp.headers.get("Content-Length")
    if length_header is not None and length_header.strip().isdigit() and int(length_header) > cap:
        resp.close()
        raise RegistryError(
            f"{what} at {redact_url(url)} is larger than allowed",
            code=Code.SIZE_LIMIT,
            url=redact_url(url),
            expected=f"at most {cap} bytes",
            found=f"{int(length_header)} bytes (Content-Length)",
        )
    parts: list[bytes] = []
    total = 0
    read = resp.raw.read1
    try:
        while True:
            chunk = read(min(CHUNK, cap + 1 - total), decode_content=True)
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
            if total > cap:
                resp.close()
                raise RegistryError(
                    f"{what} at {redact_url(url)} is larger than allowed (stopped reading)",
                    code=Code.SIZE_LIMIT,
                    url=redact_url(url),
                    expected=f"at most {cap} bytes",
                    found=f"more than {cap} bytes",
                )
    except RegistryError:
        raise
    except Exception as exc:
        resp.close()
        if resp.timed_out:
            raise timeout_error(what, url, resp.bound) from None
        raise ReadError(
            f"{what} at {redact_url(url)}: connection failed while reading ({_exc_summary(exc)})",
            url=redact_url(url),
        ) from None
    if resp._entry.fired:  # the watchdog ended the body: what we have may not be the whole body
        resp.close()
        raise timeout_error(what, url, resp.bound)
    resp.release()
    return b"".join(parts)


def read_error_detail(resp: Response) -> str | None:
    """Read a small error body and extract the registry's error codes/messages."""
    try:
        body = read_capped(resp, MAX_ERROR_BODY, "error body", resp.url)
    except RegistryError:
        return None
    return registry_error_detail(body)


_CAUSES = (
    ("Connection refused", "connection refused"),
    ("Name or service not known", "host name not found"),
    ("nodename nor servname", "host name not found"),
    ("Temporary failure in name resolution", "host name could not be resolved"),
    ("RemoteDisconnected", "connection closed by the server without an answer"),
    ("Connection reset", "connection reset by the server"),
    ("IncompleteRead", "connection closed before the body was complete"),
    ("Connection aborted", "connection aborted"),
    ("Network is unreachable", "network unreachable"),
)


def _exc_summary(exc: BaseException) -> str:
    """A short cause for a network failure; never the URL (urllib3 messages embed paths and queries)."""
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
        return "connection timed out"
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError | TimeoutError):
        return "read timed out"
    if isinstance(exc, urllib3.exceptions.EmptyPoolError):
        return "no free connection to this registry in time"
    text = repr(exc)
    for needle, label in _CAUSES:
        if needle in text:
            return label
    if isinstance(exc, http.client.HTTPException):
        return "the server's answer is not valid HTTP"
    return type(exc).__name__


def json_object(body: bytes) -> dict[str, Any] | None:
    """A small JSON object from a registry or token server (bounded loader), or None."""
    try:
        obj = loads(body, max_bytes=max(len(body), 1), max_depth=16)
    except JSONBoundError:
        return None
    return obj if isinstance(obj, dict) else None
