"""Time bounds, retry settings and the request counter shared by every HTTP transport (stdlib only)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# Time bounds (seconds). A request is one HTTP exchange (connect, headers and body, redirects included); an image
# is everything sigverify asks the registry about one image; the run is one `sigverify verify` call (--timeout).
REQUEST_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0  # also bounded by what is left of the request's deadline
IMAGE_TIMEOUT = 120.0
RUN_TIMEOUT = 1800.0
PER_REGISTRY_CONNECTIONS = 64  # requests in flight to one registry host at once (the pool's size)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: ``attempts`` in total for 429/502/503/504 and dropped connections, 500 retried once.

    Waits grow exponentially from ``base_delay`` (with jitter) up to ``max_delay``; a ``Retry-After`` header is
    honoured up to ``max_retry_after`` seconds. Every wait also ends at the request's image and run deadlines.
    """

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0


class RequestCounter:
    """Thread-safe count of HTTP requests sent (including token requests, retries and redirects)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def add(self) -> None:
        with self._lock:
            self._count += 1

    @property
    def value(self) -> int:
        with self._lock:
            return self._count


@dataclass(frozen=True)
class Bound:
    """A monotonic deadline and the words that name it in an error (``the image's 120 s bound``)."""

    at: float
    label: str

    def remaining(self) -> float:
        return self.at - time.monotonic()


_scope = threading.local()


def current_bound() -> Bound | None:
    """The tightest image/run deadline the calling thread is working under, if any."""
    value: Bound | None = getattr(_scope, "bound", None)
    return value


@contextmanager
def bounded(bound: Bound | None) -> Iterator[None]:
    """Run the block under ``bound`` (nested bounds keep the tighter one); every request in it ends by then."""
    outer = current_bound()
    inner = bound if outer is None or (bound is not None and bound.at < outer.at) else outer
    _scope.bound = inner
    try:
        yield
    finally:
        _scope.bound = outer


def request_bound(request_timeout: float) -> Bound:
    """The deadline of one request started now: its own timeout, or the image/run deadline if that comes first."""
    own = Bound(time.monotonic() + request_timeout, f"the {request_timeout:g} s request timeout")
    outer = current_bound()
    return outer if outer is not None and outer.at < own.at else own
