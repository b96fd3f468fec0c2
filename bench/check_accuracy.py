"""Precision and recall of ``twelve check`` on the labeled corpus, per rule and overall, per split.

The corpus is ``tests/corpus/*.toml`` (see ``twelve.audit.accuracy`` for what a label means); the
checkouts come from ``scripts/corpus``. Each repository is audited as a user would run it,
``twelve check PATH --format sarif``, and the SARIF log is what gets scored, so the figures measure
what code scanning consumes. The ``held-out`` split was chosen before any rule was tuned on the
corpus; report it apart from ``tuning``.

Run: ``.venv/bin/python bench/check_accuracy.py [--dest DIR] [--split tuning|held-out]
[--repo NAME] [--sarif-dir DIR] [--reuse] [--misses]``. ``--sarif-dir`` keeps the logs; with ``--reuse`` logs
already there are scored again without re-running the audit. ``--misses`` lists every missed
violation and false alarm.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from twelve.audit.accuracy import (
    SPLITS,
    Score,
    Tally,
    load_corpus,
    sarif_hits,
    score,
    scored_rules,
)

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
DEFAULT_DEST = Path.home() / ".cache" / "twelve" / "check-corpus"


def audit(checkout: Path, out: Path) -> dict[str, object]:
    argv = [sys.executable, "-m", "twelve", "check", str(checkout), "--format", "sarif"]
    argv += ["-o", str(out), "--fail-on", "critical"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise SystemExit(
            f"twelve check {checkout} failed ({done.returncode}): {done.stderr.strip()}"
        )
    data: dict[str, object] = json.loads(out.read_text())
    return data


def figure(value: float | None) -> str:
    return "   -" if value is None else f"{value:4.2f}"


def row(name: str, tally: Tally) -> str:
    return (
        f"  {name:<34} {tally.tp:4d} {tally.fp:4d} {tally.fn:4d} {tally.unlabeled:6d}"
        f"   {figure(tally.precision)}  {figure(tally.recall)}"
    )


def report(split: str, result: Score, repos: int) -> None:
    labels = sum(t.tp + t.fn for t in result.rules.values())
    print(f"\n{split}: {repos} repositories, {labels} labeled violations")
    print(f"  {'rule':<34} {'tp':>4} {'fp':>4} {'fn':>4} {'unlab.':>6}   prec  recall")
    for rule, tally in sorted(result.rules.items()):
        print(row(rule, tally))
    print(row("overall", result.overall()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dest", type=Path, default=DEFAULT_DEST, help="where scripts/corpus put the checkouts"
    )
    parser.add_argument(
        "--split", choices=SPLITS, action="append", help="only this split (repeatable)"
    )
    parser.add_argument("--sarif-dir", type=Path, help="keep each SARIF log here")
    parser.add_argument(
        "--repo", action="append", help="only repositories whose name contains this"
    )
    parser.add_argument("--reuse", action="store_true", help="score logs already in --sarif-dir")
    parser.add_argument(
        "--misses", action="store_true", help="list missed violations and false alarms"
    )
    args = parser.parse_args()
    splits = args.split or list(SPLITS)
    corpus = load_corpus(CORPUS)
    rules = scored_rules(corpus)
    manifests = [
        m
        for m in corpus
        if m.split in splits and (not args.repo or any(r in m.repository for r in args.repo))
    ]
    absent = [m.repository for m in manifests if not (args.dest / m.slug).is_dir()]
    if absent:
        print(f"not checked out (run scripts/corpus): {', '.join(absent)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        logs = args.sarif_dir or Path(scratch)
        logs.mkdir(parents=True, exist_ok=True)
        results = {split: Score() for split in splits}
        counts = dict.fromkeys(splits, 0)
        for manifest in manifests:
            log = logs / f"{manifest.slug}.sarif"
            sarif = (
                json.loads(log.read_text())
                if args.reuse and log.exists()
                else audit(args.dest / manifest.slug, log)
            )
            score(manifest, sarif_hits(sarif), results[manifest.split], rules)
            counts[manifest.split] += 1
    for split in splits:
        report(split, results[split], counts[split])
        if args.misses:
            print_misses(results[split])
    return 0


def print_misses(result: Score) -> None:
    for repo, label in result.missed:
        print(f"    missed {label.rule} {repo}:{label.path}:{label.line} ({label.reason})")
    for repo, hit, label in result.false_alarms:
        print(f"    false  {hit.rule} {repo}:{hit.path}:{hit.line} ({label.reason})")


if __name__ == "__main__":
    sys.exit(main())
