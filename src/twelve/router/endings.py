"""How client connections end early: refused requests, lingering close, and timeouts.

Kept apart from the request parsing in ``proxy`` because none of it is on the per-request path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from twelve.router import codes
from twelve.router.codes import RouterError
from twelve.router.exchange import Exchange
from twelve.router.messages import log_safe

if TYPE_CHECKING:
    from twelve.router.proxy import ClientConnection

LINGER: Final = 2.0  # seconds a refused client may keep sending before the connection is closed


def refuse(conn: ClientConnection, error: RouterError) -> None:
    """Refuse the request being read: at once, or, when requests before it are still being
    answered, once their responses are out (a pipelining client loses none of them)."""
    target, conn.parsing = conn.parsing, None
    if target is not None and target is not conn.active:
        conn.queue.remove(target)  # never started: the refusal answers in its place
        target = None
    active = conn.active
    if target is None and ((active is not None and not active.done) or conn.queue):
        conn.refusal = error  # nothing more is read; ``exchange_done`` answers it in turn
        return
    answer(conn, target, error)


def answer(conn: ClientConnection, target: Exchange | None, error: RouterError) -> None:
    """Answer ``error`` for ``target`` (or for the request being read), then close once the
    client stops sending."""
    conn.lingering = True  # from here on nothing is parsed and nothing else is started
    conn.refusal = None
    conn.queue.clear()
    if target is None or target.done:
        host = conn.host or b""
        method = conn.parser.get_method() if conn.url else b"-"
        route = conn.worker.table.lookup(host.decode("latin-1")) if host else None
        request_id = conn.worker.ids.next()
        url = conn.url or b"-"
        target = Exchange(
            conn, route, error, b"", method, url, log_safe(host), request_id, conn.fwd_log,
            False, False, False, False, False,
        )  # fmt: skip
    target.keep_alive = False
    target.req_done = True
    conn.active = target
    target.fail(error)
    linger(conn)


def linger(conn: ClientConnection) -> None:
    """Stop writing, keep discarding what the client sends for a moment, then close.

    Closing with unread request bytes would make the kernel reset the connection, and the
    client could lose the error page written just before.
    """
    conn.lingering = True
    if conn.closed:
        return
    conn.flush()
    if conn.transport.can_write_eof():
        conn.transport.write_eof()
    conn.worker.loop.call_later(LINGER, conn.transport.close)


def check(conn: ClientConnection, now: float) -> None:
    """Enforce the connect, idle, request head and first-byte timeouts (called about once a
    second)."""
    worker = conn.worker
    if conn.head_began and now - conn.head_began > worker.header_timeout and not conn.lingering:
        # A whole head in time, not only a byte now and then: one byte every few seconds would
        # otherwise hold a connection for ever.
        conn.head_began = 0.0
        refuse(conn, codes.CLIENT_IDLE)
        return
    ex = conn.active
    if conn.tunnel is not None or ex is None:
        if now - conn.last > worker.idle_timeout:
            if conn.in_head and ex is None and not conn.lingering:
                refuse(conn, codes.CLIENT_IDLE)
            else:
                conn.closed = True
                conn.transport.close()
        return
    if ex.done:
        return
    if ex.connect_deadline and now > ex.connect_deadline:
        ex.expire_connect()
    elif ex.deadline and now > ex.deadline:
        ex.fail(codes.REQUEST_TIMEOUT)
    elif now - conn.last > worker.idle_timeout:
        ex.fail(codes.CLIENT_IDLE if not ex.req_done else codes.IDLE_CONNECTION)
