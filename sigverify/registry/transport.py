"""Pooled HTTP for one registry host: a deadline over each whole request, bounded retries with shared backoff,
hand-followed redirects; connections come from ``http1`` (or ``proxied``), bodies are read by ``response``."""

from __future__ import annotations

import random
import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from sigverify.errors import RegistryError
from sigverify.models import Code
from sigverify.registry.deadline import WATCHDOG, current
from sigverify.registry.http1 import DirectOpener
from sigverify.registry.limits import (
    CONNECT_TIMEOUT,
    PER_REGISTRY_CONNECTIONS,
    REQUEST_TIMEOUT,
    Bound,
    RequestCounter,
    RetryPolicy,
    request_bound,
)
from sigverify.registry.pool import SendError
from sigverify.registry.response import Response, discard, exc_summary, timeout_error
from sigverify.registry.urls import origin_of, parse_retry_after, proxy_for, redact_url, without_userinfo

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
BACKOFF_STATUSES = frozenset({429, 503})  # the registry asks every thread to slow down, not only this request
MAX_REDIRECTS = 5


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
        self._size = pool_size
        self._ca_file = verify if isinstance(verify, str) else _default_ca_bundle()
        self._direct = DirectOpener(size=pool_size, ca_file=self._ca_file)
        self._proxies: dict[str, Any] = {}  # proxy URL -> its ProxyOpener
        self._origins: dict[str, Any] = {}  # origin -> the opener that reaches it (the environment is read once)
        self._manager_lock = threading.Lock()
        self._pause_lock = threading.Lock()
        self._pause_until = 0.0

    def close(self) -> None:
        with self._manager_lock:
            proxies = list(self._proxies.values())
            self._proxies.clear()
            self._origins.clear()
        self._direct.close()
        for opener in proxies:
            opener.close()

    def preconnect(self, count: int, timeout: float) -> threading.Thread | None:
        """Open ``count`` connections to the registry in the background (none through a proxy), each attempt ending
        within ``timeout`` (at most the connect timeout); see DirectOpener."""
        if proxy_for(self.base) is not None or timeout <= 0:
            return None
        return self._direct.preconnect(self.base, min(count, self._size), min(CONNECT_TIMEOUT, timeout))

    # -- sending --------------------------------------------------------------------------------------------

    def _opener(self, url: str) -> Any:
        """What sends a request to ``url``: the direct pools, or the opener of the proxy the environment names."""
        origin = "/".join(url.split("/", 3)[:3])  # scheme://host:port
        opener = self._origins.get(origin)
        if opener is None:
            proxy = proxy_for(url)
            if proxy is None:
                opener = self._direct
            else:
                from sigverify.registry.proxied import ProxyOpener  # urllib3 is imported only when a proxy is set

                with self._manager_lock:
                    opener = self._proxies.get(proxy)
                    if opener is None:
                        opener = self._proxies[proxy] = ProxyOpener(proxy, size=self._size, ca_file=self._ca_file)
            with self._manager_lock:
                self._origins[origin] = opener
        return opener

    def _send_once(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, bound: Bound
    ) -> Response:
        remaining = bound.remaining()
        if remaining <= 0:
            raise timeout_error(method, url, bound)
        opener = self._opener(url)
        self._counter.add()
        entry = WATCHDOG.arm(bound.at)
        current.entry = entry
        try:
            connect = min(CONNECT_TIMEOUT, remaining)
            raw = opener.open(method, url, {**self._headers, **headers}, body, remaining, connect)
        except SendError as exc:
            WATCHDOG.detach(entry)
            # the socket timeouts were the deadline's remainder: when one of them fired, the deadline did
            bounded_by_deadline = exc.kind == "timeout" or (exc.kind == "connect-timeout" and connect < CONNECT_TIMEOUT)
            if entry.fired or bound.remaining() <= 0 or bounded_by_deadline:
                raise timeout_error(method, url, bound) from None
            raise self._connection_error(method, url, exc) from None
        finally:
            current.entry = None
        resp = Response(raw, method, url, entry, bound)
        if entry.fired:  # the watchdog cut the headers short: a shut-down socket reads as the end of them
            resp.close()
            raise timeout_error(method, url, bound)
        return resp

    def _connection_error(self, method: str, url: str, exc: SendError) -> RegistryError:
        if exc.kind == "tls":
            text = str(exc.cause)
            if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text or "record layer" in text:
                return RegistryError(
                    f"{method} {redact_url(url)}: the server answered plain HTTP on an https connection",
                    code=Code.INSECURE_REFUSED,
                    url=redact_url(url),
                    tip=f"Plain HTTP is used only for registries marked insecure: add `registries: "
                    f"{{{self.host}: {{insecure: true}}}}` if you trust this network, or enable TLS.",
                )
            return RegistryError(
                f"{method} {redact_url(url)}: TLS verification failed ({exc_summary(exc)})",
                url=redact_url(url),
                tip="Point `ca_file` of this registry at the CA bundle that signed its certificate.",
            )
        return _Unreachable(f"{method} {redact_url(url)}: {exc_summary(exc)}", url=redact_url(url))

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
            target = without_userinfo(urllib.parse.urljoin(current, location))
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
