"""The fuzzing harness CI runs for a minute (``scripts/fuzz``): it runs, and it catches a twin
that differs from the C."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from support import ROOT, require_native_build

HARNESS = ROOT / "tests" / "fuzz" / "hotpath.py"


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(HARNESS.parent)},
    )


def test_the_harness_runs_a_few_thousand_inputs_through_both_builds(tmp_path):
    pytest.importorskip("atheris")
    require_native_build()
    done = _run([str(HARNESS), "-runs=3000", "-seed=1"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Done 3000 runs" in done.stderr


def test_a_python_twin_that_reads_differently_from_the_c_is_reported_with_its_input(tmp_path):
    """Were a twin to drift from the C (here: line_version reading one byte short), the harness
    stops at the first input showing it and names the function, input and both results."""
    pytest.importorskip("atheris")
    require_native_build()
    script = textwrap.dedent(
        """
        import random
        import hotpath as harness
        from twelve.router import hotpath
        real = hotpath.line_version_py
        hotpath.line_version_py = lambda data: real(data)[1:]
        check = harness.Harness(harness.load_c_module())
        inputs = random.Random(1)
        for _ in range(20000):
            try:
                check(inputs.randbytes(64))
            except harness.Mismatch as exc:
                print(exc)
                break
        """
    )
    done = _run(["-c", script], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("line_version("), done.stdout
    assert "\n  C      ('result', " in done.stdout
    assert "\n  Python ('result', " in done.stdout
