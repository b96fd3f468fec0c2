"""How client connections end early: the exchange that answers a refused request, and timeouts.

Kept apart from the request parsing in ``proxy`` because none of it is on the per-request path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from twelve.router import codes
from twelve.router.codes import RouterError
from twelve.router.exchange import Exchange
from twelve.router.messages import log_safe
from twelve.router.request import Request

if TYPE_CHECKING:
    from twelve.router.proxy import ClientConnection

LINGER: Final = 2.0  # seconds a refused client may keep sending before the connection is closed


def refused_exchange(conn: ClientConnection, error: RouterError) -> Exchange:
    """An exchange that answers ``error`` for the request ``conn`` was reading, and logs it."""
    message = conn.message
    host = message.host or b""
    method = conn.parser.get_method() if message.url else b"-"
    worker = conn.worker
    request = Request(
        route=worker.table.lookup(host.decode("latin-1")) if host else None,
        head=b"",
        method=method,
        path=message.url or b"-",
        host=log_safe(host),
        request_id=worker.ids.next(),
        fwd=conn.peer.log,
    )
    return Exchange(conn, request, error)


def check(conn: ClientConnection, now: float) -> None:
    """Enforce the connect, idle, request head and first-byte timeouts (called about once a
    second)."""
    worker = conn.worker
    if conn.head_began and now - conn.head_began > worker.header_timeout and not conn.lingering:
        # A whole head in time, not only a byte now and then: one byte every few seconds would
        # otherwise hold a connection for ever.
        conn.time_out_head()
        return
    ex = conn.active
    if conn.tunnel is not None or ex is None:
        if now - conn.last > worker.idle_timeout:
            if conn.in_head and ex is None and not conn.lingering:
                conn.refuse(codes.CLIENT_IDLE)
            else:
                conn.close()
        return
    if ex.done:
        return
    connects = ex.connects
    if connects is not None and connects.deadline and now > connects.deadline:
        connects.expire()
    elif ex.deadline and now > ex.deadline:
        ex.fail(codes.REQUEST_TIMEOUT)
    elif now - conn.last > worker.idle_timeout:
        ex.fail(codes.CLIENT_IDLE if not ex.req_done else codes.IDLE_CONNECTION)
