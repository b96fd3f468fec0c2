"""The records the store keeps, as plain frozen values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class App:
    name: str
    created_at: float


@dataclass(frozen=True)
class Build:
    """An immutable slug: the source at one commit plus its isolated dependencies."""

    id: int
    app: str
    status: str  # pending | succeeded | failed
    source: str
    commit: str | None
    builder: str | None
    slug_dir: str | None
    procfile: dict[str, str]
    created_at: float
    finished_at: float | None
    runtime: dict[str, Any] = field(default_factory=dict)  # interpreter, plan steps, durations

    @property
    def short_commit(self) -> str:
        return (self.commit or "")[:7]


@dataclass(frozen=True)
class Release:
    """Build + full config snapshot, numbered per app."""

    app: str
    version: int
    build_id: int | None
    config: dict[str, str]
    procfile: dict[str, str]
    description: str
    created_at: float
    commit: str | None = None
    slug_dir: str | None = None

    @property
    def label(self) -> str:
        return f"v{self.version}"


@dataclass(frozen=True)
class ProcessRecord:
    """What the daemon started, so a later life of the daemon can find and end it."""

    app: str
    name: str
    pid: int
    pgid: int
    start_ticks: int  # /proc/PID/stat starttime: tells a reused PID from ours
    port: int | None
    release: int
    scratch_dir: str | None
