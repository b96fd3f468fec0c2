"""What the keeper has to tell the daemon, numbered, kept until acknowledged, bounded. Pure."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    seq: int
    child: int
    payload: bytes  # one encoded message line
    droppable: bool  # output lines are; exits and ends of output never are


class Outbox:
    """Messages in order: sent ones wait for their ack, unsent ones for a daemon.

    Over ``limit`` bytes a new output line pushes out the oldest (sent or not), counted per child in
    ``dropped`` until ``take_drops`` collects the counts for a report. A sent line is counted
    too: unacknowledged, it may not have reached a journal (so a count may include a few that
    did).
    """

    def __init__(self, limit: int, next_seq: int = 1) -> None:
        self.limit = limit
        self.next_seq = next_seq
        self.size = 0
        self.sent: deque[Entry] = deque()
        self.unsent: deque[Entry] = deque()
        self.dropped: dict[int, int] = {}

    def add(self, child: int, make: Callable[[int], bytes], *, droppable: bool = True) -> int:
        """Queue the message ``make(seq)`` builds; its sequence number."""
        seq = self.next_seq
        self.next_seq += 1
        payload = make(seq)
        self.unsent.append(Entry(seq, child, payload, droppable))
        self.size += len(payload)
        # Only output makes room: an exit, an end of output or a count of drops never pushes out
        # a line, so the count that precedes an end of output is the last one that process needs.
        if droppable and self.size > self.limit:
            self._shed()
        return seq

    def _shed(self) -> None:
        for queue in (self.sent, self.unsent):
            kept: list[Entry] = []
            while queue and self.size > self.limit:
                entry = queue.popleft()
                if not entry.droppable:
                    kept.append(entry)
                    continue
                self.size -= len(entry.payload)
                self.dropped[entry.child] = self.dropped.get(entry.child, 0) + 1
            queue.extendleft(reversed(kept))

    def take_unsent(self) -> Entry | None:
        if not self.unsent:
            return None
        entry = self.unsent.popleft()
        self.sent.append(entry)
        return entry

    def ack(self, upto: int) -> None:
        while self.sent and self.sent[0].seq <= upto:
            self.size -= len(self.sent.popleft().payload)

    def resend(self) -> None:
        """A new daemon: everything not acknowledged goes again, in order."""
        self.unsent.extendleft(reversed(self.sent))
        self.sent.clear()

    def take_drops(self) -> dict[int, int]:
        drops, self.dropped = self.dropped, {}
        return drops

    def entries(self) -> list[Entry]:
        return [*self.sent, *self.unsent]
