"""``twelve check``: audit a repository against the twelve factors, with file and line evidence.

The build pipeline calls ``run_check(path)`` and prints ``format_warnings(report)``; the CLI adds
output formats, baselines and exit codes on top.
"""

from __future__ import annotations

from twelve.audit.config import CheckConfig, load_config
from twelve.audit.engine import run_check
from twelve.audit.findings import Finding, ScanError, Severity
from twelve.audit.report import Report, format_warnings
from twelve.audit.ruledocs import RULES, RuleDoc

__all__ = [
    "RULES",
    "CheckConfig",
    "Finding",
    "Report",
    "RuleDoc",
    "ScanError",
    "Severity",
    "format_warnings",
    "load_config",
    "run_check",
]
