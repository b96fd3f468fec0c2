"""Access lines and events on stdout, written so a slow reader never stalls the proxy.

Each request becomes one JSON line ``{"app": "hello", "line": "at=info method=GET ..."}`` in
Heroku's router format; the daemon copies ``line`` into the app's stream as source ``router``.
Other lines are events: ``{"event": "listening" | "routes" | "warning" | "dropped", ...}``.

Lines are appended to a memory buffer and flushed a few milliseconds later in one write on a
non-blocking stdout. When stdout is a pipe that is full, the buffer waits for the next flush; past
``MAX_BUFFERED`` bytes new lines are dropped and counted, and the count is reported as a
``dropped`` event once the reader catches up. Each write is at most ``PIPE_BUF`` bytes and ends at
a line boundary, so lines from several worker processes sharing the pipe never interleave.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import select
import stat
import time
from typing import Any, Final

MAX_BUFFERED: Final = 1 << 20
FLUSH_DELAY: Final = 0.02
_PIPE_BUF: Final = getattr(select, "PIPE_BUF", 4096)


_APP_START: Final = b'{"app": "'
_LINE_START: Final = b'", "line": "'
_END: Final = b'"}'
_APP_END: Final = len(_APP_START)
_LINE_OFFSET: Final = len(_LINE_START)
_END_SIZE: Final = len(_END)


def split_access_line(raw: bytes) -> tuple[str, str] | None:
    """The app and the line of an access line as the router writes it (without its newline),
    read without a JSON parser; None for anything else: events, and any line this cannot read
    exactly as ``json.loads`` would, which the reader then parses as JSON.

    The router's log fields are printable ASCII with no quote or backslash (``log_safe``), so
    the only escapes in its lines are the ``\\"`` around quoted fields.
    """
    if not (raw.startswith(_APP_START) and raw.endswith(_END)):
        return None
    sep = raw.find(_LINE_START, _APP_END)
    if sep < 0 or sep + _LINE_OFFSET > len(raw) - _END_SIZE:
        return None
    try:
        whole = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    app = whole[_APP_END:sep]
    text = whole[sep + _LINE_OFFSET : -_END_SIZE]
    bare = text.replace('\\"', "")
    if not (app.isprintable() and bare.isprintable()):
        return None
    if '"' in bare or "\\" in bare or '"' in app or "\\" in app:
        return None
    return app, text.replace('\\"', '"')


def event_line(event: str, **fields: Any) -> bytes:
    """A non-request line: ``{"event": EVENT, ...}``."""
    return (json.dumps({"event": event, **fields}) + "\n").encode()


class LineWriter:
    """Buffers lines and writes them to a file descriptor without ever blocking for long."""

    def __init__(self, fd: int, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._fd = fd
        self._loop = loop
        self._buffer = bytearray()
        self._scheduled = False
        self.dropped = 0
        self._reported_drops = 0
        # Only a pipe or socket is made non-blocking: the flag is shared with every process holding
        # the same open file, and a terminal shared with a shell must stay as it is. Each write
        # stays within PIPE_BUF so that lines of workers sharing the output never interleave; a
        # regular file (each write() to it is atomic) takes the whole buffer at once.
        self._chunk = _PIPE_BUF
        try:
            mode = os.fstat(fd).st_mode
            if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
                os.set_blocking(fd, False)
            elif stat.S_ISREG(mode):
                self._chunk = MAX_BUFFERED * 2
        except OSError:
            pass

    def write(self, line: bytes) -> None:
        """Queue one line (ending in a newline); drop and count it when the buffer is full."""
        if len(self._buffer) + len(line) > MAX_BUFFERED:
            self.dropped += 1
            return
        self._buffer += line
        if not self._scheduled:
            self._scheduled = True
            if self._loop is None:
                self.flush()
            else:
                self._loop.call_later(FLUSH_DELAY, self.flush)

    def flush(self) -> None:
        """Write what the reader will take now; keep the rest for the next flush."""
        self._scheduled = False
        if self.dropped > self._reported_drops and len(self._buffer) < MAX_BUFFERED // 2:
            lost = self.dropped - self._reported_drops
            self._reported_drops = self.dropped
            self._buffer += event_line(
                "dropped",
                lines=lost,
                total=self.dropped,
                message=f"{lost} access lines dropped: the router's output was not read in time",
            )
        buffer = self._buffer
        total = len(buffer)
        done = 0
        with memoryview(buffer) as view:  # writes slices of the buffer without copying them
            while done < total:
                end = total
                if end - done > self._chunk:
                    end = buffer.rfind(b"\n", done, done + self._chunk) + 1 or done + self._chunk
                try:
                    done += os.write(self._fd, view[done:end])
                except BlockingIOError:
                    break
                except OSError as exc:
                    if exc.errno == errno.EPIPE:  # nobody reads any more: discard quietly
                        done = total
                        break
                    raise
        del buffer[:done]  # one move of what is left, if anything
        if buffer and not self._scheduled and self._loop is not None:
            self._scheduled = True
            self._loop.call_later(FLUSH_DELAY * 5, self.flush)

    def close(self, timeout: float = 2.0) -> None:
        """Flush what is left, waiting at most ``timeout`` seconds for a slow reader."""
        self._loop = None
        deadline = time.monotonic() + timeout
        self.flush()
        while self._buffer and (left := deadline - time.monotonic()) > 0:
            try:
                select.select([], [self._fd], [], left)
            except (OSError, ValueError):
                return
            self.flush()
