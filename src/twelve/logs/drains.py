"""Drains: forwarding an app's lines to syslog (TCP, TLS) or HTTPS receivers.

Each drain has a bounded buffer filled synchronously by the hub and one task that sends from it,
so a slow or dead receiver only ever fills its own buffer: the hub, the app and the other drains
never wait on it. When the buffer is full the oldest line gives way and is counted; the hub turns
the count into a ``twelve[drain]`` line saying how many lines were dropped and when. A batch that
could not be sent is retried with a doubling backoff (delivery is at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from twelve.logs.drain_url import DrainTarget, parse_drain_url
from twelve.logs.line import LogLine
from twelve.logs.syslog_format import logplex_request, syslog_frames


@dataclass(frozen=True, slots=True)
class DrainOptions:
    """Limits shared by every drain of a hub."""

    buffer_lines: int = 10_000
    batch_lines: int = 500
    timeout: float = 10.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    ssl_context: ssl.SSLContext | None = None  # None: the system's trusted certificates


@dataclass(frozen=True, slots=True)
class DropReport:
    """Lines one drain dropped between two moments."""

    shown_url: str
    count: int
    first: datetime
    last: datetime
    reason: str

    def line(self) -> LogLine:
        """The ``twelve[drain]`` line that tells the app's stream about the loss."""
        first = self.first.isoformat(timespec="seconds")
        last = self.last.isoformat(timespec="seconds")
        return LogLine(
            datetime.now(UTC),
            "twelve",
            "drain",
            f"drain {self.shown_url} dropped {self.count} lines between {first} and {last} "
            f"({self.reason})",
        )


@dataclass(frozen=True, slots=True)
class DrainStatus:
    """What ``twelve drains`` can show about one drain."""

    url: str
    sent: int
    dropped: int
    buffered: int
    last_error: str | None


class DrainRefused(Exception):
    """The receiver answered, but not with success."""


class _SyslogTransport:
    """A persistent TCP or TLS connection carrying octet-counted RFC 5424 frames."""

    def __init__(self, target: DrainTarget, app: str, options: DrainOptions) -> None:
        self.target, self.app, self.options = target, app, options
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def send(self, batch: list[LogLine], frame_id: str) -> None:
        del frame_id  # syslog has no batch identity
        if self._reader is not None and self._reader.at_eof():
            await self.reset()  # the receiver hung up: do not write into a dead connection
        writer = self._writer or await self._connect()
        writer.write(syslog_frames(batch, self.app))
        await asyncio.wait_for(writer.drain(), self.options.timeout)

    async def _connect(self) -> asyncio.StreamWriter:
        tls = None
        if self.target.uses_tls:
            tls = self.options.ssl_context or ssl.create_default_context()
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                self.target.host,
                self.target.port,
                ssl=tls,
                server_hostname=self.target.host if self.target.uses_tls else None,
            ),
            self.options.timeout,
        )
        self._reader, self._writer = reader, writer
        return writer

    async def reset(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def close(self) -> None:
        await self.reset()


class _HttpTransport:
    """POSTs of logplex-framed batches over one pooled HTTP client."""

    def __init__(self, target: DrainTarget, app: str, options: DrainOptions) -> None:
        self.target, self.app = target, app
        verify: ssl.SSLContext | bool = options.ssl_context or True
        self._client = httpx.AsyncClient(verify=verify, timeout=options.timeout)

    async def send(self, batch: list[LogLine], frame_id: str) -> None:
        body, headers = logplex_request(batch, self.app, frame_id)
        response = await self._client.post(self.target.url, content=body, headers=headers)
        if not response.is_success:
            raise DrainRefused(f"HTTP {response.status_code}")

    async def reset(self) -> None:
        """Nothing to do: the client's pool drops broken connections itself."""

    async def close(self) -> None:
        await self._client.aclose()


class Drain:
    """One drain of one app: a bounded buffer and the task that empties it."""

    def __init__(self, target: DrainTarget, app: str, options: DrainOptions) -> None:
        self.target = target
        self.options = options
        self._transport: _SyslogTransport | _HttpTransport = (
            _SyslogTransport(target, app, options)
            if target.is_syslog
            else _HttpTransport(target, app, options)
        )
        self._buffer: deque[LogLine] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.sent = 0
        self.dropped = 0
        self.last_error: str | None = None
        self._batch: list[LogLine] = []  # taken from the buffer, not yet delivered
        self._unreported = 0
        self._first_drop: datetime | None = None
        self._last_drop: datetime | None = None
        self._left_at_stop = 0

    def offer(self, line: LogLine) -> None:
        """Queue ``line``; when the buffer is full the oldest line is dropped and counted."""
        if len(self._buffer) >= self.options.buffer_lines:
            self._count_dropped([self._buffer.popleft()])
        self._buffer.append(line)
        self._wake.set()

    def _count_dropped(self, lines: list[LogLine]) -> None:
        self.dropped += len(lines)
        self._unreported += len(lines)
        self._last_drop = lines[-1].time
        if self._first_drop is None:
            self._first_drop = lines[0].time

    def take_drop_report(self) -> DropReport | None:
        """The drops not reported yet, if any; counting starts again from zero."""
        if not self._unreported or self._first_drop is None or self._last_drop is None:
            return None
        reason = f"its buffer of {self.options.buffer_lines} lines was full"
        if self._left_at_stop:
            reason = f"{self._left_at_stop} of them were still unsent when the drain stopped"
        if self.last_error:
            reason += f"; last error: {self.last_error}"
        report = DropReport(
            self.target.shown, self._unreported, self._first_drop, self._last_drop, reason
        )
        self._unreported, self._first_drop, self._last_drop = 0, None, None
        self._left_at_stop = 0
        return report

    def status(self) -> DrainStatus:
        return DrainStatus(
            self.target.shown, self.sent, self.dropped, len(self._buffer), self.last_error
        )

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"drain {self.target.shown}")

    async def stop(self, grace: float = 1.0) -> None:
        """Send what is buffered for up to ``grace`` seconds, then stop and disconnect.

        Lines still unsent then are counted as dropped, so ``take_drop_report`` tells of them.
        """
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            done, _ = await asyncio.wait({task}, timeout=grace)
            if not done:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._transport.close()
        unsent = self._batch + list(self._buffer)
        self._batch, self._buffer = [], deque()
        if unsent:
            self._count_dropped(unsent)
            self._left_at_stop = len(unsent)

    async def _run(self) -> None:
        delay = self.options.backoff_initial
        frame_id = ""
        while True:
            if not self._batch:
                if not self._buffer:
                    if self._stopping:
                        return
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                count = min(self.options.batch_lines, len(self._buffer))
                self._batch = [self._buffer.popleft() for _ in range(count)]
                frame_id = uuid.uuid4().hex
            try:
                await self._transport.send(self._batch, frame_id)
            except (OSError, TimeoutError, httpx.HTTPError, DrainRefused) as exc:
                self.last_error = _describe(exc)
                await self._transport.reset()
                if self._stopping:
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.options.backoff_max)
                continue
            self.sent += len(self._batch)
            self._batch = []
            delay = self.options.backoff_initial
            self.last_error = None


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


class DrainSet:
    """The drains of one app, keyed by URL."""

    def __init__(self, app: str, options: DrainOptions) -> None:
        self.app = app
        self.options = options
        self._drains: dict[str, Drain] = {}
        self._closed = False

    @property
    def urls(self) -> list[str]:
        return list(self._drains)

    async def replace(self, urls: Iterable[str]) -> None:
        """Make the running drains exactly ``urls``: every URL is validated before any change."""
        targets = {target.url: target for target in map(parse_drain_url, urls)}
        for url in [url for url in self._drains if url not in targets]:
            await self._drains.pop(url).stop()
        for url, target in targets.items():
            if url not in self._drains:
                drain = Drain(target, self.app, self.options)
                drain.start()
                self._drains[url] = drain

    def offer(self, line: LogLine) -> None:
        if self._closed:
            return
        for drain in self._drains.values():
            drain.offer(line)

    def drop_reports(self) -> list[DropReport]:
        reports = (drain.take_drop_report() for drain in self._drains.values())
        return [report for report in reports if report is not None]

    def status(self) -> list[DrainStatus]:
        return [drain.status() for drain in self._drains.values()]

    async def close(self, grace: float = 1.0) -> None:
        """Stop every drain; their drop reports stay available, later lines are not taken."""
        self._closed = True
        await asyncio.gather(*(drain.stop(grace) for drain in self._drains.values()))
