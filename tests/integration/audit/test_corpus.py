"""The labeled corpus is sound: every labeled location exists in its repository at the pinned commit.

Accuracy figures come from ``bench/check_accuracy.py``; this only guards the labels themselves, so a
typo in a path or a line past the end of a file cannot silently turn into a missed violation.
Checkouts come from ``scripts/corpus``; where one is absent the test skips, and fails under CI=true
only when the mirror it is prepared from is on this machine.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from twelve.audit.accuracy import Manifest, load_corpus

ROOT = Path(__file__).resolve().parents[3]
CORPUS = load_corpus(ROOT / "tests" / "corpus")
CHECKOUTS = Path.home() / ".cache" / "twelve" / "check-corpus"
MIRRORS = Path("/work/.mirror")


def test_the_corpus_is_large_enough_and_holds_out_a_quarter() -> None:
    violations = sum(label.violation for m in CORPUS for label in m.labels)
    traps = sum(not label.violation for m in CORPUS for label in m.labels)
    held_out = [m for m in CORPUS if m.split == "held-out"]
    assert len(CORPUS) >= 40
    assert violations >= 150
    assert traps >= violations
    assert len(held_out) >= len(CORPUS) // 4


def checkout(manifest: Manifest) -> Path:
    target = CHECKOUTS / manifest.slug
    if (target / ".git").exists():
        return target
    preparable = (MIRRORS / manifest.slug / "repo").exists()
    if os.environ.get("CI") == "true" and preparable:
        pytest.fail(f"{manifest.repository} is not checked out: run scripts/corpus")
    pytest.skip(f"{manifest.repository} is not checked out (scripts/corpus prepares it)")


@pytest.mark.parametrize("manifest", CORPUS, ids=[m.slug for m in CORPUS])
def test_every_label_points_at_a_line_of_the_pinned_commit(manifest: Manifest) -> None:
    target = checkout(manifest)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"],
        cwd=target,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()
    assert head == manifest.commit, f"{target} is at {head}: run scripts/corpus"
    for label in manifest.labels:
        path = target / label.path
        assert path.is_file(), f"{manifest.repository}: {label.path} does not exist"
        lines = path.read_text(errors="replace").splitlines()
        assert label.line <= len(lines), (
            f"{manifest.repository}: {label.path}:{label.line} is past the end"
        )
