"""The deadline watchdog: ends every request when its deadline passes, connect and TLS handshake included.

Socket timeouts bound each read; only this bounds a server that trickles headers or a body a byte at a time.
Transport arms an entry per request; the connection classes (``http1``, ``proxied``) hand it the socket they use.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time


class Armed:
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
        self._heap: list[tuple[float, int, Armed]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, at: float) -> Armed:
        entry = Armed(at)
        with self._cond:
            heapq.heappush(self._heap, (at, next(self._seq), entry))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sigverify-deadlines", daemon=True)
                self._thread.start()
            if self._heap[0][2] is entry:
                self._cond.notify()
        return entry

    def attach(self, entry: Armed, sock: socket.socket, *, owned: bool = False) -> None:
        with self._cond:
            old, entry.owned = entry.owned, (sock if owned else None)
            entry.sock = sock
            if entry.fired:
                _shutdown(sock)
        if old is not None:
            old.close()

    def detach(self, entry: Armed) -> None:
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


WATCHDOG = _Watchdog()
current = threading.local()  # the entry of the request this thread is opening (read by the connections below)


def attach_current(sock: socket.socket | None, *, dup: bool = False) -> None:
    """Give the watchdog the socket of the request this thread is sending (a dup during a TLS handshake)."""
    entry: Armed | None = getattr(current, "entry", None)
    if entry is None or sock is None:
        return
    if dup:  # during the TLS handshake the plain socket object is detached: reach the socket through a dup
        try:
            WATCHDOG.attach(entry, sock.dup(), owned=True)
        except OSError:
            return
    else:
        WATCHDOG.attach(entry, sock)
