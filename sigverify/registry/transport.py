"""Pooled HTTP for one registry host: timeouts, bounded retries, hand-followed redirects, capped reads."""

from __future__ import annotations

import email.utils
import http.cookiejar
import json
import random
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

import requests
import requests.adapters

from sigverify.errors import RegistryError
from sigverify.models import Code
from sigverify.registry.limits import RequestCounter, RetryPolicy

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_REDIRECTS = 5
MAX_ERROR_BODY = 64 * 1024
CHUNK = 64 * 1024
_SECRET_QUERY_HINTS = ("token", "sig", "signature", "credential", "key", "secret", "auth", "password", "code")


class ReadError(RegistryError):
    """The connection failed while a body was being read (worth one more try)."""


def origin_of(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with the default port filled in: what "the same origin" compares."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def redact_url(url: str) -> str:
    """A URL safe to print: no userinfo, and query values that may carry tokens or signatures removed."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = ""
    if parts.query:
        kept = []
        for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
            if any(h in key.lower() for h in _SECRET_QUERY_HINTS):
                kept.append(f"{key}=REDACTED")
            else:
                kept.append(urllib.parse.urlencode({key: value}))
        query = "&".join(kept)
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))


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
    """``code: message`` pairs from a registry JSON error body ``{"errors": [{code, message}]}``."""
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
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
    detail = "; ".join(parts)
    detail = "".join(c if c.isprintable() else "?" for c in detail)
    return detail[:300]


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False


class Transport:
    """One pooled, thread-safe HTTP client for one registry origin.

    Sends a request, retries transient failures, and follows redirects by hand: ``Authorization`` is sent only
    while the request stays on the registry's origin (scheme, host and port), and https never becomes http.
    """

    def __init__(
        self,
        host: str,
        *,
        insecure: bool,
        verify: bool | str,
        timeout: float,
        pool_size: int,
        user_agent: str,
        counter: RequestCounter,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.host = host
        self.insecure = insecure
        self.scheme = "http" if insecure else "https"
        self.base = f"{self.scheme}://{host}"
        self.origin = origin_of(self.base)
        self.timeout = (min(timeout, 10.0), timeout)
        self.body_deadline = 4 * timeout  # whole-body bound on top of the per-read timeout
        self.retry = retry or RetryPolicy()
        self._counter = counter
        self._proxies: dict[tuple[str, str, int], dict[str, str]] = {}
        self._proxy_lock = threading.Lock()
        session = requests.Session()
        session.trust_env = False  # no .netrc credentials injected behind our back; proxies handled below
        session.cookies.set_policy(_NoCookies())
        adapter = requests.adapters.HTTPAdapter(pool_connections=10, pool_maxsize=pool_size, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.verify = verify
        session.headers.clear()
        session.headers.update({"User-Agent": user_agent, "Accept-Encoding": "identity"})
        self.session = session

    def close(self) -> None:
        self.session.close()

    # -- sending --------------------------------------------------------------------------------------------

    def _proxies_for(self, url: str) -> dict[str, str]:
        key = origin_of(url)
        with self._proxy_lock:
            cached = self._proxies.get(key)
        if cached is None:
            cached = dict(requests.utils.get_environ_proxies(url))
            with self._proxy_lock:
                self._proxies[key] = cached
        return cached

    def _send_once(
        self, method: str, url: str, headers: Mapping[str, str], stream: bool, body: bytes | None
    ) -> requests.Response:
        self._counter.add()
        try:
            return self.session.request(
                method,
                url,
                headers=dict(headers),
                data=body,
                timeout=self.timeout,
                allow_redirects=False,
                stream=stream,
                proxies=self._proxies_for(url),
            )
        except requests.exceptions.SSLError as exc:
            text = str(exc)
            if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text or "record layer" in text:
                raise RegistryError(
                    f"{method} {redact_url(url)}: the server answered plain HTTP on an https connection",
                    code=Code.INSECURE_REFUSED,
                    url=redact_url(url),
                    tip=f"Plain HTTP is used only for registries marked insecure: add `registries: "
                    f"{{{self.host}: {{insecure: true}}}}` if you trust this network, or enable TLS.",
                ) from None
            raise RegistryError(
                f"{method} {redact_url(url)}: TLS verification failed ({_exc_summary(exc)})",
                url=redact_url(url),
                tip="Point `ca_file` of this registry at the CA bundle that signed its certificate.",
            ) from None

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
    ) -> requests.Response:
        """Send with bounded retries and hand-followed redirects. Returns the final (non-redirect) response.

        ``authorization`` is attached only while the URL is on ``auth_origin`` (default: the registry's origin).
        Raises RegistryError for exhausted retries (RATE_LIMITED / REGISTRY_ERROR), connection failures,
        too many redirects and unsafe redirects (INSECURE_REFUSED).
        """
        attempt = 0
        retried_500 = False
        while True:
            attempt += 1
            try:
                resp = self._follow(method, url, headers, authorization, stream, body, auth_origin or self.origin)
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                if attempt >= self.retry.attempts:
                    raise RegistryError(
                        f"{method} {redact_url(url)}: {_exc_summary(exc)} (after {attempt} attempts)",
                        url=redact_url(url),
                        tip="Check that the registry is reachable from here (DNS, firewall, proxy settings).",
                    ) from None
                self._sleep(attempt, None)
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
                self._sleep(attempt, wait)
                continue
            return resp

    def _sleep(self, attempt: int, retry_after: float | None) -> None:
        if retry_after is not None:
            delay = retry_after
        else:
            delay = min(self.retry.max_delay, self.retry.base_delay * (2 ** (attempt - 1)))
            delay = delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - jitter, not crypto
        if delay > 0:
            time.sleep(delay)

    def _follow(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        authorization: str | None,
        stream: bool,
        body: bytes | None,
        auth_origin: tuple[str, str, int],
    ) -> requests.Response:
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            send_headers = dict(headers)
            if authorization is not None and origin_of(current) == auth_origin:
                send_headers["Authorization"] = authorization
            else:
                authorization = None  # once dropped, never re-added on this chain
            resp = self._send_once(method, current, send_headers, stream, body)
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
                    found=scheme,
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


def _without_userinfo(url: str) -> str:
    """Drop ``user:pass@`` from a redirect target: requests would otherwise turn it into Basic auth."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def discard(resp: requests.Response) -> None:
    """Release a response we do not need: keep the connection when the rest is small, else close it."""
    if getattr(resp, "_content_consumed", False):
        return  # already read (stream=False): the connection is back in the pool
    try:
        length = int(resp.headers.get("Content-Length", "-1"))
    except ValueError:
        length = -1
    try:
        if resp.request is not None and resp.request.method == "HEAD":
            resp.raw.read()
            resp.raw.release_conn()
        elif 0 <= length <= MAX_ERROR_BODY:
            resp.raw.read(MAX_ERROR_BODY + 1)
            resp.raw.release_conn()
        else:
            resp.close()
    except Exception:  # best effort cleanup
        resp.close()


def read_capped(resp: requests.Response, cap: int, what: str, url: str, *, deadline: float | None = None) -> bytes:
    """Read the body, never more than ``cap + 1`` bytes; an over-size body is SIZE_LIMIT, never truncated.

    ``deadline`` (seconds) bounds the whole read, so a server trickling bytes cannot hold us forever.
    """
    give_up = time.monotonic() + deadline if deadline is not None else None
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
    # read1 returns what one socket read brings (urllib3 >= 2.3), so the deadline is checked as bytes trickle in
    read = getattr(resp.raw, "read1", None) or resp.raw.read
    try:
        while True:
            chunk = read(min(CHUNK, cap + 1 - total), decode_content=True)
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
            if give_up is not None and time.monotonic() > give_up and total <= cap:
                resp.close()
                raise RegistryError(
                    f"{what} at {redact_url(url)}: body not received within {deadline:.0f} s",
                    url=redact_url(url),
                    tip="The registry is too slow; try again later or closer to the registry.",
                )
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
        raise ReadError(
            f"{what} at {redact_url(url)}: connection failed while reading ({_exc_summary(exc)})",
            url=redact_url(url),
        ) from None
    resp.raw.release_conn()
    return b"".join(parts)


def read_error_detail(resp: requests.Response) -> str | None:
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
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.exceptions.Timeout):
        return "read timed out"
    text = repr(exc)
    for needle, label in _CAUSES:
        if needle in text:
            return label
    return type(exc).__name__


def json_object(body: bytes) -> dict[str, Any] | None:
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return obj if isinstance(obj, dict) else None
