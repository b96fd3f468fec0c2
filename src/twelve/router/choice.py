"""Which web process serves a request: the pick (round robin, skipping a busier process), and the
connects made to reach one (``Connects``), each backend tried in turn until one accepts.

A request never sent is safe to send elsewhere, so a refused or timed-out connect moves on to the
next backend; when none is left the request fails with H10 (or H19 if one timed out).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, final

from twelve.router import codes
from twelve.router.table import Backend, Route

if TYPE_CHECKING:
    from twelve.router.exchange import Exchange
    from twelve.router.pool import Attempt, BackendConnections, Pool
    from twelve.router.upstream import UpstreamConnection


def pick(pool: Pool, route: Route, turn: int, now: float) -> int:
    """The index in ``route.backends`` of the process to send the request of round-robin
    ``turn`` to (see ``pool.least_busy``)."""
    backends = route.backends
    return pool.least_busy(backends, turn, now) if len(backends) > 1 else 0


@final
class Connects:
    """The connects one exchange makes to reach a backend; the pool's ``Waiter`` for each.

    ``deadline`` is when the connect under way is given up (0: none is), for the worker's
    periodic check (``endings.check``) to call ``expire``.
    """

    __slots__ = (
        "attempt",
        "began",
        "clock",
        "deadline",
        "exchange",
        "fail_timeout",
        "next",
        "order",
        "pool",
        "slot",
        "timed_out",
        "timeout",
    )

    def __init__(
        self,
        exchange: Exchange,
        pool: Pool,
        clock: Callable[[], float],
        timeout: float,
        fail_timeout: float,
    ) -> None:
        self.exchange = exchange
        self.pool = pool
        self.clock = clock
        self.timeout = timeout  # seconds a connect may take
        self.fail_timeout = fail_timeout  # seconds a failed process stays last in the pick
        self.attempt: Attempt | None = None  # the connect under way
        self.order: tuple[Backend, ...] = ()
        self.next = 0  # the index in ``order`` of the backend to try next
        self.began = 0.0
        self.deadline = 0.0
        self.timed_out = False
        # Whose count of connects under way the one under way is in (see ``Pool.least_busy``).
        self.slot: BackendConnections | None = None

    def start(self, order: tuple[Backend, ...]) -> None:
        """Connect to the first backend in ``order`` that accepts; the exchange is told."""
        self.order = order
        self.next = 0
        self.timed_out = False
        self._try_next()

    def _try_next(self) -> None:
        ex = self.exchange
        order = self.order
        index = self.next
        if index >= len(order) or ex.done:
            self.deadline = 0.0
            if not ex.done:
                ex.fail(codes.CONNECT_TIMEOUT if self.timed_out else codes.APP_CRASHED)
            return
        self.next = index + 1
        self.began = began = self.clock()
        self.deadline = began + self.timeout
        backend = order[index]
        pool = self.pool
        self.slot = slot = pool.slot(backend)
        slot.connecting += 1
        attempt = pool.connect(slot, backend, self, ex.request.head)
        # The pool may have told of the end already, before it returned: then the deadline is
        # cleared, or a next attempt has begun.
        if self.deadline != 0.0 and self.next == index + 1:
            self.attempt = attempt

    def _ended(self, failed_until: float = -1.0) -> None:
        """The connect to ``slot``'s backend is over; ``failed_until``, when given, is until when
        it stays last in ``pool.least_busy``'s choice (0: the connect succeeded)."""
        slot = self.slot
        if slot is not None:
            self.slot = None
            slot.connecting -= 1
            if failed_until >= 0.0:
                slot.failed_until = failed_until

    def failed_until(self) -> float:
        """Until when a process that failed now is kept out of the least-busy pick."""
        return self.clock() + self.fail_timeout

    # the pool's Waiter

    def connected(self, conn: UpstreamConnection) -> None:
        """The new connection is up and has sent the request head."""
        self._ended(0.0)
        self.attempt = None
        self.deadline = 0.0
        ex = self.exchange
        if ex.done:  # the client left meanwhile; the request went out, so it is not reusable
            conn.discard()
            return
        now = self.clock()
        ex.connect_ms = int((now - self.began) * 1000)
        ex.attach(conn, self.order[self.next - 1], False, now, True)

    def connect_failed(self) -> None:
        """The connect failed before anything was sent: try the next backend."""
        self._ended(self.failed_until())
        self.attempt = None
        self._try_next()

    # asked by the worker's check and the exchange

    def expire(self) -> None:
        """The connect under way took too long: give it up for the next backend (H19 if none)."""
        attempt, self.attempt = self.attempt, None
        if attempt is not None:
            attempt.cancel()
            self._ended(self.failed_until())
            self.timed_out = True
            self._try_next()

    def cancel(self) -> None:
        """The exchange has ended: a connect under way would send the request, so give it up."""
        attempt = self.attempt
        if attempt is not None:
            self.attempt = None
            attempt.cancel()
        self._ended()
