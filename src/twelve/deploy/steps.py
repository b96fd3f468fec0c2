"""The steps a deploy, a rollback or any other change that makes a release is made of.

Each is a plain value: the planners (``plan.py``) decide the sequence from what the store says,
the runner (``runner.py``) does each step's I/O in order, and a test reads the sequence as data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twelve.store.models import Release
from twelve.values import Limits


@dataclass(frozen=True)
class Say:
    """A line to whoever asked for the change (the deploy's output)."""

    text: str


@dataclass(frozen=True)
class LogEvent:
    """A twelve line in the app's log stream, under ``process``."""

    app: str
    process: str
    text: str


@dataclass(frozen=True)
class Notify:
    """An event for the app's webhooks."""

    app: str
    resource: str
    action: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FinishBuild:
    """Write the build's outcome on its record."""

    build_id: int
    status: str  # succeeded | failed
    commit: str | None = None
    builder: str | None = None
    slug_dir: str | None = None
    procfile: dict[str, str] | None = None
    runtime: dict[str, Any] | None = None


@dataclass(frozen=True)
class RemoveDir:
    """What a failed build left on disk."""

    path: Path


@dataclass(frozen=True)
class ChownSlug:
    """Give the slug (its directory, its files, its virtualenv) to the app's user."""

    app: str
    slug_dir: Path


@dataclass(frozen=True)
class RunReleasePhase:
    """The Procfile's ``release:`` command, in the candidate's exact environment; a failure stops
    the plan before anything of the candidate runs."""

    candidate: Release


@dataclass(frozen=True)
class StartRollout:
    """Make the app's processes those of ``release`` at ``formation`` (health-gated with ``gate``)."""

    release: Release
    formation: dict[str, int]
    gate: bool = True


@dataclass(frozen=True)
class RecordRelease:
    """Write ``release`` (the candidate now live); its config becomes the app's config."""

    release: Release


@dataclass(frozen=True)
class SetFormation:
    app: str
    formation: dict[str, int]


@dataclass(frozen=True)
class ReplaceConfig:
    """The app's desired config, for an app with nothing released to carry it."""

    app: str
    config: dict[str, str]


@dataclass(frozen=True)
class SetLimits:
    app: str
    process_type: str
    limits: Limits


@dataclass(frozen=True)
class RunPostdeploy:
    """app.json's ``scripts.postdeploy``, as a one-off in the release the plan recorded."""

    command: str


Step = (
    Say
    | LogEvent
    | Notify
    | FinishBuild
    | RemoveDir
    | ChownSlug
    | RunReleasePhase
    | StartRollout
    | RecordRelease
    | SetFormation
    | ReplaceConfig
    | SetLimits
    | RunPostdeploy
)
Plan = tuple[Step, ...]
