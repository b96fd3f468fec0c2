"""Drains deliver an app's lines to real syslog and HTTPS receivers, and never hold anything up."""

import asyncio
import contextlib
import ssl
import subprocess
from pathlib import Path

import pytest

from support import wait_for_async
from twelve.errors import UsageError
from twelve.logs.drains import DrainOptions
from twelve.logs.filters import LogFilter
from twelve.logs.hub import LogHub
from twelve.logs.line import LogLine, make_line
from twelve.logs.syslog_format import parse_frames

FAST = DrainOptions(timeout=2.0, backoff_initial=0.05, backoff_max=0.2)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def serving(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    """A server's TLS context with the test certificate."""
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def trusting(cert: Path) -> DrainOptions:
    return DrainOptions(
        timeout=2.0, backoff_initial=0.05, backoff_max=0.2,
        ssl_context=ssl.create_default_context(cafile=str(cert)),
    )  # fmt: skip


class SyslogReceiver:
    """A syslog listener on loopback collecting octet-counted messages; or one that never reads."""

    def __init__(self, stalled: bool = False) -> None:
        self.stalled = stalled
        self.messages: list[bytes] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self, tls: ssl.SSLContext | None = None) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0, ssl=tls)
        return int(self.server.sockets[0].getsockname()[1])

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        if self.stalled:
            return
        rest = b""
        while data := await reader.read(65536):
            frames, rest = parse_frames(rest + data)
            self.messages.extend(frames)

    def texts(self) -> list[str]:
        return [m.decode().split(" - - ", 1)[1] for m in self.messages]

    async def stop(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


class HttpReceiver:
    """An HTTP/1.1 server answering drain POSTs with the given statuses, then 200."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.server: asyncio.Server | None = None

    async def start(self, tls: ssl.SSLContext | None = None) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0, ssl=tls)
        return int(self.server.sockets[0].getsockname()[1])

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode()
                lines = head.split("\r\n")[1:]
                headers = {
                    k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines if h)
                }
                body = await reader.readexactly(int(headers["content-length"]))
                self.requests.append((headers, body))
                status = self.statuses.pop(0) if self.statuses else 200
                writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n".encode())
                await writer.drain()
        writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


def line(i: int, width: int = 0) -> LogLine:
    return make_line("app", "web.1", f"line {i}" + "x" * width)


def test_syslog_over_tcp_receives_every_line_in_order(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        receiver = SyslogReceiver()
        port = await receiver.start()
        async with LogHub(tmp_path, 1 << 20, 2, drain_options=FAST) as hub:
            await hub.set_drains("shop", [f"syslog+tcp://127.0.0.1:{port}"])
            for i in range(1200):
                hub.publish("shop", line(i))
            await wait_for_async(lambda: len(receiver.messages) == 1200, 10, "the 1200 lines")
        await receiver.stop()
        assert receiver.messages[0].startswith(b"<190>1 ")
        assert b" shop app web.1 - - line 0" in receiver.messages[0]
        return receiver.texts()

    assert asyncio.run(scenario()) == [f"line {i}" for i in range(1200)]


def test_syslog_over_tls_checks_the_certificate_and_delivers(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    cert, server_tls = certificate[0], serving(certificate)

    async def scenario() -> tuple[list[str], str | None]:
        receiver = SyslogReceiver()
        port = await receiver.start(server_tls)
        async with LogHub(tmp_path, 1 << 20, 2, drain_options=trusting(cert)) as hub:
            await hub.set_drains("shop", [f"syslog+tls://127.0.0.1:{port}"])
            for i in range(10):
                hub.publish("shop", line(i))
            await wait_for_async(lambda: len(receiver.messages) == 10, 10, "the ten lines")
        async with LogHub(tmp_path, 1 << 20, 2, drain_options=FAST) as untrusting:
            await untrusting.set_drains("shop", [f"syslog+tls://127.0.0.1:{port}"])
            untrusting.publish("shop", line(10))
            await wait_for_async(
                lambda: untrusting.drain_status("shop")[0].last_error is not None,
                10,
                "the certificate error",
            )
            error = untrusting.drain_status("shop")[0].last_error
        await receiver.stop()
        return receiver.texts(), error

    texts, error = asyncio.run(scenario())
    assert texts == [f"line {i}" for i in range(10)]
    assert error is not None and "CERTIFICATE_VERIFY_FAILED" in error


def test_https_drain_posts_logplex_batches_and_retries_a_refused_one(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    cert, server_tls = certificate[0], serving(certificate)

    async def scenario() -> HttpReceiver:
        receiver = HttpReceiver(statuses=[503])
        port = await receiver.start(server_tls)
        async with LogHub(tmp_path, 1 << 20, 2, drain_options=trusting(cert)) as hub:
            await hub.set_drains("shop", [f"https://user:token@127.0.0.1:{port}/logs"])
            for i in range(700):
                hub.publish("shop", line(i))
            await wait_for_async(
                lambda: hub.drain_status("shop")[0].sent == 700, 10, "the 700 lines sent"
            )
        await receiver.stop()
        return receiver

    receiver = asyncio.run(scenario())
    refused, retried = receiver.requests[0], receiver.requests[1]
    assert refused[0]["logplex-frame-id"] == retried[0]["logplex-frame-id"]
    assert refused[1] == retried[1]
    delivered = [
        m.decode().split(" - - ", 1)[1]
        for _, body in receiver.requests[1:]
        for m in parse_frames(body)[0]
    ]
    assert delivered == [f"line {i}" for i in range(700)]
    for headers, body in receiver.requests:
        assert headers["content-type"] == "application/logplex-1"
        assert int(headers["logplex-msg-count"]) == len(parse_frames(body)[0]) <= 500
        assert headers["authorization"].startswith("Basic ")


def test_a_stalled_drain_drops_and_says_so_while_the_app_and_other_drains_go_on(
    tmp_path: Path,
) -> None:
    async def scenario() -> tuple[int, list[str], list[str], int, int]:
        stalled, healthy = SyslogReceiver(stalled=True), SyslogReceiver()
        stalled_port, healthy_port = await stalled.start(), await healthy.start()
        options = DrainOptions(buffer_lines=500, timeout=30.0, backoff_initial=0.05)
        hub = LogHub(tmp_path, 64 << 20, 2, drain_options=options, drop_report_interval=0.1)
        await hub.start()
        await hub.set_drains(
            "shop",
            [
                f"syslog+tcp://secret@127.0.0.1:{stalled_port}",
                f"syslog+tcp://127.0.0.1:{healthy_port}",
            ],
        )
        published = 0
        async with asyncio.timeout(60):
            while hub.drain_status("shop")[0].dropped == 0:
                for _ in range(200):  # 1 KiB lines: the stalled socket's buffers fill up
                    hub.publish("shop", line(published, width=1000))
                    published += 1
                await wait_for_async(
                    lambda: hub.drain_status("shop")[1].buffered == 0,
                    10,
                    "the healthy drain to catch up",
                )
        await wait_for_async(
            lambda: len(healthy.messages) >= published, 10, "every line at the healthy drain"
        )
        await wait_for_async(
            lambda: bool(hub.read_last("shop", 1, LogFilter(source="twelve"))),
            10,
            "the platform's line about the drops",
        )
        dropped = hub.drain_status("shop")[0].dropped
        healthy_dropped = hub.drain_status("shop")[1].dropped
        reports = [
            entry.message for _, entry in hub.read_last("shop", 100, LogFilter(source="twelve"))
        ]
        app_lines = [
            entry.message for _, entry in hub.read_after("shop", 0, LogFilter(source="app"), 10**6)
        ]
        await hub.close()
        await stalled.stop()
        await healthy.stop()
        return published, app_lines, reports, dropped, healthy_dropped

    published, app_lines, reports, dropped, healthy_dropped = asyncio.run(scenario())
    assert len(app_lines) == published  # the journal has every line: the app was never held up
    assert dropped > 0 and healthy_dropped == 0
    assert reports[0].startswith("drain syslog+tcp://***@127.0.0.1:")
    counted = sum(int(r.split(" dropped ", 1)[1].split()[0]) for r in reports)
    assert 0 < counted <= dropped
    assert "between" in reports[0] and "buffer of 500 lines was full" in reports[0]


def test_drain_urls_are_validated_before_any_drain_changes(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        async with LogHub(tmp_path, 1 << 20, 2, drain_options=FAST) as hub:
            await hub.set_drains("shop", ["http://127.0.0.1:9/a"])
            with pytest.raises(UsageError, match="ftp://"):
                await hub.set_drains("shop", ["http://127.0.0.1:9/b", "ftp://example.com:21"])
            urls = [status.url for status in hub.drain_status("shop")]
            await hub.set_drains("shop", [])
            assert hub.drain_status("shop") == []
            return urls

    assert asyncio.run(scenario()) == ["http://127.0.0.1:9/a"]


def test_lines_a_dead_drain_never_sent_are_reported_when_the_daemon_stops(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        closed = SyslogReceiver()
        port = await closed.start()
        await closed.stop()  # nothing listens on the port any more: every connect is refused
        async with LogHub(tmp_path, 1 << 20, 2, drain_options=FAST) as hub:
            await hub.set_drains("shop", [f"syslog+tcp://127.0.0.1:{port}"])
            for i in range(5):
                hub.publish("shop", line(i))
            await wait_for_async(
                lambda: hub.drain_status("shop")[0].last_error is not None,
                10,
                "the dead drain's error",
            )
        async with LogHub(tmp_path, 1 << 20, 2) as restarted:
            return [entry.format() for _, entry in restarted.read_last("shop", 10)]

    lines = asyncio.run(scenario())
    assert len(lines) == 6
    assert " twelve[drain]: drain syslog+tcp://127.0.0.1:" in lines[-1]
    assert "dropped 5 lines between" in lines[-1]
    assert "5 of them were still unsent when the drain stopped" in lines[-1]
