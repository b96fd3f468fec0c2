"""One request and its response as they cross the router: the upstream side of the proxy.

The client connection creates an ``Exchange`` when a request's head is complete; the exchange
picks a backend (round robin, skipping a busier one; pooled connection first), streams the body
up, streams the response down, writes the access line, and tells the client connection it is
done. Errors before the response head is sent become a coded error page; after it, the
connection is cut (HTTP has no way to report an error mid-body).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from twelve.router import codes
from twelve.router.codes import RouterError
from twelve.router.hotpath import INFO, access_line, error_at
from twelve.router.messages import CHUNK_END, CRLF, chunk, status_start
from twelve.router.table import Backend, Route

if TYPE_CHECKING:
    from twelve.router.pool import Attempt, BackendConnections
    from twelve.router.proxy import ClientConnection
    from twelve.router.upstream import UpstreamConnection

MAX_RESENDS: Final = 2  # times a request the backend dropped unanswered is sent again
_IDEMPOTENT: Final = frozenset({b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE", b"TRACE"})
# Request bytes held while no upstream is attached, then reading pauses.
PENDING_LIMIT: Final = 256 << 10
_NO_BODY_STATUS: Final = frozenset({101, 204, 304})
_VIA: Final = b"Via: 1.1 twelve\r\n"
_CLOSE: Final = b"Connection: close\r\n"
_KEEP_ALIVE: Final = b"Connection: keep-alive\r\n"
_CHUNKED: Final = b"Transfer-Encoding: chunked\r\n"


class Exchange:
    """The state of one request/response pair."""

    __slots__ = (
        "backend",
        "body_bytes",
        "chunked",
        "client",
        "connect_began",
        "connect_deadline",
        "connect_ms",
        "connect_next",
        "connect_order",
        "connect_slot",
        "connect_timed_out",
        "connecting",
        "deadline",
        "done",
        "error",
        "fwd",
        "has_body",
        "head",
        "head_sent",
        "held",
        "held_size",
        "host",
        "hsts",
        "http10",
        "is_head",
        "keep_alive",
        "method",
        "nbytes",
        "path",
        "pending",
        "pending_size",
        "plain",
        "req_done",
        "request_id",
        "resp_chunked",
        "retries",
        "reused",
        "route",
        "started",
        "status",
        "t_sent",
        "until_close",
        "upgrade",
        "upstream",
    )

    def __init__(
        self,
        client: ClientConnection,
        route: Route | None,
        error: RouterError | None,
        head: bytes,
        method: bytes,
        path: bytes,
        host: bytes,
        request_id: bytes,
        fwd: bytes,
        keep_alive: bool,
        http10: bool,
        has_body: bool,
        chunked: bool,
        upgrade: bool,
    ) -> None:
        # Positional on purpose: this runs once per request.
        self.client = client
        self.route = route
        self.error = error
        self.head = head
        self.method = method
        self.path = path
        self.host = host
        self.request_id = request_id
        self.fwd = fwd
        self.keep_alive = keep_alive
        self.http10 = http10
        self.has_body = has_body
        self.chunked = chunked
        self.upgrade = upgrade
        self.is_head = method == b"HEAD"
        # A response to this request may pass through byte for byte (see upstream._Framer).
        self.plain = not (http10 or upgrade or self.is_head)
        self.started = client.last  # when the bytes that completed the head arrived
        self.req_done = False
        self.done = False
        self.pending: list[bytes] | None = None
        self.pending_size = 0
        # What the client sent after an upgrade request: the app's 101 lets it through.
        self.held: list[bytes] | None = None
        self.held_size = 0
        self.body_bytes = 0
        self.upstream: UpstreamConnection | None = None
        self.backend: Backend | None = None
        self.reused = False
        self.retries = 0
        self.connect_ms = 0
        # A new connection under way, and the backends to try in turn (see ``connect``).
        self.connecting: Attempt | None = None
        self.connect_order: tuple[Backend, ...] = ()
        self.connect_next = 0  # the index in ``connect_order`` of the backend to try next
        self.connect_began = 0.0
        self.connect_deadline = 0.0  # while ``connecting``: when the attempt is given up
        self.connect_timed_out = False
        # Whose count of connects under way this one is in (see ``Pool.least_busy``).
        self.connect_slot: BackendConnections | None = None
        self.t_sent = 0.0
        self.deadline = 0.0
        self.head_sent = False
        self.resp_chunked = False
        self.until_close = False
        self.status = 0
        self.nbytes = 0
        self.hsts = b""  # a Strict-Transport-Security line added to the response head

    # the request side

    def start(self) -> None:
        """Called when this exchange is the client connection's first in line."""
        route = self.route
        if self.error is None and route is not None and route.maintenance:
            self.error = codes.MAINTENANCE
        if self.error is None and route is not None and not route.backends:
            self.error = codes.NO_WEB_PROCESSES
        if self.error is not None or route is None:
            if self.req_done:
                self.fail(self.error or codes.UNKNOWN_HOST)
            return
        worker = self.client.worker
        turns = worker.turns
        app = route.app
        turn = turns.get(app, 0)
        turns[app] = turn + 1
        backends = route.backends
        index = worker.pool.least_busy(backends, turn, self.client.last) if len(backends) > 1 else 0
        backend = backends[index]
        if not self.upgrade:  # an upgraded connection is consumed, so it never comes from the pool
            conn = worker.pool.take(backend.key)
            if conn is not None:
                self.attach(conn, backend, True, self.client.last)
                return
        self.connect(route.rotation(index))

    def connect(self, order: tuple[Backend, ...]) -> None:
        """Connect to the first backend in ``order`` that accepts, then send the request.

        A request never sent is safe to retry, so a refused or timed-out connect moves on to
        the next backend; when none is left the request fails with H10 (or H19 if one timed out).
        """
        self.connect_order = order
        self.connect_next = 0
        self.connect_timed_out = False
        self._connect_next()

    def _connect_next(self) -> None:
        order = self.connect_order
        index = self.connect_next
        if index >= len(order) or self.done:
            self.connect_deadline = 0.0
            if not self.done:
                self.fail(codes.CONNECT_TIMEOUT if self.connect_timed_out else codes.APP_CRASHED)
            return
        self.connect_next = index + 1
        worker = self.client.worker
        self.connect_began = began = worker.now()
        self.connect_deadline = began + worker.connect_timeout
        backend = order[index]
        pool = worker.pool
        self.connect_slot = slot = pool.slot(backend)
        slot.connecting += 1
        attempt = pool.connect(slot, backend, self, self.head)
        # The pool may have told of the end already, before it returned: then the deadline is
        # cleared, or a next attempt has begun.
        if self.connect_deadline != 0.0 and self.connect_next == index + 1:
            self.connecting = attempt

    # the pool's Waiter: how the connect ended

    def _connect_ended(self, failed_until: float = -1.0) -> None:
        """The connect to ``connect_slot``'s backend is over; ``failed_until``, when given, is
        until when it stays last in ``pool.least_busy``'s choice (0: the connect succeeded)."""
        slot = self.connect_slot
        if slot is not None:
            self.connect_slot = None
            slot.connecting -= 1
            if failed_until >= 0.0:
                slot.failed_until = failed_until

    def _failed_until(self) -> float:
        """Until when a process that failed now is kept out of the least-busy pick."""
        worker = self.client.worker
        return worker.now() + worker.fail_timeout

    def connected(self, conn: UpstreamConnection) -> None:
        """The new connection is up and has sent the request head."""
        self._connect_ended(0.0)
        self.connecting = None
        self.connect_deadline = 0.0
        worker = self.client.worker
        if self.done:  # the client left meanwhile; the request went out, so it is not reusable
            conn.discard()
            return
        now = worker.now()
        self.connect_ms = int((now - self.connect_began) * 1000)
        self.attach(conn, self.connect_order[self.connect_next - 1], False, now, True)

    def connect_failed(self) -> None:
        """The connect failed before anything was sent: try the next backend."""
        self._connect_ended(self._failed_until())
        self.connecting = None
        self._connect_next()

    def expire_connect(self) -> None:
        """The connect under way took too long: give it up for the next backend (H19 if none)."""
        attempt, self.connecting = self.connecting, None
        if attempt is not None:
            attempt.cancel()
            self._connect_ended(self._failed_until())
            self.connect_timed_out = True
            self._connect_next()

    def attach(
        self,
        conn: UpstreamConnection,
        backend: Backend,
        reused: bool,
        now: float,
        head_written: bool = False,
    ) -> None:
        """Send the request on ``conn`` (``reused``: it came from the pool; ``head_written``: a
        new connection sent the head as it connected); ``now`` is the time."""
        self.upstream = conn
        self.backend = backend
        self.reused = reused
        self.client.worker.pool.claim(conn, self)
        if self.pending:
            pending = self.pending if head_written else [self.head, *self.pending]
            conn.write(b"".join(pending))
            self.pending = None
            self.pending_size = 0
            self.client.resume_reading(2)
        elif not head_written:
            conn.write(self.head)
        self.t_sent = now
        if self.req_done:
            self.deadline = now + self.client.worker.response_timeout

    def send_body(self, data: bytes) -> None:
        """Pass a piece of the request body on (re-framed when the client sent it chunked)."""
        if self.chunked:
            data = chunk(data)
        self.send_raw(data)

    def send_raw(self, data: bytes) -> None:
        conn = self.upstream
        if conn is not None:
            conn.write(data)
        elif not self.done:
            if self.pending is None:
                self.pending = []
            self.pending.append(data)
            self.pending_size += len(data)
            if self.pending_size > PENDING_LIMIT:
                self.client.pause_reading(2)

    def hold(self, data: bytes) -> None:
        """Keep bytes the client sent after its upgrade request until the app agrees to switch
        protocols (101): they are not HTTP the router has read, so no other answer lets them on."""
        if self.done:
            return
        if self.held is None:
            self.held = []
        self.held.append(data)
        self.held_size += len(data)
        if self.held_size > PENDING_LIMIT:
            self.client.pause_reading(2)

    def request_complete(self) -> None:
        self.req_done = True
        if self.chunked:
            self.send_raw(CHUNK_END)
        if self.client.active is not self:
            return
        if self.error is not None:
            self.fail(self.error)
        elif self.upstream is not None and not self.head_sent:
            self.deadline = self.client.last + self.client.worker.response_timeout

    # the response side (called by the upstream connection)

    def response_head(self, conn: UpstreamConnection, status: int) -> None:
        head = [status_start(status), conn.reason, CRLF]
        head += conn.parts
        if conn.interim and status != 101:  # pass on; the real response follows
            head.append(CRLF)
            self.client.send(b"".join(head))
            return
        self.deadline = 0.0
        self.status = status
        self.head_sent = True
        head.append(_VIA)
        if self.hsts:
            head.append(self.hsts)
        if status == 101 and self.upgrade:
            head.append(b"Connection: Upgrade\r\nUpgrade: %b\r\n" % conn.upgrade)
        elif not (self.is_head or status in _NO_BODY_STATUS or conn.has_length):
            self.until_close = not conn.chunked
            if self.http10:  # no chunked encoding in HTTP/1.0: the body ends when we close
                self.keep_alive = False
            else:
                self.resp_chunked = True
                head.append(_CHUNKED)
        if self.upgrade and status != 101:
            self.keep_alive = False  # the client may already be talking the new protocol
        if status != 101:
            if not self.keep_alive or self.client.worker.closing:
                self.keep_alive = False
                head.append(_CLOSE)
            elif self.http10:
                head.append(_KEEP_ALIVE)
        head.append(CRLF)
        data = b"".join(head)
        self.nbytes += len(data)
        self.client.send(data)

    def response_passed(self, status: int, raw: bytes) -> None:
        """The fast path: the backend's response head (and what followed) goes out unchanged."""
        self.deadline = 0.0
        self.status = status
        self.head_sent = True
        self.nbytes += len(raw)
        self.client.send(raw)

    def response_body(self, data: bytes) -> None:
        self.nbytes += len(data)
        self.client.send(chunk(data) if self.resp_chunked else data)

    def response_complete(self, upstream_keep_alive: bool, now: float = 0.0) -> None:
        """The response has ended (``now``, when the caller knows the time)."""
        if self.resp_chunked:
            self.client.send(CHUNK_END)
        conn = self.upstream
        self.upstream = None
        if conn is not None:
            if upstream_keep_alive and self.req_done and not self.upgrade:
                conn.release(now)
            else:
                conn.discard()
        self.finish(None, now)

    def upgraded(self, conn: UpstreamConnection, rest: bytes) -> None:
        """The backend switched protocols: from now on bytes flow both ways untouched."""
        if self.status != 101:
            self.bad_response()
            return
        client = self.client
        self.upstream = None
        conn.detach()
        conn.tunnel = client.transport
        client.tunnel = conn.transport
        if rest:
            client.send(rest)
        held, self.held = self.held, None
        if held:
            conn.write(b"".join(held))
            client.resume_reading(2)
        self.finish(None)

    def bad_response(self) -> None:
        self.fail(codes.BAD_RESPONSE)

    def upstream_lost(self, conn: UpstreamConnection) -> None:
        """The backend closed the connection before the response was complete."""
        self.upstream = None
        if self.head_sent and self.until_close:
            self.response_complete(False)  # a body delimited by the connection's end has ended
        elif self._may_resend():
            # The backend closed before answering: a pooled connection it had just closed, or a
            # request it dropped. With no body and an idempotent method, sending again is safe.
            self.retries += 1
            self.reused = False
            assert self.route is not None and self.backend is not None
            others = tuple(b for b in self.route.backends if b != self.backend)
            self.connect((*others, self.backend))
        else:
            self.fail(codes.SERVER_INTERRUPTED if self.head_sent else codes.CONNECTION_CLOSED)

    def _may_resend(self) -> bool:
        # Only an idempotent request: a POST the app closed on unanswered may have been acted on
        # (nginx has resent none since 1.9.13; Go's transport neither).
        return (
            not self.head_sent
            and not self.has_body
            and self.backend is not None
            and self.retries < MAX_RESENDS
            and self.method in _IDEMPOTENT
        )

    # endings

    def fail(self, error: RouterError) -> None:
        """End with ``error``: an error page if nothing was answered yet, else cut the connection."""
        if self.done:
            return
        conn = self.upstream
        self.upstream = None
        if conn is not None:
            conn.discard()
        client = self.client
        if self.head_sent:
            self.keep_alive = False
            self.finish(error)
            client.abort()
            return
        self.status = error.status
        close = not (self.keep_alive and self.req_done) or client.worker.closing
        self.keep_alive = not close
        response = error.response(self.request_id, close)
        self.nbytes = len(response)
        client.send(response)
        self.finish(error)
        client.flush()

    def client_gone(self) -> None:
        """The client closed its connection before the response was complete."""
        if self.done:
            return
        conn = self.upstream
        self.upstream = None
        if conn is not None:
            conn.discard()
        if not self.head_sent:
            self.status = codes.CLIENT_INTERRUPTED.status
        self.finish(codes.CLIENT_INTERRUPTED)

    def finish(self, error: RouterError | None, now: float = 0.0) -> None:
        """Log the exchange and hand the connection on; ``now`` is the time, when known."""
        self.done = True
        attempt = self.connecting
        if attempt is not None:  # a connect under way would send the request: give it up
            self.connecting = None
            attempt.cancel()
        self._connect_ended()
        client = self.client
        worker = client.worker
        ended = now or worker.now()
        service = ended - (self.t_sent or self.started)
        service_ms = int(service * 1000)
        backend = self.backend
        if self.status >= 500 and backend is not None:
            # The process answered 5xx, or failed mid-exchange: least busy no more (``pool``).
            worker.pool.slot(backend).erred_until = self._failed_until()
        route = self.route
        if route is not None:
            if backend is not None:
                worker.meter.record(
                    route.app, backend.key, backend.dyno, self.status,
                    "" if error is None else error.code, service, ended - self.started,
                )  # fmt: skip
            else:  # answered by the router alone (no web process running, say)
                worker.meter.record(
                    route.app, route.app, "", self.status, "" if error is None else error.code,
                    0.0, ended - self.started,
                )  # fmt: skip
        worker.log.write(
            access_line(
                route.app_json if route is not None else b"null",
                INFO if error is None or error.body is not None else error_at(error),
                self.method,
                self.path,
                self.host,
                self.request_id,
                self.fwd,
                backend.dyno_log if backend is not None else b"",
                self.connect_ms,
                service_ms,
                self.status,
                self.nbytes,
            )
        )
        client.exchange_done(self)
