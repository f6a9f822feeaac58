"""Entry point to content sources: one pooled client per registry host, one reader per OCI layout."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from sigverify import __version__
from sigverify.models import ImageRef
from sigverify.registry.base import Referrers, Source
from sigverify.registry.credentials import Keychain, canonical_host
from sigverify.registry.layout import LayoutSource
from sigverify.registry.limits import (
    IMAGE_TIMEOUT,
    PER_REGISTRY_CONNECTIONS,
    REQUEST_TIMEOUT,
    RUN_TIMEOUT,
    Bound,
    RequestCounter,
    RetryPolicy,
)

if TYPE_CHECKING:  # the HTTP stack (sockets, ssl) is imported only when a remote registry is first used
    from sigverify.policy.model import RegistrySettings
    from sigverify.registry.auth import Authenticator
    from sigverify.registry.transport import Transport

__all__ = ["Referrers", "Registries", "RetryPolicy", "Source", "api_host"]


def api_host(registry: str) -> str:
    """The host that serves the registry API (Docker Hub's API lives on registry-1.docker.io)."""
    return "registry-1.docker.io" if canonical_host(registry) == "docker.io" else registry.lower()


class Registries:
    """Hands out thread-safe Sources: one per image for a registry host (pooled and authenticated per host, bounded
    in time per image), one per layout.

    Time bounds: ``timeout`` per request (connect, headers and body), ``image_timeout`` for everything asked about
    one image (counted from ``source_for``), ``run_timeout`` for all of it (counted from construction). At most
    ``pool_size`` requests (and connections) are in flight to one registry host at once.
    """

    def __init__(
        self,
        settings: Mapping[str, RegistrySettings],
        *,
        timeout: float = REQUEST_TIMEOUT,
        image_timeout: float = IMAGE_TIMEOUT,
        run_timeout: float = RUN_TIMEOUT,
        pool_size: int = PER_REGISTRY_CONNECTIONS,
        env: Mapping[str, str] | None = None,
        docker_config_dir: str | None = None,
        user_agent: str = f"sigverify/{__version__}",
        retry: RetryPolicy | None = None,
    ) -> None:
        self._settings = {canonical_host(k): v for k, v in settings.items()}
        self._timeout = timeout
        self._image_timeout = image_timeout
        self._run_bound = Bound(time.monotonic() + run_timeout, f"the run's {run_timeout:g} s bound (--timeout)")
        self._pool_size = min(pool_size, PER_REGISTRY_CONNECTIONS)
        self._env = dict(os.environ if env is None else env)
        self._user_agent = user_agent
        self._retry = retry
        self._keychain = Keychain(self._settings, env=self._env, docker_config_dir=docker_config_dir)
        self._counter = RequestCounter()
        self._lock = threading.Lock()
        self._remotes: dict[str, tuple[Transport, Authenticator]] = {}
        self._layouts: dict[str, LayoutSource] = {}
        self._connecting: list[threading.Thread] = []

    @property
    def request_count(self) -> int:
        """Total HTTP requests sent so far (registry and token server, retries and redirects included)."""
        return self._counter.value

    @property
    def token_request_count(self) -> int:
        """Bearer token requests sent so far (all hosts)."""
        with self._lock:
            return sum(auth.token_requests for _transport, auth in self._remotes.values())

    def preconnect(self, refs: Iterable[ImageRef], *, limit: int) -> None:
        """Start opening connections to every registry these images are on (one per image, at most ``limit``, the
        images verified at once, and the pool size), in the background: TCP and TLS set-up overlap the rest of
        start-up and the first request's auth probe. ``close`` waits for them."""
        counts: dict[str, int] = {}
        for ref in refs:
            if ref.layout is None:
                registry = canonical_host(ref.registry)
                counts[registry] = counts.get(registry, 0) + 1
        for registry, count in counts.items():
            with self._lock:
                remote = self._remotes.get(registry)
                if remote is None:
                    remote = self._remotes[registry] = self._new_remote(registry)
            # within the run's bound: close() joins these, and must never wait past --timeout
            thread = remote[0].preconnect(min(count, limit), self._run_bound.remaining())
            if thread is not None:
                self._connecting.append(thread)

    def source_for(self, ref: ImageRef) -> Source:
        """The source of ``ref``; for a registry, a view whose requests all end by this image's deadline."""
        if ref.layout is not None:
            root = os.path.realpath(ref.layout)
            with self._lock:
                layout = self._layouts.get(root)
                if layout is None:
                    layout = self._layouts[root] = LayoutSource(root)
            return layout
        from sigverify.registry.remote import RemoteSource

        registry = canonical_host(ref.registry)
        with self._lock:
            remote = self._remotes.get(registry)
            if remote is None:
                remote = self._remotes[registry] = self._new_remote(registry)
        image = Bound(time.monotonic() + self._image_timeout, f"the image's {self._image_timeout:g} s bound")
        bound = image if image.at < self._run_bound.at else self._run_bound
        return RemoteSource(registry, remote[0], remote[1], bound)

    def _new_remote(self, registry: str) -> tuple[Transport, Authenticator]:
        from sigverify.registry.auth import Authenticator
        from sigverify.registry.transport import Transport

        settings = self._settings.get(registry)
        verify: bool | str = True
        if settings is not None and settings.ca_file:
            verify = settings.ca_file
        elif self._env.get("REQUESTS_CA_BUNDLE") or self._env.get("SSL_CERT_FILE"):
            verify = self._env.get("REQUESTS_CA_BUNDLE") or self._env.get("SSL_CERT_FILE") or True
        host = api_host(registry)
        transport = Transport(
            host,
            insecure=settings is not None and settings.insecure,
            verify=verify,
            timeout=self._timeout,
            pool_size=self._pool_size,
            user_agent=self._user_agent,
            counter=self._counter,
            retry=self._retry,
        )
        auth = Authenticator(registry, transport, self._keychain, timeout=self._timeout)
        return transport, auth

    def close(self) -> None:
        for thread in self._connecting:  # connections opened ahead of need: never left running past the run
            thread.join()
        self._connecting.clear()
        with self._lock:
            for transport, _auth in self._remotes.values():
                transport.close()
            self._remotes.clear()
            self._layouts.clear()

    def __enter__(self) -> Registries:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
