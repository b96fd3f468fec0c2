"""The upstream pool: idle keep-alive connections and requests in flight, per backend.

Idle connections wait newest first, so the warmest are reused and the oldest are closed by the
idle sweep. The count of requests in flight on each backend tells the daemon when a retired
process has none left (see ``Worker._report_drain``). New connections are made here too: in the
compiled build on the worker's own epoll set (``_streams.c``), else with ``loop.create_connection``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Final, Protocol

from twelve.router.hotpath import c_module
from twelve.router.table import Backend
from twelve.router.upstream import UpstreamConnection

if TYPE_CHECKING:
    from twelve.router.exchange import Exchange

MAX_IDLE_PER_BACKEND: Final = 256


STREAMS: Final = c_module("_streams")


class Attempt(Protocol):
    """A connect under way, as the exchange that asked for it sees it."""

    def cancel(self) -> None:
        """Give up: the socket is closed, and the waiter hears nothing."""


class Waiter(Protocol):
    """What waits for a connect: told once, of the connection or of the failure."""

    def connected(self, conn: UpstreamConnection) -> None:
        """The connection is up, and the connect's ``early`` bytes are on their way."""

    def connect_failed(self) -> None:
        """The connect failed (refused, say): nothing was sent."""


class BackendConnections:
    """One backend's idle connections, its count of requests in flight and of connects under way.

    Held by each of its connections, so that a request's start and end touch plain attributes,
    not a dict keyed by backend.
    """

    __slots__ = ("busy", "connecting", "erred_until", "failed_until", "idle", "key", "live", "port")

    def __init__(self, key: str, port: int, live: bool) -> None:
        self.key = key
        self.port = port
        self.idle: list[UpstreamConnection] = []
        self.busy = 0  # requests in flight
        # Requests whose connection is still being made: counted by ``least_busy`` too, or the
        # requests of one read would all go to the backend that looked least busy.
        self.connecting = 0
        # Until when (the loop's clock) a failed connect keeps it last in ``least_busy``'s choice.
        self.failed_until = 0.0
        # Until when an answer in the 5xx range keeps it to its own round-robin turns.
        self.erred_until = 0.0
        self.live = live  # in the route table


class Connecting:
    """A connection under way: ``loop.create_connection``'s coroutine, driven without a Task.

    That coroutine is asyncio's only way to connect a transport, and starting a Task for it took
    8,500 instructions per connection, about as many as uvloop's whole connect. The coroutine
    waits on futures only, so it is sent ``None`` each time the one it waits on is done, as a
    Task would do.
    """

    __slots__ = ("coro", "early", "waiter", "waiting")

    def __init__(
        self,
        coro: Coroutine[Any, Any, tuple[asyncio.BaseTransport, UpstreamConnection]],
        waiter: Waiter,
        early: bytes,
    ) -> None:
        self.coro: Coroutine[Any, Any, tuple[asyncio.BaseTransport, UpstreamConnection]] | None
        self.coro = coro
        self.waiter = waiter
        self.early = early
        self.waiting: asyncio.Future[Any] | None = None
        self.step(None)

    def step(self, _done: object) -> None:
        """Run the coroutine to its next wait, or to its end (then call back)."""
        coro = self.coro
        if coro is None:
            return
        try:
            waiting = coro.send(None)
        except StopIteration as end:
            self.coro = self.waiting = None
            conn = end.value[1]
            conn.write(self.early)
            self.waiter.connected(conn)
            return
        except OSError:
            self.coro = self.waiting = None
            self.waiter.connect_failed()
            return
        self.waiting = waiting
        if waiting is None:  # a bare yield: the coroutine asks to run again soon
            asyncio.get_running_loop().call_soon(self.step, None)
        else:
            waiting.add_done_callback(self.step)

    def cancel(self) -> None:
        """Give up: the socket is closed, and the waiter hears nothing."""
        coro, self.coro = self.coro, None
        waiting, self.waiting = self.waiting, None
        if waiting is not None:
            waiting.remove_done_callback(self.step)
        if coro is not None:
            coro.close()  # create_connection closes its transport as the coroutine ends


# What a failed connect adds to a process's load: more than any count of requests in flight.
FAILED: Final = 1 << 30


def load(slot: BackendConnections, now: float) -> int:
    """How busy ``slot``'s backend looks: requests in flight and connects under way, or far more
    while a failed connect keeps it last."""
    busy = slot.busy + slot.connecting
    return busy + FAILED if slot.failed_until > now else busy


def least_busy(
    slots: dict[str, BackendConnections], backends: tuple[Backend, ...], turn: int, now: float
) -> int:
    """The index in ``backends`` of the one to send a request to: the round-robin ``turn``'s,
    unless another has fewer requests in flight (connects under way included); among equals,
    the first from the turn's on. ``slots`` holds the counts by backend key.

    Round robin alone sends a process the same share of requests however far behind it is: one
    that falls behind (a thread per connection fighting for one lock, say) builds a queue while
    the others wait for work. But a process that fails fast looks idle to a count of requests,
    so within the fail timeout before ``now`` one a connect failed to is chosen only when every
    other one failed too, and one that answered 5xx only on its own turns, never as the least
    busy: it gets at most the share round robin would give it.
    """
    count = len(backends)
    best = turn % count
    slot = slots.get(backends[best].key)
    if slot is None:
        return best
    fewest = load(slot, now)
    index = best
    for _ in range(count - 1):
        if not fewest:
            break
        index += 1
        if index == count:
            index = 0
        slot = slots.get(backends[index].key)
        if slot is None:
            best, fewest = index, 0
        elif (busy := load(slot, now)) < fewest and (slot.erred_until <= now or fewest >= FAILED):
            best, fewest = index, busy
    return best


class Pool:
    """Idle upstream connections and requests in flight by backend, and new connections."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_head_bytes: int) -> None:
        self._loop = loop
        self.clock = loop.time
        # The largest response head a backend may send (``router_max_response_header_bytes``).
        self.max_head_bytes = max_head_bytes
        self._backends: dict[str, BackendConnections] = {}
        self.on_retired_idle: Callable[[], None] = lambda: None
        # The compiled build's connections (``_streams.c``).
        self._poller: Any = None
        if STREAMS is not None:
            self._poller = STREAMS.Poller(loop)
            loop.add_reader(self._poller.fileno(), self._poller.poll)

    def set_live(self, backends: list[Backend]) -> None:
        """The backends in the route table now; the others are retired."""
        live = {b.key: b for b in backends}
        for key, slot in self._backends.items():
            slot.live = key in live
        for key, backend in live.items():
            if key not in self._backends:
                self._backends[key] = BackendConnections(key, backend.port, True)

    def least_busy(self, backends: tuple[Backend, ...], turn: int, now: float) -> int:
        """The index in ``backends`` of the one to send a request to (see ``least_busy``)."""
        return least_busy(self._backends, backends, turn, now)

    def slot(self, backend: Backend) -> BackendConnections:
        """``backend``'s idle connections and counts."""
        slot = self._backends.get(backend.key)
        if slot is None:  # a backend that left the table while a request picked it
            slot = self._backends[backend.key] = BackendConnections(
                backend.key, backend.port, False
            )
        return slot

    def claim(self, conn: UpstreamConnection, exchange: Exchange) -> None:
        """``conn`` now carries ``exchange``: one more request in flight on its backend."""
        conn.exchange = exchange
        slot = conn.slot
        if not slot.live:  # rare: a retired backend, perhaps swept since; count it where seen
            slot = conn.slot = self._backends.setdefault(slot.key, slot)
        slot.busy += 1

    def unclaim(self, slot: BackendConnections) -> None:
        """A request on ``slot``'s backend ended (called by ``UpstreamConnection.detach``)."""
        slot.busy -= 1
        if not slot.busy and not slot.live:
            self.on_retired_idle()  # the last request on a retired backend ended

    def retired_busy(self) -> list[int]:
        """Ports of backends that left the table but still have requests in flight."""
        return sorted(s.port for s in self._backends.values() if s.busy and not s.live)

    def take(self, key: str) -> UpstreamConnection | None:
        """The most recently used idle connection to backend ``key``, if any."""
        slot = self._backends.get(key)
        if slot is None:
            return None
        idle = slot.idle
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
        return None

    def give(self, conn: UpstreamConnection, now: float = 0.0) -> None:
        """Keep ``conn`` for reuse (idle since ``now``, default: the loop's time), unless its
        backend left the table or the pool is full."""
        if conn.closed:
            return
        slot = conn.slot
        idle = slot.idle
        if not slot.live or len(idle) >= MAX_IDLE_PER_BACKEND:
            conn.discard()
            return
        conn.idle_since = now or self._loop.time()
        idle.append(conn)

    def forget(self, conn: UpstreamConnection) -> None:
        """Drop a connection the backend closed while it was idle."""
        idle = conn.slot.idle
        if conn in idle:
            idle.remove(conn)

    def connect(
        self,
        slot: BackendConnections,
        backend: Backend,
        waiter: Waiter,
        early: bytes,
    ) -> Attempt:
        """Start a new connection to ``backend`` (its ``slot``) that sends ``early`` first;
        ``waiter`` is told how it ended, perhaps at once (before this returns).

        On the compiled build's streams, the send of ``early`` is what tells whether the
        connection is up, so a request goes out without a send of its own.

        No timer of its own: the worker's periodic check gives up a connect that takes too long
        (see ``choice.Connects.expire``); ``asyncio.timeout`` costs more than the connect.
        """
        if self._poller is not None and backend.numeric:
            conn = UpstreamConnection(self, slot)
            attempt: Attempt = self._poller.connect(backend.host, backend.port, conn, waiter, early)
            return attempt
        made = self._loop.create_connection(
            lambda: UpstreamConnection(self, slot), *backend.address
        )
        return Connecting(made, waiter, early)

    def sweep(self, idle_timeout: float) -> None:
        """Close idle connections older than ``idle_timeout`` or to backends no longer routed."""
        oldest = self._loop.time() - idle_timeout
        for key, slot in list(self._backends.items()):
            keep = [c for c in slot.idle if not c.closed]
            for conn in keep:
                if not slot.live or conn.idle_since < oldest:
                    conn.discard()
            slot.idle = [c for c in keep if not c.closed]
            if not slot.live and not slot.busy:
                del self._backends[key]  # retired, and nothing in flight on it

    def close(self) -> None:
        """Close every idle connection (shutdown)."""
        for slot in self._backends.values():
            idle, slot.idle = slot.idle, []
            for conn in idle:
                conn.discard()
