"""Run every rule over a repository and turn raw findings into a report.

Order: rules → settings (enabled rules, severity overrides) → suppression comments → duplicates
dropped → sorted. Baselines are applied by the caller, who owns the baseline file.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from twelve.audit.config import CheckConfig, load_config
from twelve.audit.findings import Finding, ScanError, Severity
from twelve.audit.report import DEFAULT_FAIL_ON, Report
from twelve.audit.roles import language
from twelve.audit.ruledocs import RULES
from twelve.audit.rules import (
    backing,
    config,
    configfiles,
    deps,
    hosts,
    logs,
    ports,
    processes,
    release,
    secrets,
    state,
    uploads,
)
from twelve.audit.scan import PER_FILE, Scan
from twelve.audit.snapshot import Snapshot, read_config_files, take_snapshot
from twelve.audit.suppress import apply_suppressions
from twelve.errors import UsageError

CHECKS: tuple[Callable[[Scan], None], ...] = (
    *secrets.CHECKS,
    *configfiles.CHECKS,
    *hosts.CHECKS,
    *config.CHECKS,
    *backing.CHECKS,
    *deps.CHECKS,
    *release.CHECKS,
    *state.CHECKS,
    *uploads.CHECKS,
    *ports.CHECKS,
    *processes.CHECKS,
    *logs.CHECKS,
)


def run_check(
    path: Path, *, settings: CheckConfig | None = None, fail_on: Severity | None = None
) -> Report:
    """Audit the repository at ``path`` against the twelve factors.

    Settings come from ``[tool.twelve.check]`` unless given. Raises UsageError for a missing path or
    bad settings, ScanError when the tree cannot be read. Never raises for what it finds.
    """
    root = path.resolve()
    if not root.exists():
        raise UsageError(f"{path} does not exist", "give the path of an app's repository")
    if not root.is_dir():
        raise UsageError(f"{path} is not a directory", "give the path of an app's repository")
    settings = settings if settings is not None else load_config(read_config_files(root))
    snapshot = take_snapshot(root, settings.exclude)
    return check_snapshot(snapshot, settings, fail_on=fail_on)


def check_snapshot(
    snapshot: Snapshot, settings: CheckConfig, *, fail_on: Severity | None = None
) -> Report:
    """The rules over an already-read snapshot."""
    scan = Scan(snapshot)
    # Millions of long-lived syntax-tree objects make the cyclic collector rescan them again and
    # again (more than half the scan time on a large tree); they hold no cycles worth collecting.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _run_checks(scan)
    finally:
        if collecting:
            gc.enable()
    return _report(scan, snapshot, settings, fail_on)


# Source files parsed and held at once: memory stays bounded however large the repository is.
BATCH = 1000


def _run_checks(scan: Scan) -> None:
    sources = [f for f in scan.snapshot.files.values() if f.text is not None and language(f.path)]
    per_file = [c for c in CHECKS if c in PER_FILE]
    for start in range(0, max(len(sources), 1), BATCH):
        scan.start_batch(sources[start : start + BATCH])
        for check in per_file:
            _run(scan, check)
    # Whole-repository checks last: they read what the per-file ones gathered.
    scan.start_batch(None)
    for check in CHECKS:
        if check not in PER_FILE:
            _run(scan, check)
    scan.start_batch(None)


def _run(scan: Scan, check: Callable[[Scan], None]) -> None:
    try:
        check(scan)
    except Exception as exc:
        # A rule that breaks means the audit is incomplete: say so, never report partial results.
        raise ScanError(
            f"the check {check.__module__.rsplit('.', 1)[-1]}.{check.__name__} failed: "
            f"{type(exc).__name__}: {exc}",
            "run with --verbose and report it",
        ) from exc


def _report(
    scan: Scan, snapshot: Snapshot, settings: CheckConfig, fail_on: Severity | None
) -> Report:
    findings = [f for f in scan.findings if settings.active(f.rule)]
    findings = [
        replace(f, severity=settings.severity[f.rule]) if f.rule in settings.severity else f
        for f in findings
    ]
    findings, suppressed, problems = apply_suppressions(findings, snapshot, settings.active)
    for rule, mark in problems:
        if not settings.active(rule):
            continue
        names = ", ".join(mark.rules)
        message = (
            "the suppression names no rule"
            if rule == "check.suppression-without-rule"
            else f"the suppression of {names} matches no finding"
        )
        doc = RULES[rule]
        text = snapshot.text(mark.path) or ""
        lines = text.splitlines()
        findings.append(
            Finding(
                rule,
                settings.severity.get(rule, doc.severity),
                doc.confidence,
                mark.path,
                mark.line,
                message,
                snippet=lines[mark.line - 1].strip() if mark.line <= len(lines) else "",
                factor=0,
            )
        )
    unique = {(f.rule, f.path, f.line, f.message): f for f in findings}
    ordered = sorted(
        unique.values(), key=lambda f: (f.factor == 0, f.factor, f.path, f.line, f.rule)
    )
    threshold = fail_on or settings.fail_on or DEFAULT_FAIL_ON
    return Report(
        str(snapshot.root),
        ordered,
        len(snapshot.files),
        dict(scan.unparsed),
        suppressed,
        0,
        threshold,
    )
