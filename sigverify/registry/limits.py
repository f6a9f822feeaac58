"""Retry settings and the request counter shared by every HTTP transport (stdlib only: cheap to import)."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: ``attempts`` in total for 429/502/503/504 and dropped connections, 500 retried once.

    Waits grow exponentially from ``base_delay`` (with jitter) up to ``max_delay``; a ``Retry-After`` header is
    honoured up to ``max_retry_after`` seconds.
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
