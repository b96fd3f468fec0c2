"""Health gate: a web process is healthy once it accepts connections on its port."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable


async def port_accepts(host: str, port: int, timeout: float = 1.0) -> bool:
    """One attempt to open a TCP connection."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def wait_until_bound(
    host: str, port: int, deadline: float, still_running: Callable[[], bool]
) -> bool:
    """Poll ``port`` until it accepts, the process dies, or the monotonic ``deadline`` passes."""
    delay = 0.02
    while time.monotonic() < deadline:
        if not still_running():
            return False
        if await port_accepts(host, port):
            return True
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.25)
    return False


async def http_status(host: str, port: int, path: str, timeout: float = 5.0) -> int | None:
    """One ``GET path`` over a fresh connection; the status code, None when it fails."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError):
        return None
    try:
        request = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        writer.write(request.encode())
        status_line = await asyncio.wait_for(reader.readline(), timeout)
        parts = status_line.split()
        return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None
    except (OSError, TimeoutError):
        return None
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def wait_until_http_ok(
    host: str,
    port: int,
    path: str,
    deadline: float,
    still_running: Callable[[], bool],
    report: Callable[[str], None],
) -> bool:
    """Poll ``path`` every second until it answers 2xx or 3xx, the process dies, or the deadline."""
    last: int | None = None
    while time.monotonic() < deadline and still_running():
        status = await http_status(host, port, path)
        if status is not None and 200 <= status < 400:
            return True
        if status != last:
            report(f"Health check GET {path}: {status or 'no answer'}")
            last = status
        await asyncio.sleep(1.0)
    return False
