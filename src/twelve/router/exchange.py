"""One request and its response as they cross the router: what ties the two sides together.

The client connection creates an ``Exchange`` when a request's head is complete (its
``Request``); the exchange picks a backend (``choice``: pooled connection first, else
``Connects``), streams the body up, has the response streamed down (``Response``), writes the
access line, and tells the client connection it is done. Errors before the response head is sent
become a coded error page; after it, the connection is cut (HTTP has no way to report an error
mid-body).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, final

from twelve.router import codes
from twelve.router.choice import Connects, pick
from twelve.router.codes import RouterError
from twelve.router.hotpath import INFO, access_line, error_at
from twelve.router.messages import CHUNK_END, chunk
from twelve.router.request import Request
from twelve.router.response import Response
from twelve.router.table import Backend
from twelve.router.transport import Paused

if TYPE_CHECKING:
    from twelve.router.proxy import ClientConnection
    from twelve.router.upstream import UpstreamConnection

MAX_RESENDS: Final = 2  # times a request the backend dropped unanswered is sent again
_IDEMPOTENT: Final = frozenset({b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE", b"TRACE"})
# Request bytes held while no upstream is attached, then reading pauses.
PENDING_LIMIT: Final = 256 << 10


@final
class Exchange:
    """The state of one request/response pair: the request side's bytes, the backend they go to
    (``upstream``), and how the two end."""

    __slots__ = (
        "backend",
        "body_bytes",
        "client",
        "connect_ms",
        "connects",
        "deadline",
        "done",
        "error",
        "held",
        "held_size",
        "keep_alive",
        "pending",
        "pending_size",
        "req_done",
        "request",
        "response",
        "retries",
        "reused",
        "started",
        "t_sent",
        "upstream",
    )

    def __init__(
        self,
        client: ClientConnection,
        request: Request,
        error: RouterError | None = None,
        keep_alive: bool = False,
    ) -> None:
        self.client = client
        self.request = request
        self.error = error  # the answer the router gives itself, once this request is first
        self.keep_alive = keep_alive
        self.response = Response(client, request)
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
        self.connects: Connects | None = None  # made when a new connection is needed
        self.reused = False
        self.retries = 0
        self.connect_ms = 0
        self.t_sent = 0.0
        self.deadline = 0.0  # when the response head is due (0: not yet asked, or sent)

    # the start

    def start(self) -> None:
        """Called when this exchange is the client connection's first in line."""
        route = self.request.route
        if self.error is None and route is not None and route.maintenance:
            self.error = codes.MAINTENANCE
        if self.error is None and route is not None and not route.backends:
            self.error = codes.NO_WEB_PROCESSES
        if self.error is not None or route is None:
            if self.req_done:
                self.fail(self.error or codes.UNKNOWN_HOST)
            return
        worker = self.client.worker
        pool = worker.pool
        index = pick(pool, route, worker.next_turn(route.app), self.client.last)
        backend = route.backends[index]
        if not self.request.upgrade:  # an upgraded connection is consumed: never pooled
            conn = pool.take(backend.key)
            if conn is not None:
                self.attach(conn, backend, True, self.client.last)
                return
        self.connect(route.rotation(index))

    def connect(self, order: tuple[Backend, ...]) -> None:
        """Send the request on a new connection to the first backend in ``order`` that accepts."""
        connects = self.connects
        if connects is None:
            worker = self.client.worker
            connects = self.connects = Connects(
                self, worker.pool, worker.now, worker.connect_timeout, worker.fail_timeout
            )
        connects.start(order)

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
        head = self.request.head
        if self.pending:
            pending = self.pending if head_written else [head, *self.pending]
            conn.write(b"".join(pending))
            self.pending = None
            self.pending_size = 0
            self.client.resume_reading(Paused.HOLDING)
        elif not head_written:
            conn.write(head)
        self.t_sent = now
        if self.req_done:
            self.deadline = now + self.client.worker.response_timeout

    # the request side (called by the client connection)

    def send_body(self, data: bytes) -> None:
        """Pass a piece of the request body on (re-framed when the client sent it chunked)."""
        if self.request.chunked:
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
                self.client.pause_reading(Paused.HOLDING)

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
            self.client.pause_reading(Paused.HOLDING)

    def request_complete(self) -> None:
        self.req_done = True
        if self.request.chunked:
            self.send_raw(CHUNK_END)
        if self.client.active is not self:
            return
        if self.error is not None:
            self.fail(self.error)
        elif self.upstream is not None and not self.response.head_sent:
            self.deadline = self.client.last + self.client.worker.response_timeout

    # the response side (called by the upstream connection)

    def response_head(self, conn: UpstreamConnection, status: int) -> None:
        """The parser read a response head of ``status`` on ``conn``."""
        if conn.interim and status != 101:
            self.response.interim(conn, status)
            return
        self.deadline = 0.0
        closing = self.client.worker.closing
        self.keep_alive = self.response.head(conn, status, self.keep_alive, closing)

    def response_passed(self, status: int, raw: bytes) -> None:
        """A plain response's head, and what came with it, pass on unchanged."""
        self.deadline = 0.0
        self.response.passed(status, raw)

    def response_complete(self, upstream_keep_alive: bool, now: float = 0.0) -> None:
        """The response has ended (``now``, when the caller knows the time)."""
        self.response.end()
        conn = self.upstream
        self.upstream = None
        if conn is not None:
            if upstream_keep_alive and self.req_done and not self.request.upgrade:
                conn.release(now)
            else:
                conn.discard()
        self.finish(None, now)

    def upgraded(self, conn: UpstreamConnection, rest: bytes) -> None:
        """The backend switched protocols: from now on bytes flow both ways untouched."""
        if self.response.status != 101:
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
            client.resume_reading(Paused.HOLDING)
        self.finish(None)

    def bad_response(self) -> None:
        self.fail(codes.BAD_RESPONSE)

    def upstream_lost(self, conn: UpstreamConnection) -> None:
        """The backend closed the connection before the response was complete."""
        self.upstream = None
        response = self.response
        if response.head_sent and response.until_close:
            self.response_complete(False)  # a body delimited by the connection's end has ended
        elif self._may_resend():
            # The backend closed before answering: a pooled connection it had just closed, or a
            # request it dropped. With no body and an idempotent method, sending again is safe.
            self.retries += 1
            self.reused = False
            route = self.request.route
            assert route is not None and self.backend is not None
            others = tuple(b for b in route.backends if b != self.backend)
            self.connect((*others, self.backend))
        else:
            self.fail(codes.SERVER_INTERRUPTED if response.head_sent else codes.CONNECTION_CLOSED)

    def _may_resend(self) -> bool:
        # Only an idempotent request: a POST the app closed on unanswered may have been acted on
        # (nginx has resent none since 1.9.13; Go's transport neither).
        return (
            not self.response.head_sent
            and not self.request.has_body
            and self.backend is not None
            and self.retries < MAX_RESENDS
            and self.request.method in _IDEMPOTENT
        )

    # endings

    def refuse(self, error: RouterError) -> None:
        """Answer ``error``, the client connection's last answer before it closes."""
        self.keep_alive = False
        self.req_done = True
        self.fail(error)

    def fail(self, error: RouterError) -> None:
        """End with ``error``: an error page if nothing was answered yet, else cut the connection."""
        if self.done:
            return
        conn = self.upstream
        self.upstream = None
        if conn is not None:
            conn.discard()
        client = self.client
        response = self.response
        if response.head_sent:
            self.keep_alive = False
            self.finish(error)
            client.abort()
            return
        response.status = error.status
        close = not (self.keep_alive and self.req_done) or client.worker.closing
        self.keep_alive = not close
        page = error.response(self.request.request_id, close, self.request.is_head)
        response.nbytes = len(page)
        client.send(page)
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
        if not self.response.head_sent:
            self.response.status = codes.CLIENT_INTERRUPTED.status
        self.finish(codes.CLIENT_INTERRUPTED)

    def finish(self, error: RouterError | None, now: float = 0.0) -> None:
        """Log the exchange and hand the connection on; ``now`` is the time, when known."""
        self.done = True
        connects = self.connects
        if connects is not None:  # it holds this exchange: let both be freed by count
            self.connects = None
            connects.cancel()
        client = self.client
        worker = client.worker
        ended = now or worker.now()
        backend = self.backend
        if self.response.status >= 500 and backend is not None:
            # The process answered 5xx, or failed mid-exchange: least busy no more (``pool``).
            worker.pool.slot(backend).erred_until = worker.now() + worker.fail_timeout
        self._record(error, ended)
        client.exchange_done(self)

    def _record(self, error: RouterError | None, ended: float) -> None:
        """Count the exchange in the worker's metrics and write its access line."""
        worker = self.client.worker
        request = self.request
        response = self.response
        service = ended - (self.t_sent or self.started)
        backend = self.backend
        route = request.route
        code = "" if error is None else error.code
        if route is not None:
            if backend is not None:
                worker.meter.record(
                    route.app, backend.key, backend.dyno, response.status, code, service,
                    ended - self.started,
                )  # fmt: skip
            else:  # answered by the router alone (no web process running, say)
                worker.meter.record(
                    route.app, route.app, "", response.status, code, 0.0, ended - self.started
                )
        worker.log.write(
            access_line(
                route.app_json if route is not None else b"null",
                INFO if error is None or error.body is not None else error_at(error),
                request.method,
                request.path,
                request.host,
                request.request_id,
                request.fwd,
                backend.dyno_log if backend is not None else b"",
                self.connect_ms,
                int(service * 1000),
                response.status,
                response.nbytes,
            )
        )
