"""Answers from a registry: bodies read with a size cap and within the request's deadline, error details."""

from __future__ import annotations

from typing import Any, Protocol

from sigverify.crypto.strictjson import PayloadError, loads_strict
from sigverify.errors import RegistryError
from sigverify.models import Code
from sigverify.registry.deadline import WATCHDOG, Armed
from sigverify.registry.http1 import ProtocolError
from sigverify.registry.limits import Bound
from sigverify.registry.pool import SendError
from sigverify.registry.urls import redact_text, redact_url

MAX_ERROR_BODY = 64 * 1024
CHUNK = 64 * 1024


class ReadError(RegistryError):
    """The connection failed while a body was being read (worth one more try)."""

class RawResponse(Protocol):
    """What an opener returns (``http1.RawResponse``, or urllib3's through a proxy): status, headers, the body."""

    status: int
    reason: Any
    headers: Any

    def read1(self, amt: int) -> bytes: ...

    def read(self, amt: int) -> bytes: ...

    def release_conn(self) -> None: ...

    def close(self) -> None: ...


class Response:
    """A response whose body has not been read yet; ``read_capped`` or ``discard`` ends it (exactly once)."""

    __slots__ = ("_entry", "_finished", "bound", "headers", "method", "raw", "reason", "status_code", "url")

    def __init__(self, raw: RawResponse, method: str, url: str, entry: Armed, bound: Bound) -> None:
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
            WATCHDOG.detach(self._entry)
            self.raw.release_conn()

    def close(self) -> None:
        """Abandon the rest of the body: the connection is closed, not reused."""
        if not self._finished:
            self._finished = True
            WATCHDOG.detach(self._entry)
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


def registry_error_detail(body: bytes) -> str | None:
    """``code: message`` pairs from a registry JSON error body ``{"errors": [{code, message}]}`` (URLs redacted)."""
    try:
        obj = loads_strict(body, what="error body", max_bytes=MAX_ERROR_BODY)
    except PayloadError:
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
            resp.raw.read(MAX_ERROR_BODY + 1)
            resp.release()
        else:
            resp.close()
    except Exception:  # best effort cleanup
        resp.close()


def size_error(what: str, url: str, cap: int, found: str, note: str = "") -> RegistryError:
    """SIZE_LIMIT for a body over ``cap`` bytes (``note`` says more, e.g. that reading stopped)."""
    return RegistryError(
        f"{what} at {redact_url(url)} is larger than allowed{note}",
        code=Code.SIZE_LIMIT,
        url=redact_url(url),
        expected=f"at most {cap} bytes",
        found=found,
    )


def check_length(resp: Response, cap: int, what: str, url: str) -> None:
    """Refuse (SIZE_LIMIT) before reading a body whose Content-Length is over ``cap``."""
    length_header = resp.headers.get("Content-Length")
    if length_header is not None and length_header.strip().isdigit() and int(length_header) > cap:
        resp.close()
        raise size_error(what, url, cap, f"{int(length_header)} bytes (Content-Length)")


def read_failed(resp: Response, exc: Exception, what: str, url: str) -> RegistryError:
    """The error for a body whose reading failed: TIMEOUT when the deadline ended it, else a ReadError."""
    resp.close()
    if resp.timed_out:
        return timeout_error(what, url, resp.bound)
    return ReadError(
        f"{what} at {redact_url(url)}: connection failed while reading ({exc_summary(exc)})",
        url=redact_url(url),
    )


def read_capped(resp: Response, cap: int, what: str, url: str) -> bytes:
    """Read the body, never more than ``cap + 1`` bytes; an over-size body is SIZE_LIMIT, never truncated.

    The request's deadline covers the body: a server trickling bytes is cut off when it passes (TIMEOUT).
    """
    check_length(resp, cap, what, url)
    parts: list[bytes] = []
    total = 0
    read = resp.raw.read1
    try:
        while True:
            chunk = read(min(CHUNK, cap + 1 - total))
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
            if total > cap:
                resp.close()
                raise size_error(what, url, cap, f"more than {cap} bytes", " (stopped reading)")
    except RegistryError:
        raise
    except Exception as exc:
        raise read_failed(resp, exc, what, url) from None
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


def exc_summary(exc: BaseException) -> str:
    """A short cause for a network failure; never the URL (urllib3 messages embed paths and queries)."""
    if isinstance(exc, SendError):
        if exc.kind == "connect-timeout":
            return "connection timed out"
        if exc.kind == "pool-timeout":
            return "no free connection to this registry in time"
        exc = exc.cause
    if isinstance(exc, TimeoutError) or type(exc).__name__ in ("ReadTimeoutError", "ConnectTimeoutError"):
        return "connection timed out" if type(exc).__name__ == "ConnectTimeoutError" else "read timed out"
    text = repr(exc)
    for needle, label in _CAUSES:
        if needle in text:
            return label
    if isinstance(exc, ProtocolError) or type(exc).__module__ == "http.client":  # ours, or through a proxy
        return "the server's answer is not valid HTTP"
    return type(exc).__name__


def json_object(body: bytes) -> dict[str, Any] | None:
    """A small JSON object from a registry or token server (bounded loader), or None."""
    try:
        obj = loads_strict(body, what="reply", max_bytes=max(len(body), 1))
    except PayloadError:
        return None
    return obj if isinstance(obj, dict) else None
