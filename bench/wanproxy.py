"""A delaying TCP proxy on 127.0.0.1 that makes a local registry look like one across a WAN (bench only).

Every byte is held for half the round trip in each direction, so a request/response exchange costs one round
trip (default 40 ms); the first bytes of each new connection wait ``--setup-rtts`` more round trips (default 1),
as the TCP (and TLS) handshake would. Order and pipelining within a connection are kept; bandwidth is not limited.

    python bench/wanproxy.py --rtt-ms 40 --map 0:127.0.0.1:5000 [--map 5601:127.0.0.1:5600 ...]

Each ``--map LISTEN:HOST:PORT`` listens on 127.0.0.1:LISTEN (0: a free port) and forwards to HOST:PORT (which
must be loopback). Prints one JSON line ``{"ports": [listen ports in --map order]}`` once listening, then runs
until SIGTERM/SIGINT; ``--deadline-s`` (default 6 hours) bounds its life in any case.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys

CHUNK = 65536


_ACTIVE: set[asyncio.Task[None]] = set()  # strong references: asyncio keeps only weak ones to running tasks


class Stats:
    """Connections and bytes forwarded (printed on exit, to stderr)."""

    connections = 0
    up_bytes = 0
    down_bytes = 0


async def _pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float, not_before: float, up: bool
) -> None:
    """Copy reader -> writer, each chunk released ``delay`` s after it arrived (never before ``not_before``)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def read() -> None:
        try:
            while True:
                data = await reader.read(CHUNK)
                await queue.put((max(loop.time(), not_before) + delay, data))
                if not data:
                    return
        except Exception:  # reset, or anything else: end the other side instead of leaving it waiting
            await queue.put((loop.time(), b""))

    async def write() -> None:
        try:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
                if up:
                    Stats.up_bytes += len(data)
                else:
                    Stats.down_bytes += len(data)
        except (ConnectionError, OSError):
            return

    await asyncio.gather(read(), write())


async def _handle(
    client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter, host: str, port: int, rtt: float, setup_rtts: int
) -> None:
    loop = asyncio.get_running_loop()
    opened = loop.time()
    Stats.connections += 1
    task = asyncio.current_task()
    if task is not None:
        _ACTIVE.add(task)
        task.add_done_callback(_ACTIVE.discard)
    try:
        up_r, up_w = await asyncio.open_connection(host, port)
    except OSError:
        client_w.close()
        return
    try:
        await asyncio.gather(
            _pump(client_r, up_w, rtt / 2, opened + setup_rtts * rtt, True),
            _pump(up_r, client_w, rtt / 2, 0.0, False),
        )
    finally:
        for w in (up_w, client_w):
            w.close()


async def serve(maps: list[tuple[int, str, int]], rtt: float, setup_rtts: int, deadline: float) -> None:
    servers = []
    for listen, host, port in maps:
        if host not in ("127.0.0.1", "localhost"):
            raise SystemExit(f"--map target must be loopback, got {host}")

        async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, host: str = host, port: int = port) -> None:
            await _handle(r, w, host, port, rtt, setup_rtts)

        servers.append(await asyncio.start_server(handler, "127.0.0.1", listen, backlog=512))
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    print(json.dumps({"ports": ports, "rtt_ms": rtt * 1000, "setup_rtts": setup_rtts}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=deadline)
    for s in servers:
        s.close()
    print(
        json.dumps({"connections": Stats.connections, "up_bytes": Stats.up_bytes, "down_bytes": Stats.down_bytes}),
        file=sys.stderr,
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rtt-ms", type=float, default=40.0, help="round trip added (default 40)")
    ap.add_argument("--setup-rtts", type=int, default=1, help="extra round trips per new connection (default 1)")
    ap.add_argument("--map", action="append", required=True, metavar="LISTEN:HOST:PORT")
    ap.add_argument("--deadline-s", type=float, default=6 * 3600.0, help="exit after this long regardless")
    a = ap.parse_args(argv)
    maps = []
    for m in a.map:
        listen, host, port = m.split(":")
        maps.append((int(listen), host, int(port)))
    asyncio.run(serve(maps, a.rtt_ms / 1000.0, a.setup_rtts, a.deadline_s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
