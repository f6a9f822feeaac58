"""Requests through an HTTP(S) proxy from the environment (urllib3's ProxyManager, imported only when one is set)."""

from __future__ import annotations

import ssl
import urllib.parse
from typing import TYPE_CHECKING, Any

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from sigverify.registry.deadline import attach_current
from sigverify.registry.pool import SendError

# The mixin below is typed as an HTTPConnection; at run time it is a plain mixin, so super() reaches the HTTP or
# HTTPS connection class it is combined with.
if TYPE_CHECKING:
    _ConnBase = HTTPConnection
else:
    _ConnBase = object


class _Watched(_ConnBase):
    """The deadline watchdog's reach into a connection's socket (new or reused), the TLS handshake included."""

    def _new_conn(self) -> Any:
        sock = super()._new_conn()
        attach_current(sock, dup=True)
        return sock

    def connect(self) -> None:
        super().connect()
        attach_current(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        attach_current(self.sock)
        super().request(*args, **kwargs)


class _Conn(_Watched, HTTPConnection):
    """An HTTP connection whose socket the deadline watchdog can reach (new or reused)."""


class _TLSConn(_Watched, HTTPSConnection):
    """An HTTPS connection whose socket the deadline watchdog can reach, the TLS handshake included."""


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Conn


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _TLSConn


class ProxyOpener:
    """Sends requests for every origin through one proxy (CONNECT tunnels for https), ``size`` at once per origin."""

    def __init__(self, proxy: str, *, size: int, ca_file: str | None) -> None:
        parts = urllib.parse.urlsplit(proxy)
        headers = None
        if parts.username is not None:
            user, password = (urllib.parse.unquote(x or "") for x in (parts.username, parts.password))
            headers = urllib3.make_headers(proxy_basic_auth=f"{user}:{password}")
            proxy = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
        self._manager = urllib3.ProxyManager(
            proxy,
            proxy_headers=headers,
            num_pools=64,
            maxsize=size,
            block=True,  # the per-origin concurrency cap: a thread waits for a free connection
            cert_reqs="CERT_REQUIRED",
            ca_certs=ca_file,
            retries=False,
        )
        self._manager.pool_classes_by_scheme = {"http": _Pool, "https": _TLSPool}

    def open(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, remaining: float, connect: float
    ) -> Any:
        """The response (body unread), or SendError saying why there is none."""
        try:
            return self._manager.urlopen(
                method,
                url,
                body=body,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
                decode_content=False,
                release_conn=False,
                assert_same_host=False,
                timeout=urllib3.Timeout(connect=connect, read=remaining),
                pool_timeout=remaining,
            )
        except urllib3.exceptions.EmptyPoolError as exc:
            raise SendError("pool-timeout", exc) from None
        except urllib3.exceptions.ConnectTimeoutError as exc:
            raise SendError("connect-timeout", exc) from None
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise SendError("timeout", exc) from None
        except urllib3.exceptions.SSLError as exc:
            cause = exc.args[0] if exc.args and isinstance(exc.args[0], ssl.SSLError) else exc
            raise SendError("tls", cause) from None
        except urllib3.exceptions.ProxyError as exc:
            raise SendError("proxy", exc) from None
        except Exception as exc:
            raise SendError("other", exc) from None

    def close(self) -> None:
        self._manager.clear()
