"""The audit trail's hash chain: each entry holds the hash of the one before it. Pure.

An entry's hash covers its own fields and the previous entry's hash, so changing, removing or
reordering any entry breaks every link after it; ``first_broken`` names where the chain stops
matching what was written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class Entry:
    """One change: who, when, from where, to what, with which result."""

    seq: int
    at: float
    actor: str
    address: str
    app: str | None
    action: str
    details: dict[str, Any] = field(default_factory=dict)
    result: str = "ok"
    release: int | None = None
    prev_hash: str = GENESIS
    hash: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "address": self.address,
            "app": self.app,
            "action": self.action,
            "details": self.details,
            "result": self.result,
            "release": self.release,
            "hash": self.hash,
        }


def details_text(details: dict[str, Any]) -> str:
    """The canonical text of an entry's details, as stored and as hashed."""
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def entry_hash(entry: Entry, details: str | None = None) -> str:
    """The hash of ``entry``'s fields and its ``prev_hash`` (``details`` as stored, if given)."""
    fields = [
        entry.seq,
        entry.at,
        entry.actor,
        entry.address,
        entry.app,
        entry.action,
        details_text(entry.details) if details is None else details,
        entry.result,
        entry.release,
        entry.prev_hash,
    ]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=True).encode()).hexdigest()


def sealed(entry: Entry, prev_hash: str) -> Entry:
    """``entry`` linked after ``prev_hash``, with its own hash."""
    linked = Entry(**{**entry.__dict__, "prev_hash": prev_hash, "hash": ""})
    return Entry(**{**linked.__dict__, "hash": entry_hash(linked)})


@dataclass(frozen=True)
class Break:
    """Where the chain stops matching, and how."""

    seq: int
    reason: str


def first_broken(rows: Iterable[tuple[Entry, str]]) -> Break | None:
    """The first entry, in order, whose link or hash does not match; None for an intact chain.

    ``rows`` are (entry, details as stored) pairs, so a details text edited into something that
    parses to the same value is caught too.
    """
    prev_hash, prev_seq = GENESIS, 0
    for entry, stored_details in rows:
        if entry.seq != prev_seq + 1:
            return Break(entry.seq, f"entry {prev_seq + 1} is missing before entry {entry.seq}")
        if entry.prev_hash != prev_hash:
            return Break(entry.seq, "its link to the entry before it does not match")
        if entry_hash(entry, stored_details) != entry.hash:
            return Break(entry.seq, "its content does not match its hash")
        prev_hash, prev_seq = entry.hash, entry.seq
    return None
