"""The pieces of a journal segment: its index records, reading it backwards, small file helpers."""

from __future__ import annotations

import bisect
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

RECORD = struct.Struct("<QQ")  # (cursor, byte offset of that line)
BLOCK = 64 * 1024


@dataclass
class Segment:
    """One file of a journal: its number, index records, cursor range and size."""

    number: int
    entries: list[tuple[int, int]]  # (cursor, byte offset), sorted; the first is (start, 0)
    end: int  # the cursor after its last line
    size: int
    seqs: list[int] = field(default_factory=list)  # entries' cursors, for bisect

    def __post_init__(self) -> None:
        self.seqs = [seq for seq, _ in self.entries]

    @property
    def start(self) -> int:
        return self.entries[0][0]

    def add_entries(self, entries: list[tuple[int, int]]) -> None:
        self.entries.extend(entries)
        self.seqs.extend(seq for seq, _ in entries)

    def seek_point(self, cursor: int) -> tuple[int, int]:
        """The indexed (cursor, offset) at or before ``cursor``."""
        at = bisect.bisect_right(self.seqs, cursor) - 1
        return self.entries[max(at, 0)]


def read_backwards(path: Path, segment: Segment) -> Iterator[tuple[int, bytes]]:
    """(cursor, raw line) of ``segment`` from its last line to its first."""
    seq = segment.end - 1
    if segment.size == 0:
        return
    with path.open("rb") as f:
        pos = segment.size - 1  # the final "\n": never a line of its own
        carry = b""
        while pos > 0:
            step = min(BLOCK, pos)
            pos -= step
            f.seek(pos)
            parts = (f.read(step) + carry).split(b"\n")
            carry = parts[0]
            for raw in reversed(parts[1:]):
                yield seq, raw
                seq -= 1
        yield seq, carry


def read_mark(path: Path) -> int:
    """The cursor mark in ``path``; 0 when there is none."""
    try:
        return int(path.read_text().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def write_all(fd: int, data: bytes) -> None:
    """os.write until every byte is written."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def ends_with_newline(f: BinaryIO, size: int) -> bool:
    f.seek(size - 1)
    return f.read(1) == b"\n"


def last_newline_end(f: BinaryIO, size: int) -> int:
    """The length of the file's longest prefix made of whole lines."""
    pos = size
    while pos > 0:
        step = min(BLOCK, pos)
        pos -= step
        f.seek(pos)
        block = f.read(step)
        at = block.rfind(b"\n")
        if at >= 0:
            return pos + at + 1
    return 0
