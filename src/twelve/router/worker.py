"""One router worker: an event loop serving a listening socket with the current route table.

The worker owns what its connections share: the route table (swapped by reference on reload),
the round-robin turns, the upstream pool, the request id source, the access log writer and the
timeouts. SIGHUP reloads the table, SIGTERM and SIGINT stop it gracefully. With a TLS socket it
also serves HTTPS, choosing each connection's certificate by SNI (``twelve.router.tls``).
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
from pathlib import Path
from typing import Any, Final

from twelve.router import endings
from twelve.router.accesslog import LineWriter, event_line
from twelve.router.messages import RequestIds
from twelve.router.metrics import Meter
from twelve.router.pool import Pool
from twelve.router.proxy import ClientConnection
from twelve.router.table import RouteTable, TableError, parse_table
from twelve.router.tls import HANDSHAKE_TIMEOUT, Certificates, answered_validation
from twelve.settings import Settings

SHUTDOWN_GRACE: Final = 5.0  # seconds in-flight requests get to finish on SIGTERM
HANDLED_SIGNALS: Final = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)
# Allocations between young-generation collections (Python's default: 700).
GC_THRESHOLD: Final = 20_000


class HttpsConnection(ClientConnection):
    """A connection on the TLS socket; one that was a CA's TLS-ALPN-01 validation is closed
    once its handshake is done (RFC 8737)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if answered_validation(transport):
            self.closed = True
            transport.close()
            return
        super().connection_made(transport)


class Worker:
    """The state every connection of one worker process shares."""

    def __init__(
        self,
        settings: Settings,
        loop: asyncio.AbstractEventLoop,
        log: LineWriter,
        tls: Certificates | None = None,
    ) -> None:
        self.loop = loop
        self.now = loop.time
        self.log = log
        self.table = RouteTable()
        self.turns: dict[str, int] = {}
        self.pool = Pool(loop, settings.router_max_response_header_bytes)
        self.connect_timeout = settings.router_connect_timeout
        self.fail_timeout = settings.router_fail_timeout
        self.pool.on_retired_idle = self._report_drain
        self.ids = RequestIds()
        self.meter = Meter()
        self.metrics_interval = settings.router_metrics_interval
        self._metrics_due = loop.time() + self.metrics_interval
        self.connections: set[ClientConnection] = set()
        self.closing = False
        self.tls = tls
        self.max_header_bytes = settings.router_max_header_bytes
        self.max_body_bytes = settings.router_max_body_bytes
        self.max_response_header_bytes = settings.router_max_response_header_bytes
        self.header_timeout = settings.router_header_timeout
        self.max_client_connections = settings.router_max_client_connections
        self._per_client: dict[bytes, int] = {}  # open connections by client address
        self.response_timeout = settings.router_response_timeout
        self.idle_timeout = settings.router_idle_timeout
        self._routes_path: Path = settings.routes_path
        self._domain = settings.domain
        self._stamp: tuple[int, int, int] | None = None
        self._stop = asyncio.Event()
        self._reload_requested = False
        self._busy_reported: list[int] = []
        # Timeouts are checked by one periodic sweep, not a timer per request.
        shortest = (
            min(self.response_timeout, self.idle_timeout, self.connect_timeout, self.header_timeout)
            or 1.0
        )
        self._tick_every = max(0.05, min(1.0, shortest / 4))

    def next_turn(self, app: str) -> int:
        """The round-robin turn of ``app``'s next request (one count per app and worker)."""
        turns = self.turns
        turn = turns.get(app, 0)
        turns[app] = turn + 1
        return turn

    # connections per client address

    def admit(self, peer: bytes) -> bool:
        """Count a new connection from ``peer``; False when it has too many open already."""
        count = self._per_client.get(peer, 0)
        if self.max_client_connections and count >= self.max_client_connections:
            return False
        self._per_client[peer] = count + 1
        return True

    def release(self, peer: bytes) -> None:
        """A connection from ``peer`` has closed."""
        count = self._per_client.get(peer, 0) - 1
        if count > 0:
            self._per_client[peer] = count
        else:
            self._per_client.pop(peer, None)

    # the route table

    def reload(self, *, force: bool = False) -> None:
        """Read the route table file again if it changed; missing or malformed means empty."""
        self._reload_requested = False
        try:
            st = os.stat(self._routes_path)
            stamp: tuple[int, int, int] | None = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        if stamp == self._stamp and not force:
            return
        self._stamp = stamp
        warnings: list[str] = []
        try:
            text = self._routes_path.read_bytes()
            table, warnings = parse_table(text, self._domain)
        except FileNotFoundError:
            table = RouteTable()
            warnings = [f"no route table at {self._routes_path}; serving no apps"]
        except (OSError, TableError) as exc:
            table = RouteTable()
            warnings = [f"route table {self._routes_path} unusable ({exc}); serving no apps"]
        self.table = table
        self.pool.set_live(table.backends())
        if self.tls is not None:
            warnings += self.tls.update(table)
        for warning in warnings:
            self.log.write(event_line("warning", message=warning, pid=os.getpid()))
        self.log.write(
            event_line("routes", version=table.version, apps=len(table.routes), pid=os.getpid())
        )
        self._report_drain(force=True)

    def _report_drain(self, *, force: bool = False) -> None:
        """Tell the daemon which retired backends still have requests in flight here.

        Said after every reload and whenever that set changes, so the daemon can stop a retired
        process as soon as no worker has a request on it, rather than after a fixed pause.
        """
        busy = self.pool.retired_busy()
        if force or busy != self._busy_reported:
            self._busy_reported = busy
            self.log.write(
                event_line("drain", version=self.table.version, busy=busy, pid=os.getpid())
            )

    def _request_reload(self) -> None:
        # The signal only records; the loop acts on it in its own turn.
        if not self._reload_requested:
            self._reload_requested = True
            self.loop.call_soon(self.reload)

    # timeouts

    def _tick(self) -> None:
        if self._stop.is_set():
            return
        now = self.now()
        for conn in list(self.connections):
            endings.check(conn, now)
        self.pool.sweep(self.idle_timeout)
        self.reload()  # a cheap stat; catches a SIGHUP that arrived before the handler existed
        self._report_drain()
        if now >= self._metrics_due:
            self._metrics_due = now + self.metrics_interval
            self.report_metrics()
        self.loop.call_later(self._tick_every, self._tick)

    def report_metrics(self) -> None:
        """Hand the requests counted since the last report to the daemon, in one line."""
        tallies = self.meter.take()
        if tallies:
            self.log.write(event_line("metrics", pid=os.getpid(), tallies=tallies))

    # life

    async def serve(
        self, sock: socket.socket, ready: Any = None, tls_sock: socket.socket | None = None
    ) -> None:
        """Serve ``sock`` until SIGTERM or SIGINT, then finish in-flight requests and return.

        ``tls_sock``, given with the worker's ``tls`` certificates, is served as HTTPS.
        ``ready`` is called once the worker accepts connections and its signal handlers are set.
        """
        for sig in HANDLED_SIGNALS:
            handler = self._request_reload if sig == signal.SIGHUP else self._stop.set
            self.loop.add_signal_handler(sig, handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_SIGNALS)
        # Everything allocated so far lives as long as the worker: keep the collector off it, and
        # let it run less often (the proxy breaks its own reference cycles as requests end).
        gc.freeze()
        gc.set_threshold(GC_THRESHOLD, 20, 20)
        self.reload(force=True)
        server = await self.loop.create_server(
            lambda: ClientConnection(self), sock=sock, backlog=1024
        )
        servers = [server]
        if tls_sock is not None and self.tls is not None:
            servers.append(
                await self.loop.create_server(
                    lambda: HttpsConnection(self, b"https"),
                    sock=tls_sock,
                    backlog=1024,
                    ssl=self.tls.default,
                    ssl_handshake_timeout=HANDSHAKE_TIMEOUT,
                )
            )
        self.loop.call_later(self._tick_every, self._tick)
        if ready is not None:
            ready()
        await self._stop.wait()
        for each in servers:
            each.close()
        await self._drain()
        for sig in HANDLED_SIGNALS:
            self.loop.remove_signal_handler(sig)

    async def _drain(self) -> None:
        self.closing = True
        for conn in list(self.connections):
            conn.shutdown()
        deadline = self.now() + SHUTDOWN_GRACE
        while self.connections and self.now() < deadline:
            await asyncio.sleep(0.02)
        for conn in list(self.connections):
            conn.closed = True
            conn.transport.abort()
        self.pool.close()
        await asyncio.sleep(0)
        self.report_metrics()  # what the last interval counted, before the worker ends
        self.log.close()
