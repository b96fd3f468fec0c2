"""The compiled router's own backend connections (``_streams.c``), against real sockets.

The interpreted router uses asyncio's transports instead; every router test runs on both builds.
These hold the C streams to what an asyncio transport does for its protocol.
"""

from __future__ import annotations

import asyncio
import errno
import select
import socket
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import uvloop

from support import load_native_module

TIMEOUT = 5.0


@pytest.fixture(scope="module")
def streams() -> ModuleType:
    return load_native_module("_streams")


class Recorder(asyncio.Protocol):
    """Records every call a transport makes, in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.events: list[str] = []
        self.data = bytearray()
        self.transport: Any = None
        self.lost = loop.create_future()
        self.raise_in_data = False
        self.close_in_data = False

    def connection_made(self, transport: Any) -> None:
        self.events.append("made")
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.events.append("data")
        self.data += data
        if self.close_in_data:
            self.transport.close()
            self.events.append("closed")  # connection_lost must not have come from close()
        if self.raise_in_data:
            raise RuntimeError("broken protocol")

    def eof_received(self) -> None:
        self.events.append("eof")

    def connection_lost(self, exc: Exception | None) -> None:
        self.events.append("lost")
        if not self.lost.done():
            self.lost.set_result(exc)

    def pause_writing(self) -> None:
        self.events.append("pause")

    def resume_writing(self) -> None:
        self.events.append("resume")


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = uvloop.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock
    sock.close()


class FullListener:
    """A listener whose backlog is full: the kernel drops further SYNs, so those connects stay
    under way until room is made (the SYN sent again, about a second later, gets through)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.held: list[Connection] = []

    def connect_under_way(
        self, streams: ModuleType, loop: asyncio.AbstractEventLoop, early: bytes = b""
    ) -> Connection:
        """Connect until one connect stays under way (the first ones fill the backlog)."""
        for _ in range(8):
            conn = Connection(streams, loop, _port(self.sock), early)
            self.held.append(conn)
            if conn.stream.pending:
                return conn
        raise AssertionError("every connect was taken at once")

    def close(self) -> None:
        for conn in self.held:
            conn.stream.abort()
        self.sock.close()


@pytest.fixture
def full() -> Iterator[FullListener]:
    listener = FullListener()
    yield listener
    listener.close()


def _port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


async def _until(predicate: Any, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


class Connection:
    """A stream to ``listener`` and the server's side of it."""

    def __init__(
        self, streams: ModuleType, loop: asyncio.AbstractEventLoop, port: int, early: bytes = b""
    ) -> None:
        self.poller = streams.Poller(loop)
        loop.add_reader(self.poller.fileno(), self.poller.poll)
        self.protocol = Recorder(loop)
        self.connected: list[Any] = []
        self.failed: list[bool] = []
        self.stream = self.poller.connect("127.0.0.1", port, self.protocol, Waiter(self), early)


class Waiter:
    """Told how a connect ended, as the pool's waiter (an exchange) is."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def connected(self, protocol: Any) -> None:
        self.conn.connected.append(protocol)

    def connect_failed(self) -> None:
        self.conn.failed.append(True)


async def _connect(
    streams: ModuleType, loop: asyncio.AbstractEventLoop, listener: socket.socket
) -> tuple[Connection, socket.socket]:
    conn = Connection(streams, loop, _port(listener))
    await _until(lambda: conn.connected or conn.failed, "the connect")
    server, _ = listener.accept()
    server.setblocking(False)
    return conn, server


def test_a_connection_carries_bytes_both_ways_and_ends_as_a_transport_does(streams, loop, listener):
    async def scenario() -> None:
        conn, server = await _connect(streams, loop, listener)
        assert conn.connected == [conn.protocol]
        assert conn.protocol.transport is conn.stream
        assert not conn.stream.pending and not conn.stream.is_closing()
        conn.stream.write(b"GET / HTTP/1.1\r\n\r\n")
        assert await loop.sock_recv(server, 100) == b"GET / HTTP/1.1\r\n\r\n"
        await loop.sock_sendall(server, b"HTTP/1.1 200 OK\r\n\r\n")
        await _until(lambda: conn.protocol.data, "the response")
        server.close()
        assert await asyncio.wait_for(conn.protocol.lost, TIMEOUT) is None
        assert conn.protocol.events == ["made", "data", "eof", "lost"]
        assert bytes(conn.protocol.data) == b"HTTP/1.1 200 OK\r\n\r\n"
        assert conn.stream.is_closing()
        conn.stream.write(b"after the end")  # dropped, as asyncio drops it

    loop.run_until_complete(scenario())


@pytest.mark.parametrize("early", [b"", b"GET / HTTP/1.1\r\n\r\n"])
def test_a_refused_connect_calls_on_failed_and_nothing_else(streams, loop, listener, early):
    port = _port(listener)
    listener.close()  # nothing listens there now

    async def scenario() -> None:
        conn = Connection(streams, loop, port, early)
        await _until(lambda: conn.failed, "the refusal")
        await asyncio.sleep(0.05)
        assert conn.failed == [True] and conn.connected == []
        assert conn.protocol.events == []
        assert not conn.stream.pending

    loop.run_until_complete(scenario())


def test_a_connect_given_up_while_under_way_leaves_no_socket_and_calls_nothing(streams, loop, full):
    async def scenario() -> None:
        conn = full.connect_under_way(streams, loop)
        conn.stream.cancel()
        assert not conn.stream.pending
        await asyncio.sleep(0.1)
        assert conn.connected == [] and conn.failed == [] and conn.protocol.events == []

    loop.run_until_complete(scenario())
    with open("/proc/net/tcp") as table:
        port_hex = f":{_port(full.sock):04X}"
        syn_sent = [line for line in table if line.split()[2].endswith(port_hex) and " 02 " in line]
    assert syn_sent == [], "a given-up connect is still sending SYNs"


def test_the_first_bytes_go_out_with_the_connect_and_later_writes_follow_them(
    streams, loop, listener
):
    async def scenario() -> None:
        conn = Connection(streams, loop, _port(listener), b"GET / HTTP/1.1\r\n")
        await _until(lambda: conn.connected, "the connect")
        conn.stream.write(b"Host: a\r\n\r\n")
        server, _ = listener.accept()
        server.setblocking(False)
        expected = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        received = b""
        while len(received) < len(expected):
            received += await asyncio.wait_for(loop.sock_recv(server, 100), TIMEOUT)
        assert received == expected
        conn.stream.close()
        await asyncio.wait_for(conn.protocol.lost, TIMEOUT)
        server.close()

    loop.run_until_complete(scenario())


def test_a_connection_that_sent_all_it_had_wakes_the_poller_only_when_the_app_answers(
    streams, loop, listener
):
    """A new socket is writable as it joins the epoll set: watched for that alone, it would
    cost the worker's loop a turn on every request. Only the app's answer may wake it."""
    head = b"GET / HTTP/1.1\r\n\r\n"
    conn = Connection(streams, loop, _port(listener), head)
    if conn.stream.pending:
        pytest.skip("this connect was still under way: it is watched for writing, rightly")
    assert conn.connected == [conn.protocol]
    server, _ = listener.accept()
    with server:
        server.settimeout(TIMEOUT)
        assert server.recv(100) == head
        poller = conn.poller.fileno()
        assert select.select([poller], [], [], 0.2)[0] == []
        server.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
        assert select.select([poller], [], [], TIMEOUT)[0] == [poller]
        conn.poller.poll()
        assert bytes(conn.protocol.data) == b"HTTP/1.1 200 OK\r\n\r\n"
    conn.stream.abort()


def test_a_connect_under_way_keeps_its_first_bytes_until_it_is_up(streams, loop, full):
    async def scenario() -> None:
        conn = full.connect_under_way(streams, loop, b"first ")
        conn.stream.write(b"then more")  # buffered behind the first bytes
        assert conn.connected == [] and conn.stream.buffered == len(b"first then more")
        accepted = [full.sock.accept()[0] for _ in full.held[:-1]]  # the ones taken: room
        await _until(lambda: conn.connected, "the connect, once there is room")
        assert conn.connected == [conn.protocol] and conn.failed == []
        late, _ = full.sock.accept()
        accepted.append(late)
        late.setblocking(False)
        received = b""
        while len(received) < len(b"first then more"):
            received += await asyncio.wait_for(loop.sock_recv(late, 100), TIMEOUT)
        assert received == b"first then more"
        for server in accepted:
            server.close()

    loop.run_until_complete(scenario())


def test_nagle_is_turned_off_before_a_connections_second_send_not_its_first(
    streams, loop, listener
):
    # Nagle's algorithm delays a small segment only while an earlier one is unacknowledged, so
    # a connection that sends once (a request to an app that then closes) needs no setsockopt.
    async def scenario() -> None:
        conn = Connection(streams, loop, _port(listener), b"GET / HTTP/1.1\r\n\r\n")
        await _until(lambda: conn.connected, "the connect")
        assert not conn.stream.nodelay
        conn.stream.write(b"more")
        assert conn.stream.nodelay
        conn.stream.abort()
        await asyncio.wait_for(conn.protocol.lost, TIMEOUT)

    loop.run_until_complete(scenario())


def test_a_full_socket_pauses_the_writer_and_a_reader_resumes_it_without_losing_a_byte(
    streams, loop, listener
):
    payload = bytes(range(256)) * 16384  # 4 MiB, far past any socket buffer

    async def scenario() -> None:
        conn, server = await _connect(streams, loop, listener)
        conn.stream.write(payload)
        assert conn.protocol.events == ["made", "pause"]
        assert conn.stream.buffered > 0
        received = bytearray()
        while len(received) < len(payload):
            received += await loop.sock_recv(server, 1 << 20)
        assert bytes(received) == payload
        await _until(lambda: "resume" in conn.protocol.events, "resume_writing")
        assert conn.stream.buffered == 0
        conn.stream.close()
        await asyncio.wait_for(conn.protocol.lost, TIMEOUT)
        server.close()

    loop.run_until_complete(scenario())


def test_close_sends_what_is_buffered_first(streams, loop, listener):
    payload = b"x" * (8 << 20)

    async def scenario() -> None:
        conn, server = await _connect(streams, loop, listener)
        conn.stream.write(payload)
        conn.stream.close()
        assert conn.stream.is_closing()
        received = bytearray()
        while True:
            piece = await loop.sock_recv(server, 1 << 20)
            if not piece:
                break
            received += piece
        assert len(received) == len(payload)
        await asyncio.wait_for(conn.protocol.lost, TIMEOUT)
        assert conn.protocol.events[-1] == "lost"
        server.close()

    loop.run_until_complete(scenario())


def test_a_paused_stream_reads_nothing_until_resumed(streams, loop, listener):
    async def scenario() -> None:
        conn, server = await _connect(streams, loop, listener)
        conn.stream.pause_reading()
        await loop.sock_sendall(server, b"held back")
        await asyncio.sleep(0.1)
        assert conn.protocol.data == b""
        conn.stream.resume_reading()
        await _until(lambda: conn.protocol.data == b"held back", "the data after resuming")
        conn.stream.abort()
        assert await asyncio.wait_for(conn.protocol.lost, TIMEOUT) is None
        assert await loop.sock_recv(server, 10) == b""
        server.close()

    loop.run_until_complete(scenario())


def test_a_reset_ends_the_stream_with_the_error(streams, loop, listener):
    async def scenario() -> None:
        conn, server = await _connect(streams, loop, listener)
        conn.stream.write(b"request")
        await loop.sock_recv(server, 100)
        # Closing with unread bytes in its buffer makes the server's kernel send a reset.
        conn.stream.write(b"unread")
        await asyncio.sleep(0.05)
        server.close()
        exc = await asyncio.wait_for(conn.protocol.lost, TIMEOUT)
        assert isinstance(exc, OSError) and exc.errno == errno.ECONNRESET

    loop.run_until_complete(scenario())


def test_closed_from_its_own_callback_the_protocol_hears_of_it_once_the_callback_returns(
    streams, loop, listener
):
    async def scenario() -> None:
        conn, server = await _connect(streams, loop, listener)
        conn.protocol.close_in_data = True
        await loop.sock_sendall(server, b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
        assert await asyncio.wait_for(conn.protocol.lost, TIMEOUT) is None
        assert conn.protocol.events == ["made", "data", "closed", "lost"]
        assert await loop.sock_recv(server, 10) == b""
        server.close()

    loop.run_until_complete(scenario())


async def _reset_seen(loop: asyncio.AbstractEventLoop, server: socket.socket) -> bool:
    """Whether the server's side of a connection ends in a reset rather than a FIN."""
    try:
        return await asyncio.wait_for(loop.sock_recv(server, 10), TIMEOUT) != b""
    except ConnectionResetError:
        return True


RESPONSE = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"


def test_closed_once_the_app_closed_its_side_the_connection_is_reset_not_left_in_time_wait(
    streams, loop, listener
):
    # The app's FIN comes with its response, and the protocol closes on reading it.
    async def scenario() -> None:
        conn, server = await _connect(streams, loop, listener)
        conn.stream.pause_reading()
        await loop.sock_sendall(server, RESPONSE)
        server.shutdown(socket.SHUT_WR)  # as http.server ends an HTTP/1.0 response
        await asyncio.sleep(0.05)
        conn.protocol.close_in_data = True
        conn.stream.resume_reading()
        assert await asyncio.wait_for(conn.protocol.lost, TIMEOUT) is None
        assert conn.protocol.events == ["made", "data", "closed", "lost"]
        assert await _reset_seen(loop, server)
        server.close()

    loop.run_until_complete(scenario())


def test_closed_after_the_apps_fin_came_unread_the_connection_is_reset(streams, loop, listener):
    async def scenario() -> None:
        conn, server = await _connect(streams, loop, listener)
        await loop.sock_sendall(server, RESPONSE)
        await _until(lambda: conn.protocol.data, "the response")
        server.shutdown(socket.SHUT_WR)
        # The loop does not turn before the close, so no event has told of the FIN: the close
        # must ask the socket.
        time.sleep(0.05)
        conn.stream.close()
        assert await asyncio.wait_for(conn.protocol.lost, TIMEOUT) is None
        assert await _reset_seen(loop, server)
        server.close()

    loop.run_until_complete(scenario())


def test_an_app_closing_an_idle_connection_gets_a_reset_back(streams, loop, listener):
    async def scenario() -> None:
        conn, server = await _connect(streams, loop, listener)
        server.shutdown(socket.SHUT_WR)
        assert await asyncio.wait_for(conn.protocol.lost, TIMEOUT) is None
        assert conn.protocol.events == ["made", "eof", "lost"]
        assert await _reset_seen(loop, server)
        server.close()

    loop.run_until_complete(scenario())


def test_a_close_with_bytes_still_to_send_ends_in_a_fin_after_the_last_of_them(
    streams, loop, listener
):
    # An app that closed its side may still read: what the router sends must reach it whole.
    payload = b"x" * (8 << 20)

    async def scenario() -> None:
        conn, server = await _connect(streams, loop, listener)
        conn.stream.pause_reading()
        server.shutdown(socket.SHUT_WR)
        await asyncio.sleep(0.05)
        conn.stream.write(payload)
        conn.stream.close()
        received = bytearray()
        while piece := await asyncio.wait_for(loop.sock_recv(server, 1 << 20), TIMEOUT):
            received += piece
        assert len(received) == len(payload)
        server.close()

    loop.run_until_complete(scenario())


def test_an_error_in_the_protocol_reaches_the_loops_handler_and_ends_the_stream(
    streams, loop, listener
):
    seen: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: seen.append(context))

    async def scenario() -> None:
        conn, server = await _connect(streams, loop, listener)
        conn.protocol.raise_in_data = True
        await loop.sock_sendall(server, b"data")
        await asyncio.wait_for(conn.protocol.lost, TIMEOUT)
        assert [c["message"] for c in seen] == ["error in data_received"]
        assert isinstance(seen[0]["exception"], RuntimeError)
        assert await loop.sock_recv(server, 10) == b""
        server.close()

    loop.run_until_complete(scenario())


def test_a_host_name_is_refused_as_not_an_address(streams, loop):
    poller = streams.Poller(loop)
    with pytest.raises(ValueError, match="not an IP address"):
        poller.connect("localhost", 80, Recorder(loop), None)
    poller.close()
