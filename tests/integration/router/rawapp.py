"""A hostile web process: answers each request with scripted raw bytes, and records every byte
it receives, read back into requests by h11, a parser independent of the router's."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import h11

TIMEOUT = 10.0
# What the app answers a request with: the pieces of its raw response, written one by one with a
# pause between them (so each is read alone), then whether it closes the connection.
Script = Callable[["Received"], "Answer"]


@dataclass
class Answer:
    pieces: Sequence[bytes]
    close: bool = False
    pause: float = 0.05


@dataclass
class Received:
    """One request as the app's own parser read it."""

    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    followed: bytes = b""  # what had come after it by the time it was complete

    def header(self, name: bytes) -> list[bytes]:
        return [v for n, v in self.headers if n == name.lower()]


@dataclass
class Connection:
    """What one connection from the router carried."""

    raw: bytearray = field(default_factory=bytearray)
    requests: list[Received] = field(default_factory=list)
    error: str | None = None  # h11 could not read what came


class RawApp:
    """Listens on a free port; every connection is read by h11 and answered by ``script``."""

    def __init__(self, name: str, script: Script) -> None:
        self.name = name
        self.script = script
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections: list[Connection] = []
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._closed = False
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def route(self) -> dict[str, object]:
        return {"dyno": self.name, "host": "127.0.0.1", "port": self.port}

    @property
    def requests(self) -> list[Received]:
        return [r for c in self.connections for r in c.requests]

    def _accept(self) -> None:
        while not self._closed:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._socks.append(sock)
            record = Connection()
            self.connections.append(record)
            thread = threading.Thread(target=self._serve, args=(sock, record), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket, record: Connection) -> None:
        parser = h11.Connection(h11.SERVER)
        current: Received | None = None
        sock.settimeout(TIMEOUT)
        try:
            while True:
                event = parser.next_event()
                if event is h11.NEED_DATA:
                    data = sock.recv(65536)
                    record.raw += data
                    parser.receive_data(data)
                    if not data:
                        return
                    continue
                if isinstance(event, h11.Request):
                    current = Received(event.method, event.target, list(event.headers), b"")
                elif isinstance(event, h11.Data) and current is not None:
                    current.body += event.data
                elif isinstance(event, h11.EndOfMessage) and current is not None:
                    # The router sends one request at a time: bytes already here after it were
                    # smuggled in with it.
                    leftover = parser.trailing_data[0]
                    current.followed = leftover
                    record.requests.append(current)
                    answer = self.script(current)
                    for i, piece in enumerate(answer.pieces):
                        if i:
                            time.sleep(answer.pause)
                        sock.sendall(piece)
                    if answer.close:
                        return
                    # h11 would wait for a response of its own making: read on afresh.
                    parser = h11.Connection(h11.SERVER)
                    if leftover:
                        parser.receive_data(leftover)
                    current = None
                elif isinstance(event, h11.ConnectionClosed):
                    return
        except h11.RemoteProtocolError as exc:
            record.error = str(exc)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):  # wakes the acceptor: closing alone leaves it blocked
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for sock in self._socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._acceptor.join(TIMEOUT)
        for thread in self._threads:
            thread.join(TIMEOUT)
