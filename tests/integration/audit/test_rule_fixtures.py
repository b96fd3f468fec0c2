"""Every rule against its fixture folder: annotated lines are found, and nothing else is.

In ``tests/fixtures/check/<rule-id>/`` a line carrying ``ruleid: <id>`` must be reported for that rule
and a line carrying ``ok: <id>`` must not. An annotation on a comment-only line covers that line and
the next code line. Findings about whole files (line 0) are listed in the folder's ``EXPECT`` file as
``ruleid: <id> <path>`` or ``ok: <id> <path>`` (``<path>:<line>`` for files that cannot hold comments).
A file named ``<name>.fixture`` is checked as ``<name>``: a ``pyproject.toml`` kept as such without a
lock file beside it would itself be taken for a project whose dependencies are not locked.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from twelve.audit import RULES, Finding, run_check

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "check"
ANNOTATION = re.compile(r"\b(ruleid|ok):\s*([a-z]+\.[a-z0-9.-]+[a-z0-9])")
COMMENT_ONLY = re.compile(r"^\s*(#|//|/\*|<!--)")


def expectations(
    root: Path, rule: str
) -> tuple[set[tuple[str, int]], list[set[tuple[str, int]]], list[set[tuple[str, int]]]]:
    """(every location a finding may be at, groups that must each be found, groups that must not)."""
    allowed: set[tuple[str, int]] = set()
    wanted: list[set[tuple[str, int]]] = []
    banned: list[set[tuple[str, int]]] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel == "EXPECT":
            continue
        lines = path.read_text(errors="replace").splitlines()
        for index, line in enumerate(lines):
            for kind, rule_id in ANNOTATION.findall(line):
                if rule_id != rule:
                    continue
                targets = {(rel, index + 1)}
                if COMMENT_ONLY.match(line):
                    following = next(
                        (
                            n
                            for n in range(index + 1, len(lines))
                            if not COMMENT_ONLY.match(lines[n])
                        ),
                        None,
                    )
                    if following is not None:
                        targets.add((rel, following + 1))
                (wanted if kind == "ruleid" else banned).append(targets)
                if kind == "ruleid":
                    allowed |= targets
    expect = root / "EXPECT"
    if expect.exists():
        for line in expect.read_text().splitlines():
            match = re.match(r"(ruleid|ok):\s*(\S+)\s+(\S+?)(?::(\d+))?$", line.strip())
            if not match or match.group(2) != rule:
                continue
            target = {(match.group(3), int(match.group(4) or 0))}
            (wanted if match.group(1) == "ruleid" else banned).append(target)
            if match.group(1) == "ruleid":
                allowed |= target
    return allowed, wanted, banned


def checked_copy(rule: str, into: Path) -> Path:
    """The fixture folder of ``rule``, copied into ``into`` with each ``.fixture`` suffix dropped."""
    root = into / rule
    shutil.copytree(FIXTURES / rule, root)
    for path in sorted(root.rglob("*.fixture")):
        path.rename(path.with_name(path.name.removesuffix(".fixture")))
    return root


def describe(findings: list[Finding]) -> str:
    return "\n".join(f"  {f.location} {f.rule}: {f.message}" for f in findings) or "  (none)"


@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule_finds_annotated_lines_and_nothing_else(rule: str, tmp_path: Path) -> None:
    """Each rule reports exactly the lines its fixture marks, and none of the traps."""
    assert (FIXTURES / rule).is_dir(), f"rule {rule} has no fixture folder {FIXTURES / rule}"
    root = checked_copy(rule, tmp_path)
    report = run_check(root)
    found = [f for f in report.findings if f.rule == rule]
    locations = {(f.path, f.line) for f in found}
    allowed, wanted, banned = expectations(root, rule)
    assert wanted, f"the fixture for {rule} marks no line with 'ruleid: {rule}'"
    missing = [sorted(group) for group in wanted if not group & locations]
    assert not missing, f"{rule} missed {missing}; it reported:\n{describe(found)}"
    flagged = [sorted(group) for group in banned if group & locations]
    assert not flagged, f"{rule} reported ok-marked lines {flagged}:\n{describe(found)}"
    unexpected = [f for f in found if (f.path, f.line) not in allowed]
    assert not unexpected, f"{rule} reported unmarked lines:\n{describe(unexpected)}"


def test_every_fixture_folder_names_a_rule() -> None:
    """A fixture folder for a renamed or removed rule would silently test nothing."""
    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    assert folders - set(RULES) == set()
