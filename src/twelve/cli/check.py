"""``twelve check [PATH]``: audit a repository against the twelve factors.

Exit codes: 0 nothing at or above ``--fail-on``; 1 findings at or above it; 2 usage or config error;
3 the scan could not complete.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec

import click

from twelve.audit import RULES, ScanError, Severity, run_check
from twelve.audit.baseline import format_baseline, parse_baseline, split_baselined
from twelve.audit.findings import factor_title
from twelve.audit.report import Report, format_text, to_json
from twelve.audit.sarif import to_sarif
from twelve.cli import output
from twelve.errors import TwelveError, UsageError

EXIT_FINDINGS, EXIT_USAGE, EXIT_SCAN = 1, 2, 3
_SEVERITIES = [s.label for s in Severity]
P = ParamSpec("P")
_FILE = click.Path(dir_okay=False, path_type=Path)


def _exit_status(run: Callable[P, int]) -> Callable[P, None]:
    """A command that ends the process with the status ``run`` returns; its errors are printed
    and end it with EXIT_SCAN (the scan could not complete) or EXIT_USAGE."""

    @functools.wraps(run)
    def command(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            code = run(*args, **kwargs)
        except ScanError as exc:
            output.emit_error(exc)
            code = EXIT_SCAN
        except TwelveError as exc:
            output.emit_error(exc)
            code = EXIT_USAGE
        # sys.exit rather than click's Exit: the entry point runs click with standalone_mode=False,
        # where an Exit's code is returned and lost instead of becoming the process's status.
        sys.exit(code)

    return command


@click.command("check")
@click.argument("path", default=".", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
)
@click.option(
    "--output",
    "-o",
    "output_file",
    type=_FILE,
    help="Write the report to FILE.",
)
@click.option(
    "--fail-on",
    type=click.Choice(_SEVERITIES),
    default=None,
    help="Exit 1 at or above this severity [default: high].",
)
@click.option(
    "--baseline",
    "baseline_file",
    type=_FILE,
    help="Report only findings not in FILE.",
)
@click.option(
    "--write-baseline",
    "write_baseline",
    type=_FILE,
    help="Accept today's findings into FILE.",
)
@click.option("--explain", metavar="RULE", help="Print what RULE finds, why, and how to fix it.")
@click.option("--list-rules", is_flag=True, help="List every rule with its factor and severity.")
@_exit_status
def check(
    path: Path,
    fmt: str,
    output_file: Path | None,
    fail_on: str | None,
    baseline_file: Path | None,
    write_baseline: Path | None,
    explain: str | None,
    list_rules: bool,
) -> int:
    """Audit an app's repository against the twelve factors, with file:line evidence."""
    if explain is not None:
        doc = RULES.get(explain)
        if doc is None:
            raise UsageError(f"no rule {explain!r}", "see 'twelve check --list-rules'")
        output.emit(doc.explain().rstrip())
        return 0
    if list_rules:
        # Plain aligned lines: a table would be cut to the terminal width in a pipe.
        width = max(len(rule) for rule in RULES)
        for doc in RULES.values():
            output.emit(
                f"{doc.id:<{width}}  {doc.severity.label:<8}  {factor_title(doc.factor)}: {doc.title}"
            )
        return 0
    report = run_check(path, fail_on=Severity.parse(fail_on) if fail_on else None)
    if baseline_file is not None:
        report = _apply_baseline(report, baseline_file)
    if write_baseline is not None:
        _write(write_baseline, format_baseline(report.findings))
        output.emit(
            f"wrote {len(report.findings)} findings to the baseline {write_baseline}", err=True
        )
        return 0
    rendered = {"text": format_text, "json": to_json, "sarif": to_sarif}[fmt](report)
    if output_file is not None:
        _write(output_file, rendered)
    else:
        output.emit(rendered, nl=False)
    return EXIT_FINDINGS if report.failing() else 0


def _apply_baseline(report: Report, path: Path) -> Report:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the baseline {path}: {exc}") from None
    new, covered = split_baselined(report.findings, parse_baseline(text, str(path)))
    return Report(
        report.root,
        new,
        report.files_seen,
        report.unparsed,
        report.suppressed,
        covered,
        report.fail_on,
    )


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


commands = [check]
