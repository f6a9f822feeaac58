"""Kept-alive connections to one origin: the connection (TLS, the deadline watchdog's reach), the check that an
idle one is still open, and the per-origin cap, with connections opened ahead of need."""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from typing import Any

from sigverify.registry.deadline import attach_current


class SendError(Exception):
    """A request got no response. ``kind``: connect-timeout, timeout, tls, pool-timeout, proxy or other."""

    def __init__(self, kind: str, cause: BaseException) -> None:
        super().__init__(kind, cause)
        self.kind = kind
        self.cause = cause


class Conn:
    """One kept-alive connection (TLS when ``context`` is set) whose socket the deadline watchdog can reach."""

    __slots__ = ("context", "host", "host_header", "port", "rfile", "sock")

    def __init__(self, host: str, port: int | None, context: ssl.SSLContext | None) -> None:
        self.host = host
        self.port = port or (443 if context is not None else 80)
        self.context = context
        name = f"[{host}]" if ":" in host else host
        self.host_header = name if port is None or port == (443 if context is not None else 80) else f"{name}:{port}"
        self.sock: socket.socket | None = None
        self.rfile: Any = None

    def connect(self, timeout: float) -> None:
        sock = socket.create_connection((self.host, self.port), timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.context is not None:
                attach_current(sock, dup=True)  # wrap_socket detaches the plain socket object: reach it through a dup
                sock = self.context.wrap_socket(sock, server_hostname=self.host)
            attach_current(sock)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self.rfile = sock.makefile("rb")

    def close(self) -> None:
        rfile, sock, self.rfile, self.sock = self.rfile, self.sock, None, None
        if rfile is not None:
            rfile.close()
        if sock is not None:
            sock.close()


def is_dead(conn: Conn) -> bool:
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


class OriginPool:
    """Connections to one origin: at most ``size`` in use at once (the next caller waits), idle ones reused
    last-in first-out. A caller finding none idle while one is being opened ahead of need waits for that one
    rather than open another."""

    def __init__(self, size: int) -> None:
        self._slots = threading.Semaphore(size)
        self._idle: list[Conn] = []
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._opening = 0  # connections being opened ahead of need
        self.closed = False

    def acquire(self, timeout: float) -> Conn | None:
        """An idle connection that is still open, or None (the caller opens one); SendError when none is free."""
        until = time.monotonic() + max(timeout, 0.0)
        if not self._slots.acquire(timeout=max(timeout, 0.0)):
            raise SendError("pool-timeout", TimeoutError("no free connection"))
        while True:
            with self._ready:
                while not self._idle and self._opening and (left := until - time.monotonic()) > 0:
                    self._ready.wait(left)
                conn = self._idle.pop() if self._idle else None
            if conn is None or not is_dead(conn):
                return conn
            conn.close()

    def begin_opening(self, count: int) -> int:
        """Slots for up to ``count`` connections opened ahead of need, as many as are free now; each ends with
        ``end_opening``. Returns how many."""
        taken = 0
        while taken < count and self._slots.acquire(blocking=False):
            taken += 1
        with self._lock:
            self._opening += taken
        return taken

    def end_opening(self, conn: Conn | None) -> None:
        """The connection opened ahead (None: it could not be opened) joins the idle ones."""
        with self._ready:
            self._opening -= 1
            if conn is not None and not self.closed:
                self._idle.append(conn)
                conn = None
            self._ready.notify_all()
        if conn is not None:
            conn.close()
        self._slots.release()

    def put(self, conn: Conn) -> None:
        with self._ready:
            keep = not self.closed
            if keep:
                self._idle.append(conn)
                self._ready.notify()
        if not keep:
            conn.close()
        self._slots.release()

    def drop(self, conn: Conn | None) -> None:
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
