"""Forwarding audit entries off the machine as they are written (``TWELVE_AUDIT_DRAIN``).

An entry travels as one RFC 5424 message (syslog) or one logplex frame (HTTPS) whose text is the
entry as JSON, through the same drain the app logs use: a bounded buffer, retries with backoff,
and a loss that is counted rather than a request that waits.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from twelve.access.chain import Entry
from twelve.logs.drain_url import parse_drain_url
from twelve.logs.drains import Drain, DrainOptions
from twelve.logs.line import LogLine

HOSTNAME = "twelve-audit"


def entry_line(entry: Entry) -> LogLine:
    """The line an entry travels as: its JSON, hash included, so the copy can be checked too."""
    text = json.dumps(entry.to_json() | {"prev_hash": entry.prev_hash}, sort_keys=True)
    return LogLine(datetime.fromtimestamp(entry.at, UTC), "twelve", "audit", text)


class AuditDrain:
    """Started on the first entry (inside the server's event loop), then fed every entry."""

    def __init__(self, url: str, options: DrainOptions | None = None) -> None:
        self._drain = Drain(parse_drain_url(url), HOSTNAME, options or DrainOptions())
        self._started = False

    def offer(self, entry: Entry) -> None:
        if not self._started:
            asyncio.get_running_loop()  # raises outside the server's loop, before any state changes
            self._drain.start()
            self._started = True
        self._drain.offer(entry_line(entry))

    @property
    def sent(self) -> int:
        return self._drain.sent

    async def stop(self, grace: float = 1.0) -> None:
        if self._started:
            await self._drain.stop(grace)
