"""A keep-alive hello server on uvloop + httptools, so a bench measures the proxy, not the app.

Reads PORT and DYNO like a web process; answers every request with ``hello from DYNO``.
"""

from __future__ import annotations

import asyncio
import os

import httptools
import uvloop

BODY = f"hello from {os.environ.get('DYNO', 'web')}\n".encode()
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%b" % (
    len(BODY),
    BODY,
)


class Hello(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)
        self.keep_alive = True

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_complete(self) -> None:
        self.transport.write(RESPONSE)  # type: ignore[attr-defined]
        if not self.parser.should_keep_alive():
            self.transport.close()


async def main() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Hello, "127.0.0.1", int(os.environ["PORT"]), backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main())
