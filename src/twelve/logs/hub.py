"""The log hub: every line of every app goes through here to its journal, live readers and drains.

``publish`` is synchronous and never waits: it numbers the line with the app's next cursor,
appends it to a pending batch, and hands it to each reader's and drain's bounded buffer. A writer
task writes pending batches to the journals every ``flush_interval`` seconds (sooner when a batch
grows large) and on close. Because a line has its cursor from the moment it is published, a
reader can replay the journal up to the newest line and then follow live ones with neither a gap
nor a duplicate, and reconnect later after any cursor it has seen, across daemon restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from twelve.appspec.names import validate_app_name
from twelve.logs.drains import DrainOptions, DrainSet, DrainStatus
from twelve.logs.filters import EVERYTHING, LogFilter
from twelve.logs.journal import Journal
from twelve.logs.line import LogLine
from twelve.logs.subscription import Subscription, notice_line

log = logging.getLogger(__name__)

UNCLEAN = (
    "the daemon stopped without closing this journal: lines of its last moments may be missing"
)

FLUSH_LINES = 4096  # a batch this large wakes the writer before its interval is up
RESERVE = 65536  # cursors reserved on disk at a time, before lines with them are written


@dataclass
class _AppLog:
    journal: Journal
    next: int
    reserved: int
    pending: list[LogLine] = field(default_factory=list)
    readers: list[Subscription] = field(default_factory=list)
    drains: DrainSet | None = None


class LogHub:
    """All apps' log streams. Use ``async with LogHub(...)`` or ``await start()``/``close()``."""

    def __init__(
        self,
        logs_dir: Path,
        max_bytes: int,
        files: int,
        *,
        flush_interval: float = 0.1,
        reader_buffer: int = 10_000,
        drop_report_interval: float = 10.0,
        drain_options: DrainOptions | None = None,
    ) -> None:
        self.logs_dir = logs_dir
        self.max_bytes = max_bytes
        self.files = files
        self.flush_interval = flush_interval
        self.reader_buffer = reader_buffer
        self.drop_report_interval = drop_report_interval
        self.drain_options = drain_options or DrainOptions()
        self.lines_lost = 0  # lines the journal could not write (disk full), logged as they happen
        self._apps: dict[str, _AppLog] = {}
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closed = False

    async def start(self) -> None:
        """Start the writer task; until then (and after close) publish writes through at once."""
        if self._writer is None and not self._closed:
            self._writer = asyncio.create_task(self._write_loop(), name="log hub writer")

    async def __aenter__(self) -> LogHub:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- the stream --------------------------------------------------------------------------

    def publish(self, app: str, line: LogLine) -> None:
        """Add ``line`` to ``app``'s stream. Synchronous; never waits on disk, readers or drains."""
        state = self._apps.get(app) or self._open(app)
        cursor = state.next
        if cursor >= state.reserved and self._writer is not None:  # else written at once
            state.reserved = state.journal.reserve(cursor + RESERVE)
        state.next += 1
        state.pending.append(line)
        for reader in state.readers:
            reader.offer(cursor, line)
        if state.drains is not None:
            state.drains.offer(line)
        if self._writer is None:
            self._flush(app, state)
        elif len(state.pending) >= FLUSH_LINES:
            self._wake.set()

    def subscribe(
        self, app: str, filter: LogFilter = EVERYTHING, after: int | None = None
    ) -> Subscription:
        """Lines of ``app`` matching ``filter`` as (cursor, line), oldest first, until closed.

        With ``after`` the journal is replayed from the line after that cursor, then live lines
        follow; without it only lines published from now on come. Iterate with ``async for``;
        close with ``close()`` or ``async with``.
        """
        return Subscription(self, app, filter, after, self.reader_buffer)

    def read_last(
        self, app: str, n: int, filter: LogFilter = EVERYTHING
    ) -> list[tuple[int, LogLine]]:
        """The last ``n`` matching lines of ``app`` with their cursors, oldest first."""
        return self.journal(app).read_last(n, filter)

    def read_after(
        self, app: str, cursor: int, filter: LogFilter = EVERYTHING, limit: int = 1000
    ) -> list[tuple[int, LogLine]]:
        """Up to ``limit`` matching lines of ``app`` after ``cursor``, oldest first."""
        return self.journal(app).read_after(cursor, filter, limit)

    def last_cursor(self, app: str) -> int:
        """The cursor of ``app``'s newest line (0 before its first); follow with ``after`` it."""
        state = self._apps.get(app) or self._open(app)
        return state.next - 1

    def journal(self, app: str) -> Journal:
        """``app``'s journal with every published line written: safe to read synchronously."""
        state = self._apps.get(app) or self._open(app)
        self._flush(app, state)
        return state.journal

    def flush(self) -> None:
        """Write every published line to the journals now."""
        self._flush_all()

    # -- drains ------------------------------------------------------------------------------

    async def set_drains(self, app: str, urls: Iterable[str]) -> None:
        """Make ``app``'s running drains exactly ``urls`` (UsageError on any invalid URL)."""
        state = self._apps.get(app) or self._open(app)
        if state.drains is None:
            state.drains = DrainSet(app, self.drain_options)
        await state.drains.replace(list(urls))

    def drain_status(self, app: str) -> list[DrainStatus]:
        state = self._apps.get(app)
        return state.drains.status() if state and state.drains else []

    # -- lifecycle ---------------------------------------------------------------------------

    async def remove_app(self, app: str) -> None:
        """Stop ``app``'s drains and readers and delete its journal."""
        state = self._apps.pop(app, None)
        if state is None:
            Journal(self.logs_dir / validate_app_name(app), self.max_bytes, self.files).remove()
            return
        for reader in list(state.readers):
            reader.end()
        if state.drains is not None:
            await state.drains.close(grace=0)
        state.journal.remove()

    def end_readers(self) -> None:
        """End every live reader (a shutting-down API must not wait on endless tails)."""
        for state in self._apps.values():
            for reader in list(state.readers):
                reader.end()

    async def close(self) -> None:
        """Write every pending line, give drains a moment to send theirs, end every reader."""
        self._closed = True
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        drain_sets = [s.drains for s in self._apps.values() if s.drains is not None]
        await asyncio.gather(*(drains.close() for drains in drain_sets))
        self._report_drain_drops()  # including lines a drain could not send before it stopped
        self._flush_all()
        for state in self._apps.values():
            for reader in list(state.readers):
                reader.end()
            state.journal.close()
        self._apps.clear()

    # -- for Subscription --------------------------------------------------------------------

    def _attach(self, app: str, reader: Subscription) -> int:
        """Register ``reader`` for live lines; return the cursor the next live line will get."""
        state = self._apps.get(app) or self._open(app)
        state.readers.append(reader)
        return state.next

    def _detach(self, app: str, reader: Subscription) -> None:
        state = self._apps.get(app)
        if state is not None and reader in state.readers:
            state.readers.remove(reader)

    # -- internals ---------------------------------------------------------------------------

    def _open(self, app: str) -> _AppLog:
        journal = Journal(self.logs_dir / validate_app_name(app), self.max_bytes, self.files)
        state = _AppLog(journal, journal.next_cursor, journal.next_cursor)
        self._apps[app] = state
        if journal.unclean:
            self.publish(app, notice_line(UNCLEAN))
        return state

    def _flush(self, app: str, state: _AppLog) -> None:
        if not state.pending:
            return
        lines, state.pending = state.pending, []
        try:
            state.journal.append(lines)
        except OSError as exc:
            self.lines_lost += len(lines)
            log.error("could not write %d log lines of %s: %s", len(lines), app, exc)

    def _flush_all(self) -> None:
        for app, state in list(self._apps.items()):
            self._flush(app, state)

    def _report_drain_drops(self) -> None:
        for app, state in list(self._apps.items()):
            if state.drains is not None:
                for report in state.drains.drop_reports():
                    self.publish(app, report.line())

    async def _write_loop(self) -> None:
        next_report = time.monotonic() + self.drop_report_interval
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.flush_interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                if time.monotonic() >= next_report:
                    next_report = time.monotonic() + self.drop_report_interval
                    self._report_drain_drops()
                self._flush_all()
            except Exception:  # a bug here must not stop every later line from being written
                log.exception("the log writer failed; it carries on")
