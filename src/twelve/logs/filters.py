"""Which lines a reader wants: ``--ps``, ``--source``, ``--since`` and ``--grep``. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from twelve.errors import UsageError
from twelve.logs.line import SOURCES, LogLine

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])", re.ASCII)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# A process type (web) or one process (web.1), as the Procfile names them.
_PS = re.compile(r"[A-Za-z0-9_-]{1,63}(\.\d+)?", re.ASCII)


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """Turn ``10m``, ``2h``, ``30s``, ``1d`` or an ISO 8601 time into an aware UTC datetime.

    A duration counts back from ``now``; an ISO time without an offset is taken as UTC.
    """
    value = text.strip()
    match = _DURATION.fullmatch(value.lower())
    if match:
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        return (now or datetime.now(UTC)) - timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--since {text!r} is neither a duration nor a time",
            "use for example 30s, 10m, 2h, 1d or 2026-11-28T12:00:00",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


@dataclass(frozen=True, slots=True)
class LogFilter:
    """A reader's selection. Every field left at None selects everything.

    ``ps`` is a process type (``web``: every web process) or one process (``web.1``); ``source`` is
    one of ``app``, ``router``, ``twelve``; ``since`` keeps lines at or after that time; ``grep``
    keeps lines whose message contains that text (case-sensitive, as ``grep -F``).
    """

    ps: str | None = None
    source: str | None = None
    since: datetime | None = None
    grep: str | None = None

    def __post_init__(self) -> None:
        if self.ps is not None and not _PS.fullmatch(self.ps):
            raise UsageError(f"--ps {self.ps!r} is not a process", "use a type like web or web.1")
        if self.source is not None and self.source not in SOURCES:
            raise UsageError(
                f"--source {self.source!r} is unknown", f"use one of {', '.join(SOURCES)}"
            )
        if self.since is not None and self.since.tzinfo is None:
            object.__setattr__(self, "since", self.since.replace(tzinfo=UTC))

    @classmethod
    def parse(
        cls,
        ps: str | None = None,
        source: str | None = None,
        since: str | None = None,
        grep: str | None = None,
        now: datetime | None = None,
    ) -> LogFilter:
        """Build a filter from the text a user typed (empty strings count as not given)."""
        return cls(
            ps=ps or None,
            source=source or None,
            since=parse_since(since, now) if since else None,
            grep=grep or None,
        )

    @property
    def selects_all(self) -> bool:
        return self.ps is None and self.source is None and self.since is None and not self.grep

    def matches(self, line: LogLine) -> bool:
        """Whether ``line`` is one this reader asked for."""
        if self.source is not None and line.source != self.source:
            return False
        if self.ps is not None and not _same_process(self.ps, line.process):
            return False
        if self.since is not None and line.time < self.since:
            return False
        return not (self.grep and self.grep not in line.message)


def _same_process(ps: str, process: str) -> bool:
    """``web.1`` selects that process only; ``web`` selects every process of the type."""
    if "." in ps:
        return process == ps
    return process == ps or process.split(".", 1)[0] == ps


EVERYTHING = LogFilter()
