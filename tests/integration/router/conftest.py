"""Real backends (small HTTP servers on port 0) and the real router as a subprocess."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from integration.router.rawapp import RawApp, Script
from support import SANITIZER_ENV, require_native_build, wait_for

TIMEOUT = 10.0


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self) -> None:
        body = self._read_body()
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        record = {
            "backend": self.server.name,
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("latin-1"),
            "peer_port": self.client_address[1],
        }
        self.server.requests.append(record)
        if "sleep" in query:
            time.sleep(float(query["sleep"]))
        if url.path == "/ws" and self.headers.get("Upgrade"):
            self._tunnel()
            return
        if url.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (b"one,", b"two,", b"three"):
                self.wfile.write(b"%x\r\n%b\r\n" % (len(piece), piece))
                self.wfile.flush()
                time.sleep(0.01)
            self.wfile.write(b"0\r\n\r\n")
            return
        if url.path == "/until-close":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"body ended by close")
            self.close_connection = True
            return
        if url.path == "/drop-once" and self.server.dropped.get(self.command, 0) == 0:
            self.server.dropped[self.command] = 1
            self.close_connection = True  # closes without a byte of response
            return
        if url.path == "/http10":  # as an HTTP/1.0 server answers: then it closes
            body = b"from an HTTP/1.0 server"
            head = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
            head += "".join(f"{h}\r\n" for h in query.get("header", "").split("|") if h)
            if query.get("length") != "0":
                head += f"Content-Length: {len(body)}\r\n"
            if "pieces" in query:  # the head, then the body in two writes, each read alone
                for piece in (head.encode() + b"\r\n", body[:5], body[5:]):
                    self.connection.sendall(piece)
                    time.sleep(0.05)
            else:
                self.wfile.write(head.encode() + b"\r\n" + body + query.get("extra", "").encode())
            self.close_connection = True
            return
        if url.path == "/held":  # an HTTP/1.0 head and ``start`` bytes, the rest once released
            start = int(query.get("start", 0))
            body = b"b" * start + b"0123456789"
            head = b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
            self.connection.sendall(head + body[:start])
            self.server.release.wait(TIMEOUT)
            self.connection.sendall(body[start:])
            self.close_connection = True
            return
        if url.path == "/keep-alive-extra":  # a hop-by-hop header, then bytes past the length
            response = (
                b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nokjunk"
            )
            if "pieces" in query:  # the head and a first byte, then the rest, each read alone
                self.connection.sendall(response[:-5])
                time.sleep(0.05)
                response = response[-5:]
            self.connection.sendall(response)
            return
        if url.path == "/garbage":
            self.wfile.write(b"this is not http\r\n\r\n")
            self.close_connection = True
            return
        data = json.dumps(record).encode()
        self.send_response(int(query.get("status", self.server.status)))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _tunnel(self) -> None:
        self.send_response(101)
        self.send_header("Connection", "Upgrade")
        self.send_header("Upgrade", self.headers["Upgrade"])
        self.end_headers()
        self.wfile.flush()
        while data := self.connection.recv(65536):
            self.connection.sendall(data.upper())
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _handle


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.name = name
        self.requests: list[dict[str, Any]] = []
        self.dropped: dict[str, int] = {}
        self.release = threading.Event()  # lets ``/held`` send the rest of its body
        self.status = 200  # what it answers when the request does not say


class Backend:
    """A web process stand-in: answers with JSON describing the request it got."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.server = _Server(name)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.server.requests

    def route(self) -> dict[str, Any]:
        return {"dyno": self.name, "host": "127.0.0.1", "port": self.port}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(TIMEOUT)


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Router:
    """``python -m twelve.router`` in its own process group, with its stdout collected."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.routes_path = home / "run" / "routes.json"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "twelve.router"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        try:
            event = self.wait_line(lambda e: e.get("event") in ("listening", "error"))
            assert event["event"] == "listening", event
        except BaseException:
            self.close()
            raise
        self.address = event["address"]
        self.compiled = bool(event.get("compiled"))
        self.host, _, port = self.address.rpartition(":")
        self.port = int(port)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            try:
                self.lines.put(json.loads(raw))
            except ValueError:
                self.lines.put({"event": "unparsed", "text": raw.decode(errors="replace")})

    def wait_line(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        """The first stdout line (JSON) not seen before that matches ``predicate``."""
        for line in self.seen:
            if predicate(line):
                self.seen.remove(line)
                return line
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching router line; unmatched: {self.seen[-10:]}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if predicate(line):
                return line
            self.seen.append(line)

    def access_line(self, needle: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        return self.wait_line(lambda e: "line" in e and needle in e["line"], timeout)

    def write_routes(self, apps: dict[str, Any], version: int = 1) -> None:
        write_routes(self.routes_path, apps, version)

    def reload(self) -> None:
        """SIGHUP to the router's process group, as the daemon does, and wait for the reload."""
        os.killpg(self.process.pid, signal.SIGHUP)

    def connect(self, timeout: float = TIMEOUT) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(
        self,
        host: str,
        path: str = "/",
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = self.connect()
        try:
            conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
            response = conn.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            conn.close()

    def raw(self, data: bytes, timeout: float = TIMEOUT) -> bytes:
        """Send raw bytes, half-close, and read until the router closes."""
        with socket.create_connection((self.host, self.port), timeout=timeout) as sock:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while piece := sock.recv(65536):
                chunks.append(piece)
            return b"".join(chunks)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            return self.process.wait(TIMEOUT)
        finally:
            self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(TIMEOUT)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # any worker left behind
        self.reader.join(TIMEOUT)
        if self.process.stdout is not None:
            self.process.stdout.close()


def write_routes(path: Path, apps: dict[str, Any], version: int = 1) -> None:
    """Write the table atomically, as the daemon does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps({"version": version, "apps": apps}))
    temp.replace(path)


@pytest.fixture
def backends() -> Iterator[Callable[[str], Backend]]:
    started: list[Backend] = []

    def start(name: str) -> Backend:
        backend = Backend(name)
        started.append(backend)
        return backend

    yield start
    for backend in started:
        backend.close()


@pytest.fixture(params=["compiled", "interpreted"])
def router(
    request: pytest.FixtureRequest, tmp_path: Path, backends: Any
) -> Iterator[Callable[..., Router]]:
    """Start the router with a route table; settings come as TWELVE_* keyword overrides.

    Every router test runs twice: on the compiled build ``scripts/bootstrap`` makes, and on the
    same modules interpreted, so both behave alike.
    """
    compiled = request.param == "compiled"
    if compiled:
        require_native_build()
    started: list[Router] = []

    def start(apps: dict[str, Any] | None, **settings: str) -> Router:
        home = tmp_path / f"home{len(started)}"
        if apps is not None:
            write_routes(home / "run" / "routes.json", apps)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "TWELVE_HOME": str(home),
            "TWELVE_ROUTER_BIND": "127.0.0.1:0",
            "TWELVE_ROUTER_WORKERS": "1",
            "TWELVE_DOMAIN": "localhost",
            "TWELVE_ROUTER_COMPILED": "1" if compiled else "0",
            **{k: os.environ[k] for k in SANITIZER_ENV if k in os.environ},
            **{f"TWELVE_{k.upper()}": v for k, v in settings.items()},
        }
        instance = Router(home, env)
        started.append(instance)
        assert instance.compiled == compiled
        return instance

    yield start
    for instance in started:
        instance.close()


@pytest.fixture
def dead_route() -> Callable[[str], dict[str, Any]]:
    """A backend entry for a port nothing listens on."""
    return lambda dyno: {"dyno": dyno, "host": "127.0.0.1", "port": closed_port()}


class StuckRoutes:
    """Backend entries for ports that take no new connection: the accept queue is full, so the
    kernel drops further SYNs and a connect just waits, as with an overloaded process."""

    def __init__(self) -> None:
        self.held: list[socket.socket] = []

    def __call__(self, dyno: str) -> dict[str, Any]:
        listener = socket.socket()
        self.held.append(listener)
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(3):  # fill the queue with connections nobody accepts
            filler = socket.socket()
            self.held.append(filler)
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        return {"dyno": dyno, "host": "127.0.0.1", "port": port}

    def connects_waiting(self, port: int) -> int:
        """Connects to ``port`` still waiting for an answer (SYN sent), but the queue fillers'."""
        fillers = {s.getsockname()[1] for s in self.held[1:]}
        count = 0
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            local, remote, state = line.split()[1:4]
            if (
                state == "02"  # SYN_SENT
                and int(remote.rpartition(":")[2], 16) == port
                and int(local.rpartition(":")[2], 16) not in fillers
            ):
                count += 1
        return count

    def close(self) -> None:
        for sock in self.held:
            sock.close()


@pytest.fixture
def stuck_route() -> Iterator[StuckRoutes]:
    """``stuck_route(dyno)``: a backend entry for a port that takes no new connection."""
    stuck = StuckRoutes()
    yield stuck
    stuck.close()


@pytest.fixture
def poll() -> Callable[[Callable[[], Any], float, str], Any]:
    """``poll(predicate, timeout, what)``: wait for a condition against a deadline."""
    return wait_for


@pytest.fixture
def raw_apps() -> Iterator[Callable[..., RawApp]]:
    """``raw_apps(name, script)``: a web process that answers with scripted raw bytes and reads
    what it receives with h11 (see ``rawapp``)."""
    started: list[RawApp] = []

    def start(name: str, script: Script) -> RawApp:
        app = RawApp(name, script)
        started.append(app)
        return app

    yield start
    for app in started:
        app.close()
