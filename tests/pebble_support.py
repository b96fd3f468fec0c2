"""Pebble, the ACME test CA, and its mock DNS server, started on free ports for one test module.

The DNS server answers every name with 127.0.0.1 (no AAAA), so Pebble validates HTTP-01 against
the router's plain port on this machine (and TLS-ALPN-01 against its TLS port, when given); a
name can be pointed elsewhere (``point``) to make its validation fail. Pebble's own HTTPS
listener gets a certificate from a throwaway CA, which the daemon trusts through
``TWELVE_ACME_CA_BUNDLE``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from certmaker import TestCA
from support import requires_service

PEBBLE = shutil.which("pebble")
CHALLTESTSRV = shutil.which("pebble-challtestsrv")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_pebble() -> None:
    requires_service(
        "pebble (Debian package pebble: apt-get install pebble)",
        PEBBLE is not None and CHALLTESTSRV is not None,
    )


@dataclass
class Pebble:
    directory: str
    management: str
    dns_management: str
    ca_bundle: Path  # trusts Pebble's own HTTPS listener
    processes: list[subprocess.Popen[bytes]]
    log: Path

    def root_pem(self) -> bytes:
        """The root every certificate Pebble issues chains to (made anew at each start)."""
        return httpx.get(f"{self.management}/roots/0", verify=self.trust()).content

    def trust(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_bundle))

    def point(self, host: str, address: str) -> None:
        """Answer ``host`` with ``address`` instead of 127.0.0.1."""
        body = {"host": host + ".", "addresses": [address]}
        httpx.post(f"{self.dns_management}/add-a", json=body).raise_for_status()

    def unpoint(self, host: str) -> None:
        httpx.post(f"{self.dns_management}/clear-a", json={"host": host + "."}).raise_for_status()

    def stop(self) -> None:
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)


@contextlib.contextmanager
def running_pebble(
    directory: Path, http_port: int, *, validity: int = 3600, tls_port: int = 0, **env: str
) -> Iterator[Pebble]:
    """Pebble validating HTTP-01 on ``http_port`` and TLS-ALPN-01 on ``tls_port`` (0: a port
    nothing listens on), certificates valid ``validity`` seconds; ``env`` adds Pebble's PEBBLE_*
    settings (PEBBLE_WFE_NONCEREJECT...)."""
    require_pebble()
    assert PEBBLE is not None and CHALLTESTSRV is not None
    directory.mkdir(parents=True, exist_ok=True)
    ca = TestCA("pebble listener CA")
    cert, key = ca.issue_files(directory / "listener", "localhost", "127.0.0.1")
    bundle = directory / "listener-ca.pem"
    bundle.write_bytes(ca.pem)
    acme, management, dns, dns_management = (free_port() for _ in range(4))
    config = directory / "pebble.json"
    config.write_text(
        json.dumps(
            {
                "pebble": {
                    "listenAddress": f"127.0.0.1:{acme}",
                    "managementListenAddress": f"127.0.0.1:{management}",
                    "certificate": str(cert),
                    "privateKey": str(key),
                    "httpPort": http_port,
                    "tlsPort": tls_port or free_port(),
                    "ocspResponderURL": "",
                    "externalAccountBindingRequired": False,
                    "certificateValidityPeriod": validity,
                }
            }
        )
    )
    log = directory / "pebble.log"
    out = log.open("ab")
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    processes = [
        subprocess.Popen(
            [
                CHALLTESTSRV,
                "-dns01",
                f"127.0.0.1:{dns}",
                "-management",
                f"127.0.0.1:{dns_management}",
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-defaultIPv4",
                "127.0.0.1",
                "-defaultIPv6",
                "",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=base,
        ),
        subprocess.Popen(
            [PEBBLE, "-config", str(config), "-dnsserver", f"127.0.0.1:{dns}", "-strict=false"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=base | {"PEBBLE_VA_NOSLEEP": "1"} | env,
        ),
    ]
    out.close()
    pebble = Pebble(
        f"https://localhost:{acme}/dir",
        f"https://localhost:{management}",
        f"http://127.0.0.1:{dns_management}",
        bundle,
        processes,
        log,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(pebble.directory, verify=pebble.trust(), timeout=2).raise_for_status()
                httpx.get(pebble.dns_management, timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                    raise AssertionError(
                        f"pebble did not start:\n{log.read_text()[-3000:]}"
                    ) from None
                time.sleep(0.1)
        yield pebble
    finally:
        pebble.stop()
