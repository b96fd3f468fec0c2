"""A small HTTP/1.1 load generator for bench/router.py when wrk is not installed.

    python bench/loadgen.py URL HOST CONNECTIONS SECONDS [HEADER ...]

Keeps CONNECTIONS kept-alive connections busy with GET requests for SECONDS (reconnecting when the
server closes) and prints one JSON object: requests/s, p50 and p99 latency in ms, errors.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from urllib.parse import urlsplit

import httptools
import uvloop


class _Client(asyncio.Protocol):
    def __init__(self, done: asyncio.Future[None]) -> None:
        self.done = done
        self.parser = httptools.HttpResponseParser(self)
        self.finished: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_complete(self) -> None:
        if self.finished is not None and not self.finished.done():
            self.finished.set_result(self.parser.get_status_code())

    def connection_lost(self, exc: Exception | None) -> None:
        if self.finished is not None and not self.finished.done():
            self.finished.set_exception(ConnectionError("closed"))
        if not self.done.done():
            self.done.set_result(None)


async def _worker(
    host: str, port: int, request: bytes, until: float, latencies: list[float]
) -> int:
    loop = asyncio.get_running_loop()
    errors = 0
    client: _Client | None = None
    while time.monotonic() < until:
        if client is None or client.done.done():
            try:
                _, client = await loop.create_connection(
                    lambda: _Client(loop.create_future()), host, port
                )
            except OSError:
                errors += 1
                await asyncio.sleep(0.01)
                continue
        client.finished = loop.create_future()
        began = time.monotonic()
        client.transport.write(request)  # type: ignore[attr-defined]
        try:
            status = await client.finished
        except ConnectionError:
            errors += 1
            client = None
            continue
        latencies.append(time.monotonic() - began)
        if status >= 400:
            errors += 1
        if not client.parser.should_keep_alive():
            client.transport.close()
            client = None
    if client is not None:
        client.transport.close()
    return errors


async def main(
    url: str, host_header: str, connections: int, seconds: float, headers: list[str]
) -> None:
    parts = urlsplit(url)
    lines = "".join(f"{h}\r\n" for h in [f"Host: {host_header}", *headers])
    request = f"GET {parts.path or '/'} HTTP/1.1\r\n{lines}\r\n".encode()
    latencies: list[float] = []
    began = time.monotonic()
    until = began + seconds
    errors = await asyncio.gather(
        *(
            _worker(parts.hostname or "127.0.0.1", parts.port or 80, request, until, latencies)
            for _ in range(connections)
        )
    )
    elapsed = time.monotonic() - began
    latencies.sort()

    def pct(q: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0
        )

    print(
        json.dumps(
            {
                "rps": len(latencies) / elapsed,
                "p50": pct(0.5),
                "p99": pct(0.99),
                "errors": sum(errors),
            }
        )
    )


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5:]))
