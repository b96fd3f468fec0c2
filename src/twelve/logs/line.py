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

    ``data`` holds whole lines (a trailing newline is optional). Lines over MAX_LINE_BYTES are cut
    into pieces of at most that many bytes so one runaway line cannot grow the journal unbounded.
    """
    messages: list[str] = []
    for raw in data.split(b"\n"):
        chunk = raw.removesuffix(b"\r")
        while len(chunk) > MAX_LINE_BYTES:
            messages.append(chunk[:MAX_LINE_BYTES].decode("utf-8", "replace"))
            chunk = chunk[MAX_LINE_BYTES:]
        messages.append(chunk.decode("utf-8", "replace"))
    if data.endswith(b"\n"):
        messages.pop()
    return messages
