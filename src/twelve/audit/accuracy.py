"""Score `twelve check` against a hand-labeled corpus: precision and recall per rule (pure).

A corpus manifest (``tests/corpus/<owner>+<name>.toml``) names a repository, the commit its labels were
made against, its split (``tuning`` or ``held-out``) and labeled locations. A label says that at
``path:line`` the rule ``rule`` is broken (``violation``) or that a look-alike there is ``fine``. Line 0
on a ``fine`` label covers the whole file; on a ``violation`` it is a finding about the whole file.

Findings are matched to labels of the same rule and path, nearest line first, within ``TOLERANCE``
lines (a multi-line call may be reported at its first or its last line), one finding to one label. A
violation found is a true positive; one not found, a false negative; every finding on a ``fine``
label is a false positive. Findings on no label are counted as unlabeled and left out of precision:
the corpus does not say whether they are right.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOLERANCE = 2
SPLITS = ("tuning", "held-out")


@dataclass(frozen=True)
class Label:
    path: str
    line: int
    rule: str
    violation: bool
    reason: str


@dataclass(frozen=True)
class Manifest:
    repository: str
    commit: str
    split: str
    labels: tuple[Label, ...]

    @property
    def slug(self) -> str:
        """The checkout directory name: ``owner+name``."""
        return self.repository.replace("/", "+")


@dataclass(frozen=True)
class Hit:
    """One reported finding, as SARIF gives it."""

    rule: str
    path: str
    line: int


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    unlabeled: int = 0

    def add(self, other: Tally) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.unlabeled += other.unlabeled

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


@dataclass
class Score:
    """Tallies per rule, and the labels behind each miss and false alarm (for review)."""

    rules: dict[str, Tally] = field(default_factory=dict)
    missed: list[tuple[str, Label]] = field(default_factory=list)
    false_alarms: list[tuple[str, Hit, Label]] = field(default_factory=list)

    def tally(self, rule: str) -> Tally:
        return self.rules.setdefault(rule, Tally())

    def overall(self) -> Tally:
        total = Tally()
        for tally in self.rules.values():
            total.add(tally)
        return total


def load_manifest(path: Path) -> Manifest:
    """Read one manifest; ValueError naming the file and the field when it is malformed."""
    try:
        data = tomllib.loads(path.read_text())
        labels = tuple(_label(raw) for raw in data.get("label", []))
        manifest = Manifest(data["repository"], data["commit"], data["split"], labels)
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    if manifest.split not in SPLITS:
        raise ValueError(f"{path}: split must be one of {', '.join(SPLITS)}")
    return manifest


def _label(raw: dict[str, Any]) -> Label:
    verdict = raw["verdict"]
    if verdict not in {"violation", "fine"}:
        raise ValueError(f"verdict must be violation or fine, not {verdict!r}")
    return Label(
        str(raw["path"]),
        int(raw["line"]),
        str(raw["rule"]),
        verdict == "violation",
        str(raw["reason"]),
    )


def load_corpus(directory: Path) -> list[Manifest]:
    return [load_manifest(p) for p in sorted(directory.glob("*.toml"))]


def sarif_hits(sarif: dict[str, Any]) -> list[Hit]:
    """The findings of a SARIF log, as rule, path and line (0 for a whole file)."""
    hits = []
    for run in sarif.get("runs", []):
        for result in run.get("results", []):
            physical = result["locations"][0]["physicalLocation"]
            line = physical.get("region", {}).get("startLine", 0)
            hits.append(Hit(result["ruleId"], physical["artifactLocation"]["uri"], line))
    return hits


def scored_rules(manifests: Iterable[Manifest]) -> frozenset[str]:
    """The rules the corpus has labels for; findings of other rules are not scored."""
    return frozenset(label.rule for m in manifests for label in m.labels)


def score(
    manifest: Manifest,
    hits: Iterable[Hit],
    into: Score | None = None,
    rules: frozenset[str] | None = None,
) -> Score:
    """Add one repository's findings, scored against its labels, to ``into``.

    ``rules`` are the rules scored (by default those labeled in this manifest); a finding of one of
    them on no label counts as unlabeled.
    """
    result = into if into is not None else Score()
    if rules is None:
        rules = scored_rules([manifest])
    for rule in sorted(rules):
        result.tally(rule)
    labels_by_key: dict[tuple[str, str], list[Label]] = {}
    for label in manifest.labels:
        labels_by_key.setdefault((label.rule, label.path), []).append(label)
    found: set[Label] = set()
    for hit in sorted(hits, key=lambda h: (h.rule, h.path, h.line)):
        if hit.rule not in rules:
            continue
        matched = _match(hit, labels_by_key.get((hit.rule, hit.path), []), found)
        tally = result.tally(hit.rule)
        if matched is None:
            tally.unlabeled += 1
        elif matched.violation:
            if matched not in found:
                found.add(matched)
                tally.tp += 1
        else:
            tally.fp += 1
            result.false_alarms.append((manifest.repository, hit, matched))
    for label in manifest.labels:
        if label.violation and label not in found:
            result.tally(label.rule).fn += 1
            result.missed.append((manifest.repository, label))
    return result


def _match(hit: Hit, labels: list[Label], found: set[Label]) -> Label | None:
    """The label ``hit`` counts against: exact line, then the nearest unclaimed within tolerance."""
    for label in labels:
        if label.line == hit.line:
            return label
    whole_file = [lab for lab in labels if lab.line == 0 and not lab.violation]
    if whole_file:
        return whole_file[0]
    near = [
        lab
        for lab in labels
        if lab.line and abs(lab.line - hit.line) <= TOLERANCE and lab not in found
    ]
    near.sort(key=lambda lab: abs(lab.line - hit.line))
    return near[0] if near else None
