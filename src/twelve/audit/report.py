"""A check's result and its text and JSON forms; also the lines a build prints as warnings (pure)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from twelve.audit.findings import FACTORS, Finding, Severity, factor_title
from twelve.audit.ruledocs import RULES

DEFAULT_FAIL_ON = Severity.HIGH


@dataclass(frozen=True)
class Report:
    """Findings (sorted by factor, path, line) and what the scan saw."""

    root: str
    findings: list[Finding]
    files_seen: int
    unparsed: dict[str, str] = field(default_factory=dict)
    suppressed: int = 0
    baselined: int = 0
    fail_on: Severity = DEFAULT_FAIL_ON

    def failing(self, threshold: Severity | None = None) -> list[Finding]:
        """Findings at or above ``threshold`` (the report's ``fail_on`` by default)."""
        limit = self.fail_on if threshold is None else threshold
        return [f for f in self.findings if f.severity >= limit]

    def counts(self) -> dict[str, int]:
        counted = Counter(f.severity for f in self.findings)
        return {s.label: counted[s] for s in sorted(Severity, reverse=True) if counted[s]}

    def factor_status(self) -> dict[int, str]:
        """``pass``, ``warn`` or ``fail`` per factor (1..12)."""
        status = dict.fromkeys(FACTORS, "pass")
        for finding in self.findings:
            if finding.factor not in status:
                continue
            if finding.severity >= self.fail_on:
                status[finding.factor] = "fail"
            elif status[finding.factor] == "pass":
                status[finding.factor] = "warn"
        return status

    def summary_line(self) -> str:
        """``3 findings (1 high, 2 medium)`` for a release description."""
        if not self.findings:
            return "no findings"
        counts = ", ".join(f"{n} {label}" for label, n in self.counts().items())
        plural = "s" if len(self.findings) != 1 else ""
        return f"{len(self.findings)} finding{plural} ({counts})"


def format_text(report: Report) -> str:
    """Findings grouped by factor with a one-line fix each, then the per-factor summary."""
    out: list[str] = []
    groups: dict[int, list[Finding]] = {}
    for finding in report.findings:
        groups.setdefault(finding.factor, []).append(finding)
    for factor in sorted(groups, key=lambda n: (n == 0, n)):
        out.append(factor_title(factor))
        for f in groups[factor]:
            out.append(f"  {f.location}  {f.rule}  [{f.severity.label}]  {f.message}")
            out.append(f"      fix: {RULES[f.rule].fix}")
        out.append("")
    out.append("Summary")
    status = report.factor_status()
    per_factor = Counter(f.factor for f in report.findings)
    for number, state in status.items():
        extra = f" ({per_factor[number]})" if per_factor[number] else ""
        out.append(f"  {factor_title(number):<26} {state}{extra}")
    tail = [f"{report.files_seen} files", report.summary_line()]
    if report.suppressed:
        tail.append(f"{report.suppressed} suppressed")
    if report.baselined:
        tail.append(f"{report.baselined} in baseline")
    if report.unparsed:
        tail.append(f"{len(report.unparsed)} files not fully parsed")
    out.append("")
    out.append("; ".join(tail))
    failing = report.failing()
    verdict = (
        f"{len(failing)} at or above {report.fail_on.label}"
        if failing
        else f"nothing at or above {report.fail_on.label}"
    )
    out.append(verdict)
    return "\n".join(out) + "\n"


def to_json(report: Report) -> str:
    """The whole report for scripts."""
    data = {
        "root": report.root,
        "fail_on": report.fail_on.label,
        "failed": bool(report.failing()),
        "summary": {
            "files": report.files_seen,
            "counts": report.counts(),
            "suppressed": report.suppressed,
            "baselined": report.baselined,
            "factors": {FACTORS[n]: s for n, s in report.factor_status().items()},
        },
        "findings": [f.to_dict() for f in report.findings],
        "unparsed": report.unparsed,
    }
    return json.dumps(data, indent=2) + "\n"


def format_warnings(report: Report) -> list[str]:
    """One line per finding for build output: ``warning: path:line rule-id [severity] message``."""
    return [
        f"warning: {f.location}  {f.rule}  [{f.severity.label}]  {f.message}"
        for f in report.findings
    ]
