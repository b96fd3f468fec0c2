"""Build repositories in memory, so rules are tested as pure functions of file contents."""

from __future__ import annotations

from pathlib import Path

from twelve.audit.config import CheckConfig
from twelve.audit.engine import check_snapshot
from twelve.audit.report import Report
from twelve.audit.snapshot import Snapshot, SourceFile


def snapshot(files: dict[str, str | None], untracked: frozenset[str] = frozenset()) -> Snapshot:
    """A repository whose files have these texts (None: listed but not read, like a binary)."""
    return Snapshot(
        Path("/repo"),
        {p: SourceFile(p, t, p not in untracked) for p, t in files.items()},
        git=bool(untracked),
    )


def check(
    files: dict[str, str | None], settings: CheckConfig | None = None, **kwargs: object
) -> Report:
    return check_snapshot(snapshot(files, **kwargs), settings or CheckConfig())  # type: ignore[arg-type]


def rules(report: Report) -> list[tuple[str, str, int]]:
    return [(f.rule, f.path, f.line) for f in report.findings]
