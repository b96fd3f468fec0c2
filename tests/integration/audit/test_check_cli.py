"""``twelve check`` as CI runs it: the real entry point in a subprocess, exit codes, files written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "check"


def twelve(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "twelve", "check", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A small app with one high finding (a secret) and one medium (a fixed port)."""
    (tmp_path / "requirements.txt").write_text("flask==3.0.3\n")
    (tmp_path / "Procfile").write_text("web: gunicorn -b 0.0.0.0:8000 app:app\n")
    (tmp_path / "app.py").write_text('SECRET_KEY = "9f8a7b6c5d4e3f2a1b0c"\n')
    return tmp_path


def test_high_findings_fail_ci_with_exit_1(app: Path) -> None:
    done = twelve(str(app))
    assert done.returncode == 1, done.stderr
    assert "app.py:1  config.hardcoded-secret  [high]" in done.stdout
    assert "Procfile:1  port.hardcoded-port  [medium]" in done.stdout


def test_fail_on_sets_the_threshold(app: Path) -> None:
    (app / "app.py").write_text('import os\nSECRET_KEY = os.environ["SECRET_KEY"]\n')
    assert twelve(str(app)).returncode == 0
    assert twelve(str(app), "--fail-on", "medium").returncode == 1
    (app / "pyproject.toml").write_text('[tool.twelve.check]\nfail-on = "medium"\n')
    assert twelve(str(app)).returncode == 1
    assert twelve(str(app), "--fail-on", "high").returncode == 0


def test_the_default_path_is_the_current_directory(app: Path) -> None:
    assert twelve(cwd=app).returncode == 1


def test_sarif_and_json_go_to_a_file(app: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    out = tmp_path_factory.mktemp("out")
    done = twelve(str(app), "--format", "sarif", "--output", str(out / "check.sarif"))
    assert done.returncode == 1 and done.stdout == ""
    sarif = json.loads((out / "check.sarif").read_text())
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} == {
        "config.hardcoded-secret",
        "port.hardcoded-port",
    }
    data = json.loads(twelve(str(app), "--format", "json").stdout)
    assert data["failed"] is True


def test_a_baseline_lets_ci_fail_only_on_new_findings(
    app: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    baseline = tmp_path_factory.mktemp("b") / "baseline.json"
    written = twelve(str(app), "--write-baseline", str(baseline))
    assert written.returncode == 0
    assert "9f8a7b6c5d4e3f2a1b0c" not in baseline.read_text()
    assert twelve(str(app), "--baseline", str(baseline)).returncode == 0
    (app / "app.py").write_text(
        'SECRET_KEY = "9f8a7b6c5d4e3f2a1b0c"\nAPI_TOKEN = "0c1b2a3f4e5d6c7b8a9f"\n'
    )
    done = twelve(str(app), "--baseline", str(baseline))
    assert done.returncode == 1
    assert "app.py:2  config.hardcoded-secret" in done.stdout
    assert "app.py:1 " not in done.stdout
    assert "2 in baseline" in done.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["/no/such/dir"], "/no/such/dir does not exist"),
        (["--explain", "no.such-rule"], "no rule 'no.such-rule'"),
        (["--fail-on", "urgent"], "Invalid value for '--fail-on'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str], says: str) -> None:
    done = twelve(*args)
    assert done.returncode == 2
    assert says in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_bad_settings_exit_2(app: Path) -> None:
    (app / "pyproject.toml").write_text('[tool.twelve.check]\ndisable = ["nope.rule"]\n')
    done = twelve(str(app))
    assert done.returncode == 2
    assert done.stderr.startswith(
        "twelve: pyproject.toml [tool.twelve.check] disable: unknown rule 'nope.rule'"
    )


def test_a_scan_that_cannot_complete_exits_3_not_1(app: Path) -> None:
    """An unreadable settings file means no verdict: CI must not read it as 'findings'."""
    (app / ".twelve.toml").mkdir()
    done = twelve(str(app))
    assert done.returncode == 3
    assert done.stderr.startswith("twelve: cannot read .twelve.toml")


def test_explain_prints_the_rule_doc() -> None:
    done = twelve("--explain", "state.sticky-sessions")
    assert done.returncode == 0
    assert done.stdout.startswith("state.sticky-sessions  (VI. Processes;")
    assert "Fix: " in done.stdout


def test_list_rules_names_every_rule() -> None:
    done = twelve("--list-rules")
    assert done.returncode == 0
    assert "logs.routing-in-app" in done.stdout and "process.no-sigterm-handler" in done.stdout
