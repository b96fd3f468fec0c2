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
    """Answer a request the router will not forward, then close once the client stops."""
    conn.lingering = True  # from here on nothing is parsed and nothing else is started
    target, conn.parsing = conn.parsing, None
    conn.queue.clear()
    active = conn.active
    if active is not None and active is not target and not active.done:
        active.client_gone()  # an earlier response cannot be followed in order: give it up
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
    """Enforce the connect, idle, request and first-byte timeouts (called about once a second)."""
    worker = conn.worker
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
