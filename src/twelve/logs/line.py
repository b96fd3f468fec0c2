"""One log line of an app's stream: its fields, its text form and its parser. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

SOURCES = ("app", "router", "twelve")
MAX_LINE_BYTES = 10 * 1024

_TEXT = re.compile(r"^(\S+) ([a-z]+)\[([^\]]*)\]: ?(.*)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class LogLine:
    """A line: when, from which source (app, router, twelve), which process, and the message."""

    time: datetime
    source: str
    process: str
    message: str

    def format(self) -> str:
        """``2026-11-28T12:00:00.123456+00:00 app[web.1]: message``."""
        return f"{self.time.isoformat(timespec='microseconds')} {self.source}[{self.process}]: {self.message}"

    def to_json(self) -> dict[str, str]:
        return {
            "time": self.time.isoformat(timespec="microseconds"),
            "source": self.source,
            "process": self.process,
            "message": self.message,
        }

    @property
    def process_type(self) -> str:
        return self.process.split(".", 1)[0]


def now() -> datetime:
    return datetime.now(UTC)


def make_line(source: str, process: str, message: str, time: datetime | None = None) -> LogLine:
    return LogLine(time or now(), source, process, message)


def parse_line(text: str) -> LogLine | None:
    """Parse a line written by ``LogLine.format``; None when it is not one."""
    match = _TEXT.match(text.rstrip("\n"))
    if not match:
        return None
    try:
        time = datetime.fromisoformat(match.group(1))
    except ValueError:
        return None
    return LogLine(time, match.group(2), match.group(3), match.group(4))


def decode_output(data: bytes) -> list[str]:
    """Split raw process output into messages: invalid UTF-8 replaced, long lines split.

    ``data`` holds whole lines (a trailing newline is optional). Lines over MAX_LINE_BYTES (in
    UTF-8, after replacement) are cut into pieces of at most that many bytes, never inside a
    character, so one runaway line cannot grow the journal unbounded.
    """
    # Decoding before splitting gives the same text ("\n" is never part of a UTF-8 sequence)
    # and keeps the common case (short lines, no "\r") to a few C calls.
    text = data.decode("utf-8", "replace")
    messages = text.split("\n")
    if data.endswith(b"\n"):
        messages.pop()
    # A character is at most 4 bytes: only lines this long may need their bytes counted.
    if "\r" not in text and max(map(len, messages), default=0) * 4 <= MAX_LINE_BYTES:
        return messages
    out: list[str] = []
    for message in messages:
        out.extend(_split_long(message.removesuffix("\r")))
    return out


def _split_long(message: str) -> list[str]:
    raw = message.encode()
    if len(raw) <= MAX_LINE_BYTES:
        return [message]
    pieces = []
    while len(raw) > MAX_LINE_BYTES:
        cut = utf8_cut(raw, MAX_LINE_BYTES)
        pieces.append(raw[:cut].decode())
        raw = raw[cut:]
    pieces.append(raw.decode())
    return pieces


def utf8_cut(data: bytes, limit: int) -> int:
    """Where to cut ``data`` at most ``limit`` bytes in without splitting a UTF-8 character.

    Backs off over at most three continuation bytes; invalid input is cut at ``limit`` as is.
    """
    if len(data) <= limit:
        return len(data)
    for back in range(4):
        if limit - back <= 0:
            break
        if data[limit - back] & 0xC0 != 0x80:  # the byte after the cut starts a character
            return limit - back
    return limit
