"""Reading a process's stdout/stderr pipe into messages, one per line, as fast as it writes.

The reader never waits on whoever consumes the messages: ``emit`` is synchronous and must not
block (the hub only appends to buffers), so the pipe is drained as fast as the loop can read it
and a child is never held up by a slow log reader, journal or drain.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

from twelve.logs.line import MAX_LINE_BYTES, LogLine, decode_output, utf8_cut

READ_SIZE = 256 * 1024


class LineSplitter:
    """Bytes of output in, messages out: whole lines at once, a runaway line in pieces.

    Invalid UTF-8 is replaced and lines over MAX_LINE_BYTES are split; a partial line waits in
    ``pending`` until its newline comes or ``flush`` is called.
    """

    def __init__(self) -> None:
        self.pending = bytearray()

    def feed(self, chunk: bytes) -> list[str]:
        messages: list[str] = []
        cut = chunk.rfind(b"\n")
        if cut < 0:
            self.pending += chunk
        else:
            pending = self.pending
            whole = bytes(pending) + chunk[: cut + 1] if pending else chunk[: cut + 1]
            pending[:] = chunk[cut + 1 :]
            messages = decode_output(whole)
        while len(self.pending) > MAX_LINE_BYTES:  # a runaway line: its full pieces now
            at = utf8_cut(bytes(self.pending[: MAX_LINE_BYTES + 1]), MAX_LINE_BYTES)
            messages.append(bytes(self.pending[:at]).decode("utf-8", "replace"))
            del self.pending[:at]
        return messages

    def flush(self) -> list[str]:
        """The partial line, if any, as messages."""
        if not self.pending:
            return []
        messages = decode_output(bytes(self.pending))
        self.pending.clear()
        return messages


async def capture_output(
    reader: asyncio.StreamReader,
    emit: Callable[[str], None],
    flush_after: float = 0.2,
) -> None:
    """Read ``reader`` to EOF, calling ``emit(message)`` for every line, in order.

    Lines are split as ``LineSplitter`` does, and a partial line with no newline is emitted once
    ``flush_after`` seconds have passed since it began (a prompt, a progress bar); whatever is
    left at EOF is emitted too.
    """
    loop = asyncio.get_running_loop()
    splitter = LineSplitter()
    timer: asyncio.TimerHandle | None = None

    def flush_partial() -> None:
        nonlocal timer
        timer = None
        for message in splitter.flush():
            emit(message)

    try:
        while True:
            chunk = await reader.read(READ_SIZE)
            if not chunk:
                break
            for message in splitter.feed(chunk):
                emit(message)
            if not splitter.pending and timer is not None:
                timer.cancel()
                timer = None
            elif splitter.pending and timer is None:
                timer = loop.call_later(flush_after, flush_partial)
    finally:
        if timer is not None:
            timer.cancel()
    flush_partial()


async def read_lines(reader: asyncio.StreamReader, on_line: Callable[[bytes], None]) -> None:
    """Read ``reader`` to EOF in large reads, calling ``on_line`` with each line (without its
    newline), in order. A line that never ends is passed on in pieces of ``READ_SIZE``; what is
    left at EOF is passed on too.

    For output twelve writes itself (the router's JSON lines): no decoding or splitting of long
    lines, and one wake-up for the many lines a read brings.
    """
    pending = b""
    while chunk := await reader.read(READ_SIZE):
        lines = (pending + chunk if pending else chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            on_line(line)
        if len(pending) > READ_SIZE:
            on_line(pending)
            pending = b""
    if pending:
        on_line(pending)


def stamp_clock() -> Callable[[], datetime]:
    """A clock for log lines: the time to the millisecond, as one datetime per millisecond.

    Lines read within one millisecond share one datetime, which the journal then formats only
    once. Order within a stream is kept by cursors, never by timestamps.
    """
    clock = time.monotonic_ns
    refresh_at = 0
    stamp = datetime.now(UTC)

    def now() -> datetime:
        nonlocal refresh_at, stamp
        tick = clock()
        if tick >= refresh_at:
            refresh_at = tick + 1_000_000
            stamp = datetime.now(UTC)
        return stamp

    return now


def line_emitter(
    publish: Callable[[LogLine], None], source: str, process: str
) -> Callable[[str], None]:
    """An ``emit`` for capture_output that stamps each message (``stamp_clock``) and hands it
    to ``publish``."""
    stamp = stamp_clock()

    def emit(message: str) -> None:
        publish(LogLine(stamp(), source, process, message))

    return emit
