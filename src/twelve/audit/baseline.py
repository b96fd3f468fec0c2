"""Baselines: accept today's findings so CI fails only on new ones.

Entries are keyed by the finding's fingerprint (rule, path and normalised snippet, not the line), and
keep a SHA-256 of any secret, never the secret itself.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable

from twelve.audit.findings import Finding
from twelve.errors import UsageError

VERSION = 1


def format_baseline(findings: Iterable[Finding]) -> str:
    """The JSON text of a baseline holding ``findings``."""
    entries = [
        {"fingerprint": f.fingerprint, "rule": f.rule, "path": f.path}
        | ({"secret_sha256": f.secret_hash} if f.secret_hash else {})
        for f in sorted(findings, key=lambda f: (f.path, f.rule, f.fingerprint))
    ]
    return (
        json.dumps({"version": VERSION, "tool": "twelve check", "findings": entries}, indent=2)
        + "\n"
    )


def parse_baseline(text: str, source: str = "baseline") -> Counter[str]:
    """Fingerprints with how many findings each covers; a UsageError for anything else."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{source}: not a baseline file ({exc.msg} at line {exc.lineno})"
        ) from None
    if (
        not isinstance(data, dict)
        or data.get("version") != VERSION
        or not isinstance(data.get("findings"), list)
    ):
        raise UsageError(
            f"{source}: not a version {VERSION} baseline", "write one with --write-baseline"
        )
    counts: Counter[str] = Counter()
    for entry in data["findings"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("fingerprint"), str):
            raise UsageError(f"{source}: every entry needs a fingerprint")
        counts[entry["fingerprint"]] += 1
    return counts


def split_baselined(findings: list[Finding], baseline: Counter[str]) -> tuple[list[Finding], int]:
    """(findings the baseline does not cover, number it covers)."""
    remaining = Counter(baseline)
    new: list[Finding] = []
    covered = 0
    for finding in findings:
        if remaining[finding.fingerprint] > 0:
            remaining[finding.fingerprint] -= 1
            covered += 1
        else:
            new.append(finding)
    return new, covered
