"""Suppression comments: ``# twelve: ignore[rule-id] reason`` (or ``//``) on the line or the line above.

A suppression naming no rule, or matching no finding, is itself reported. Secret rules also honour
the markers other secret scanners use, on the same line.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from twelve.audit.findings import Finding
from twelve.audit.roles import language, role
from twelve.audit.ruledocs import RULES
from twelve.audit.snapshot import Snapshot

_MARK = re.compile(r"(?:#|//|/\*)\s*twelve:\s*ignore\b(?:\[([^\]]*)\])?\s*(.*)")
SECRET_PRAGMAS = ("pragma: allowlist secret", "gitleaks:allow", "nosec")


@dataclass(frozen=True)
class Suppression:
    path: str
    line: int
    rules: tuple[str, ...]
    reason: str
    own_line: bool = False

    def covers(self, line: int) -> bool:
        """The same line, or the next one when the comment stands on a line of its own."""
        return line == self.line or (self.own_line and line == self.line + 1)


def _comments(path: str, text: str) -> Iterable[tuple[int, str, bool]]:
    """(line, comment text, alone on its line); Python comments come from the tokenizer, so text
    inside strings is never taken for a suppression."""
    if language(path) == "python":
        try:
            for token in tokenize.generate_tokens(io.StringIO(text).readline):
                if token.type == tokenize.COMMENT:
                    yield token.start[0], token.string, not token.line[: token.start[1]].strip()
        except (tokenize.TokenError, SyntaxError, IndentationError):
            return
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if "twelve:" in line:
            match = _MARK.search(line)
            yield number, line, bool(match and not line[: match.start()].strip())


def find_suppressions(path: str, text: str) -> list[Suppression]:
    """Every ``twelve: ignore`` comment in one file."""
    if "twelve:" not in text:
        return []
    found: list[Suppression] = []
    for line, comment, own_line in _comments(path, text):
        match = _MARK.search(comment)
        if match:
            rules = tuple(r.strip() for r in (match.group(1) or "").split(",") if r.strip())
            found.append(Suppression(path, line, rules, match.group(2).strip(), own_line))
    return found


def _secret_pragma(finding: Finding, snapshot: Snapshot) -> bool:
    if not RULES[finding.rule].secret or finding.line <= 0:
        return False
    text = snapshot.text(finding.path) or ""
    lines = text.splitlines()
    line = lines[finding.line - 1] if finding.line <= len(lines) else ""
    return any(pragma in line for pragma in SECRET_PRAGMAS)


def apply_suppressions(
    findings: list[Finding], snapshot: Snapshot, active: Callable[[str], bool]
) -> tuple[list[Finding], int, list[tuple[str, Suppression]]]:
    """(kept findings, number suppressed, problems) where a problem is (rule id, suppression)."""
    by_path: dict[str, list[Suppression]] = {}
    for path, file in snapshot.files.items():
        if file.text is not None and role(path) == "runtime":
            marks = find_suppressions(path, file.text)
            if marks:
                by_path[path] = marks
    used: set[tuple[str, int, str]] = set()
    kept: list[Finding] = []
    suppressed = 0
    for finding in findings:
        if _secret_pragma(finding, snapshot):
            suppressed += 1
            continue
        # A file-level finding is suppressed by a comment on the file's first line.
        line = finding.line if finding.line > 0 else 1
        match = next(
            (
                s
                for s in by_path.get(finding.path, [])
                if s.covers(line) and finding.rule in s.rules
            ),
            None,
        )
        if match is None:
            kept.append(finding)
            continue
        suppressed += 1
        used.add((match.path, match.line, finding.rule))
    problems: list[tuple[str, Suppression]] = []
    for marks in by_path.values():
        for mark in marks:
            if not mark.rules:
                problems.append(("check.suppression-without-rule", mark))
                continue
            unused = [
                r
                for r in mark.rules
                if (mark.path, mark.line, r) not in used and (r not in RULES or active(r))
            ]
            if unused:
                problems.append(("check.unused-suppression", mark))
    return kept, suppressed, problems
