"""One app's log lines on disk: size-rotated text files, each line numbered by a lasting cursor.

Layout, in the app's directory::

    app.log        the active segment: formatted lines, one per text line, "\\n"-terminated
    app.log.idx    its index: fixed 16-byte records (cursor, byte offset) of some line starts
    app.log.1 …    older segments, each with its own .idx, up to app.log.{files-1}
    app.log.next   the cursor mark: cursors below it may have been handed out (see ``reserve``)

Why a side index per segment: the log files stay plain text (``tail``/``grep`` work on them) and
a line's cursor is never written into it, yet every segment says where it starts. Its first record
is (first cursor, 0); another is added at a line start every INDEX_EVERY bytes. So:

* the cursor survives restarts: on open, the last record plus a count of the newlines after it
  (at most INDEX_EVERY bytes and one batch) gives the next cursor;
* it survives rotation: a segment and its index are renamed together and keep their numbers;
* ``read_after(C)`` seeks to the nearest record before C instead of scanning from the start,
  and ``read_last(n)`` reads blocks backwards from the end of the newest segment.

The hub hands out a cursor when a line is published and writes it a moment later; it reserves
cursors ahead in ``app.log.next``. A daemon killed in between leaves the mark beyond the last line,
and the next open continues after the mark: a cursor a reader saw never names another line.

Data is written before its index records, so a crash can leave a torn last line (cut off on open)
or missing records (recounted), never a record pointing at the wrong line. A crash in the middle
of a rotation is finished on the next open. Writes go to the page cache (no fsync per batch): a
daemon crash loses nothing, a power cut may lose the last moments.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from twelve.logs.filters import EVERYTHING, LogFilter
from twelve.logs.line import LogLine, parse_line
from twelve.logs.segment import (
    RECORD,
    Segment,
    ends_with_newline,
    last_newline_end,
    read_backwards,
    read_mark,
    write_all,
)

INDEX_EVERY = 64 * 1024
_BASE = "app.log"


class Journal:
    """The journal of one app. Not thread-safe: the daemon's event loop is its only user."""

    def __init__(self, directory: Path, max_bytes: int, files: int) -> None:
        self.directory = directory
        self.max_bytes = max(1, max_bytes)
        self.files = max(1, files)
        self._fd = -1
        self._idx_fd = -1
        self._broken = False
        self._last_time: datetime | None = None
        self._last_stamp = ""
        directory.mkdir(parents=True, exist_ok=True)
        self._segments = self._open_segments()
        active = self._segments[-1] if self._segments else None
        self._next = active.end if active else 1
        # Cursors up to the mark may have been handed out live before a crash: never reuse them.
        self._reserved = read_mark(self._mark())
        self.unclean = self._reserved > self._next
        self._next = max(self._next, self._reserved)
        if active is not None and active.number == 0 and active.end == self._next:
            self._open_fds()
        else:
            if active is not None and active.number == 0:  # the cursors jump: a new segment
                self._shift()
            self._create_active()

    # -- paths and opening -------------------------------------------------------------------

    def _log(self, number: int) -> Path:
        return self.directory / (_BASE if number == 0 else f"{_BASE}.{number}")

    def _idx(self, number: int) -> Path:
        return self.directory / (f"{_BASE}.idx" if number == 0 else f"{_BASE}.{number}.idx")

    def _orphan_index(self, number: int) -> bool:
        return self._idx(number).exists() and not self._log(number).exists()

    def _unindexed_log(self, number: int) -> bool:
        return self._log(number).exists() and not self._idx(number).exists()

    def _open_segments(self) -> list[Segment]:
        numbers = range(self.files - 1, -1, -1)  # oldest first
        for number in numbers:  # finish a rotation cut between renaming an index and its log
            if number and self._orphan_index(number) and self._unindexed_log(number - 1):
                os.replace(self._log(number - 1), self._log(number))
        segments: list[Segment] = []
        for number in numbers:
            log, idx = self._log(number), self._idx(number)
            if not log.exists():
                idx.unlink(missing_ok=True)
                continue
            start = segments[-1].end if segments else 1
            segment = self._load(number, start)
            if segment is not None:
                segments.append(segment)
        return segments

    def _load(self, number: int, start_if_unindexed: int) -> Segment | None:
        log, idx = self._log(number), self._idx(number)
        size = log.stat().st_size
        with log.open("rb") as f:
            if size and not ends_with_newline(f, size):
                size = last_newline_end(f, size)
                os.truncate(log, size)  # a torn last line from a crash mid-write
        try:
            raw = idx.read_bytes()
        except FileNotFoundError:
            raw = b""
        entries = [
            entry
            for entry in RECORD.iter_unpack(raw[: len(raw) - len(raw) % RECORD.size])
            if entry[1] < size or entry[1] == 0
        ]
        if not entries:  # index lost: number its lines on from the older segment
            entries = [(start_if_unindexed, 0)]
            idx.write_bytes(RECORD.pack(*entries[0]))
        seq, offset = entries[-1]
        with log.open("rb") as f:
            f.seek(offset)
            end = seq + f.read(size - offset).count(b"\n")
        return Segment(number, entries, end, size)

    def _open_fds(self) -> None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        self._fd = os.open(self._log(0), flags, 0o600)
        self._idx_fd = os.open(self._idx(0), flags, 0o600)

    def _close_fds(self) -> None:
        for fd in (self._fd, self._idx_fd):
            if fd >= 0:
                os.close(fd)
        self._fd = self._idx_fd = -1

    def _create_active(self) -> None:
        # The index record first: a crash before the log exists leaves an orphan index, dropped.
        self._idx(0).write_bytes(RECORD.pack(self._next, 0))
        self._open_fds()
        self._segments.append(Segment(0, [(self._next, 0)], self._next, 0))

    def _mark(self) -> Path:
        return self.directory / f"{_BASE}.next"

    def _rotate(self) -> None:
        self._close_fds()
        self._shift()
        self._create_active()

    def _shift(self) -> None:
        """Rename every segment one number up, dropping the oldest."""
        last = self.files - 1
        self._log(last).unlink(missing_ok=True)  # log before index: never an unindexed log
        self._idx(last).unlink(missing_ok=True)
        for number in range(last - 1, -1, -1):
            if self._log(number).exists():
                os.replace(self._idx(number), self._idx(number + 1))
                os.replace(self._log(number), self._log(number + 1))
        kept = []
        for segment in self._segments:
            segment.number += 1
            if segment.number <= last:
                kept.append(segment)
        self._segments = kept

    # -- writing -----------------------------------------------------------------------------

    @property
    def next_cursor(self) -> int:
        """The cursor the next appended line will get."""
        return self._next

    @property
    def last_cursor(self) -> int:
        """The cursor of the newest line (0 when nothing was ever written)."""
        return self._next - 1

    @property
    def first_cursor(self) -> int:
        """The cursor of the oldest line still on disk."""
        return self._segments[0].start if self._segments else self._next

    def append(self, lines: Sequence[LogLine]) -> int:
        """Write ``lines`` in order, rotating by size; return the cursor of the first one.

        On an OSError (disk full) the lines' cursors are used up anyway and the next append starts a
        new segment, so cursors never repeat even when lines were lost; the error is raised.
        """
        first = self._next
        try:
            if self._broken:
                self._rotate()
                self._broken = False
            self._write(lines)
        except OSError:
            self._next = first + len(lines)
            self._broken = True
            raise
        return first

    def _write(self, lines: Sequence[LogLine]) -> None:
        active = self._segments[-1]
        data = "".join(map(self._text, lines)).encode()
        if active.size + len(data) > self.max_bytes:
            self._write_rotating([self._text(line).encode() for line in lines])
            return
        # The common case, all in C: one buffer; index records found by searching for newlines.
        entries: list[tuple[int, int]] = []
        last_entry = active.entries[-1][1]
        while True:
            target = last_entry + INDEX_EVERY - active.size  # where a record is due, in data
            at = 0 if target <= 0 else data.find(b"\n", target - 1) + 1
            if (target > 0 and at == 0) or at >= len(data):
                break
            entries.append((self._next + data.count(b"\n", 0, at), active.size + at))
            last_entry = active.size + at
        self._next += len(lines)
        self._flush(active, [data], entries, active.size + len(data))

    def _write_rotating(self, encoded: list[bytes]) -> None:
        """Write line by line, rotating wherever the next line would not fit."""
        active = self._segments[-1]
        size = active.size
        last_entry = active.entries[-1][1]
        chunks: list[bytes] = []
        entries: list[tuple[int, int]] = []
        for data in encoded:
            if size + len(data) > self.max_bytes and size > 0:
                self._flush(active, chunks, entries, size)
                chunks, entries = [], []
                self._rotate()
                active = self._segments[-1]
                size = last_entry = 0
            if size - last_entry >= INDEX_EVERY:
                entries.append((self._next, size))
                last_entry = size
            chunks.append(data)
            size += len(data)
            self._next += 1
        self._flush(active, chunks, entries, size)

    def _flush(
        self, active: Segment, chunks: list[bytes], entries: list[tuple[int, int]], size: int
    ) -> None:
        if chunks:
            write_all(self._fd, b"".join(chunks))
        if entries:  # after the data, so no record ever points past the end of its log
            write_all(self._idx_fd, b"".join(RECORD.pack(*e) for e in entries))
            active.add_entries(entries)
        active.size = size
        active.end = self._next

    def _text(self, line: LogLine) -> str:
        if line.time is not self._last_time:  # lines read together share a time: format it once
            self._last_time = line.time
            self._last_stamp = line.time.isoformat(timespec="microseconds")
        message = line.message
        if "\n" in message:  # one text line per journal line, whatever a caller passed
            message = message.replace("\n", " ")
        return f"{self._last_stamp} {line.source}[{line.process}]: {message}\n"

    # -- reading -----------------------------------------------------------------------------

    def missing_after(self, cursor: int) -> int:
        """How many lines after ``cursor`` were rotated away (0 when none were)."""
        return max(0, self.first_cursor - (cursor + 1))

    def read_after(
        self, cursor: int, filter: LogFilter = EVERYTHING, limit: int = 1000
    ) -> list[tuple[int, LogLine]]:
        """Up to ``limit`` matching lines after ``cursor``, oldest first, with their cursors."""
        want = cursor + 1
        found: list[tuple[int, LogLine]] = []
        for segment in list(self._segments):
            if segment.end <= want:
                continue
            seq, offset = segment.seek_point(want)
            with self._log(segment.number).open("rb") as f:
                f.seek(offset)
                for raw in f:
                    if seq >= segment.end:
                        break
                    if seq >= want:
                        line = parse_line(raw.decode("utf-8", "replace"))
                        if line is not None and filter.matches(line):
                            found.append((seq, line))
                            if len(found) >= limit:
                                return found
                    seq += 1
        return found

    def read_last(self, n: int, filter: LogFilter = EVERYTHING) -> list[tuple[int, LogLine]]:
        """The last ``n`` matching lines, oldest first, reading backwards from the end."""
        found: list[tuple[int, LogLine]] = []
        if n <= 0:
            return found
        for segment in reversed(list(self._segments)):
            for seq, raw in read_backwards(self._log(segment.number), segment):
                line = parse_line(raw.decode("utf-8", "replace"))
                if line is not None and filter.matches(line):
                    found.append((seq, line))
                    if len(found) >= n:
                        return found[::-1]
        return found[::-1]

    # -- lifecycle ---------------------------------------------------------------------------

    def reserve(self, upto: int) -> int:
        """Record that cursors below ``upto`` may be handed out before they are written.

        A reader can hold a cursor for a line still in the hub's batch; if the daemon dies before
        writing it, the next open starts after the mark, so that cursor never means another line.
        """
        tmp = self._mark().with_suffix(".tmp")
        tmp.write_text(str(upto))
        os.replace(tmp, self._mark())
        self._reserved = upto
        return upto

    def close(self) -> None:
        """Close the files (a clean stop: no cursor is reserved beyond the last line)."""
        if self._reserved > self._next and self._fd >= 0:
            self.reserve(self._next)
        self._close_fds()

    def remove(self) -> None:
        """Delete every file of this journal, and its directory when nothing else is in it."""
        self._close_fds()
        for path in self.directory.glob(f"{_BASE}*"):
            path.unlink(missing_ok=True)
        self._segments = []
        with contextlib.suppress(OSError):
            self.directory.rmdir()
