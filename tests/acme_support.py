"""What the automatic-HTTPS e2e suites share: a daemon pointed at Pebble, and HTTPS clients that
name a host by SNI while connecting to the router on 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.client
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Any

from pebble_support import Pebble
from support import Daemon, daemon_env


def start_daemon(
    home: Path, uv_cache: Path, http_port: int, pebble: Pebble, log: Path, **extra: str
) -> Daemon:
    home.mkdir()
    env = daemon_env(
        home,
        uv_cache,
        TWELVE_ROUTER_BIND=f"127.0.0.1:{http_port}",
        TWELVE_ROUTER_TLS_BIND="127.0.0.1:0",
        TWELVE_ACME_DIRECTORY=pebble.directory,
        TWELVE_ACME_CA_BUNDLE=str(pebble.ca_bundle),
        TWELVE_ACME_EMAIL="ops@example.test",
        TWELVE_ACME_RETRY_BASE="1",
        TWELVE_ACME_ORDER_TIMEOUT="60",
        TWELVE_ROUTER_WORKERS="2",  # a new certificate must reach every worker
    )
    d = Daemon(home, env | extra, log)
    d.start()
    return d


def stop_daemon(d: Daemon) -> None:
    d.stop()
    d.end_recorded_processes()
    d.unmount_scratch()


def auto(d: Daemon, app: str) -> dict[str, Any]:
    data = d.cli_json("certs:auto", "-a", app)
    assert isinstance(data, dict)
    return data


def all_issued(d: Daemon, app: str) -> dict[str, Any] | None:
    data = auto(d, app)
    ok = data["domains"] and all(x["state"] == "issued" for x in data["domains"])
    return data if ok else None


def app_log(d: Daemon, app: str) -> str:
    return d.cli("logs", "-a", app, "-n", "1000").stdout


def fingerprint(port: int, name: str, trusted: ssl.SSLContext | None = None) -> str:
    """The SHA-256 of the certificate the router shows for ``name`` ("" when ``trusted`` is given
    and the certificate does not verify against it)."""
    context = trusted
    if context is None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=name) as sock,
        ):
            return hashlib.sha256(sock.getpeercert(binary_form=True) or b"").hexdigest()
    except ssl.SSLCertVerificationError:
        return ""


class SniHttps(http.client.HTTPSConnection):
    """HTTPS to the router on 127.0.0.1, naming ``name`` by SNI and checking it.

    A handshake that lands in the second a name's renewal is validated over TLS-ALPN-01 sees the
    validation certificate (docs/https.md): it is tried again, and fails for good only if the
    certificate still does not verify."""

    def __init__(self, port: int, name: str, context: ssl.SSLContext) -> None:
        super().__init__("127.0.0.1", port, timeout=10, context=context)
        self.name = name

    def connect(self) -> None:
        for attempt in range(3):
            sock = socket.create_connection((self.host, self.port), self.timeout)
            try:
                self.sock = self._context.wrap_socket(sock, server_hostname=self.name)  # type: ignore[attr-defined]
                return
            except ssl.SSLCertVerificationError:
                sock.close()
                if attempt == 2:
                    raise
                time.sleep(1.0)

    def get(self, path: str = "/") -> http.client.HTTPResponse:
        self.request("GET", path, headers={"Host": self.name})
        response = self.getresponse()
        response.read()
        return response


def certified_names(d: Daemon, app: str) -> list[str]:
    listed = d.cli_json("certs", "-a", app)
    assert isinstance(listed, list)
    return list(listed[0]["hostnames"]) if listed else []


class Gate:
    """A listener holding Pebble's validation request until released, then passing it to the
    router: the order stays mid-validation for as long as the test wants."""

    def __init__(self, address: str, port: int, target: int) -> None:
        self.listener = socket.create_server((address, port))
        self.target = target
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._pass, args=(client,), daemon=True).start()

    def _pass(self, client: socket.socket) -> None:
        self.arrived.set()
        self.release.wait(120)
        with client, socket.create_connection(("127.0.0.1", self.target), timeout=10) as up:
            client.settimeout(10)
            request = client.recv(65536)
            up.sendall(request)
            while data := up.recv(65536):
                client.sendall(data)

    def close(self) -> None:
        self.release.set()
        self.listener.close()
