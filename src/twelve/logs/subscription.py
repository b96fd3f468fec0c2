"""One reader of an app's stream: a journal replay that turns into a live follow, gap-free.

The switch from replay to live happens in one synchronous step: the hub writes its pending lines,
the journal is read to its last line, and the reader is registered for live lines. No line can be
published in between (one event loop), so the first live line is the one after the last replayed.

The live buffer is bounded. When it is full, further lines are dropped and counted, and the reader
receives ``twelve[logs]: N lines dropped for this reader`` at the place of the loss, with the cursor
of the last dropped line; the hub never waits for a reader.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from twelve.logs.filters import LogFilter
from twelve.logs.line import LogLine

if TYPE_CHECKING:
    from twelve.logs.hub import LogHub

REPLAY_CHUNK = 1000


@dataclass
class _Dropped:
    """Stands in the buffer for lines dropped at that point."""

    count: int
    last_cursor: int


def notice_line(message: str) -> LogLine:
    """A line from the log system itself, shown to one reader and never journaled."""
    return LogLine(datetime.now(UTC), "twelve", "logs", message)


class Subscription:
    """An async iterator of (cursor, LogLine). Made by ``LogHub.subscribe``."""

    def __init__(
        self, hub: LogHub, app: str, filter: LogFilter, after: int | None, buffer: int
    ) -> None:
        self._hub = hub
        self.app = app
        self.filter = filter
        self._limit = max(1, buffer)
        self._cursor = max(0, after) if after is not None else 0
        self._ready: deque[tuple[int, LogLine]] = deque()  # replayed lines, not yet taken
        self._live: deque[tuple[int, LogLine] | _Dropped] = deque()
        self._wake = asyncio.Event()
        self._following = False
        self._ended = False
        self.dropped = 0
        if after is None:
            self._follow()

    # -- fed by the hub ----------------------------------------------------------------------

    def offer(self, cursor: int, line: LogLine) -> None:
        """Take a live line; drop and count it when the buffer is full. Never waits."""
        if not self.filter.matches(line):
            return
        if len(self._live) < self._limit:
            self._live.append((cursor, line))
        else:
            self.dropped += 1
            tail = self._live[-1]
            if isinstance(tail, _Dropped):
                tail.count += 1
                tail.last_cursor = cursor
            else:  # one marker may go past the limit: it holds the place of the loss
                self._live.append(_Dropped(1, cursor))
        self._wake.set()

    def end(self) -> None:
        """Stop after what is buffered (the app was removed or the hub closed)."""
        self._ended = True
        self._wake.set()

    # -- read by the consumer ----------------------------------------------------------------

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> tuple[int, LogLine]:
        while True:
            if self._ready:
                return self._ready.popleft()
            if not self._following:
                if self._ended:
                    raise StopAsyncIteration
                self._replay_chunk()
                await asyncio.sleep(0)  # a long replay lets the loop breathe between chunks
                continue
            if self._live:
                item = self._live.popleft()
                if isinstance(item, _Dropped):
                    return item.last_cursor, notice_line(
                        f"{item.count} lines dropped for this reader"
                    )
                return item
            if self._ended:
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()

    def close(self) -> None:
        """Stop receiving lines and let the hub forget this reader."""
        self._ended = True
        self._live.clear()
        self._ready.clear()
        if self._following:
            self._hub._detach(self.app, self)
        self._wake.set()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    # -- replay ------------------------------------------------------------------------------

    def _replay_chunk(self) -> None:
        journal = self._hub.journal(self.app)  # every published line is on disk now
        if self._cursor >= journal.last_cursor:
            self._follow()
            return
        missing = journal.missing_after(self._cursor)
        if missing:
            self._cursor = journal.first_cursor - 1
            message = f"{missing} lines were rotated away before this point"
            self._ready.append((self._cursor, notice_line(message)))
        batch = journal.read_after(self._cursor, self.filter, REPLAY_CHUNK)
        self._ready.extend(batch)
        if len(batch) < REPLAY_CHUNK:  # the journal was read to its end: switch now, same step
            self._follow()
        else:
            self._cursor = batch[-1][0]

    def _follow(self) -> None:
        self._hub._attach(self.app, self)
        self._following = True
