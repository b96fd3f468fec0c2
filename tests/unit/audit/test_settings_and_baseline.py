"""[tool.twelve.check] settings, and baselines that never store a secret."""

from __future__ import annotations

import json

import pytest

from twelve.audit.baseline import format_baseline, parse_baseline, split_baselined
from twelve.audit.config import load_config
from twelve.audit.findings import Severity
from twelve.errors import UsageError
from unit.audit.helpers import check, rules

APP = {
    "requirements.txt": "flask==3.0.3\n",
    "Procfile": "web: gunicorn -b 0.0.0.0:8000 app:app\n",
    "app.py": 'import logging\nSECRET_KEY = "9f8a7b6c5d4e3f2a1b0c"\nh = logging.FileHandler("a.log")\n',
    "legacy/old.py": 'h = __import__("logging").FileHandler("b.log")\n',
}


def test_settings_disable_rules_override_severity_and_exclude_paths() -> None:
    """Teams tune the audit in pyproject.toml; excluded paths are not read."""
    settings = load_config(
        {
            "pyproject.toml": """
[tool.twelve.check]
disable = ["port.hardcoded-port"]
severity = { "logs.file-output" = "high" }
exclude = ["legacy/"]
fail-on = "medium"
"""
        }
    )
    assert settings.exclude == ("legacy/",)
    assert settings.fail_on is Severity.MEDIUM
    report = check(APP, settings)
    found = rules(report)
    assert ("port.hardcoded-port", "Procfile", 1) not in found
    severities = {f.rule: f.severity for f in report.findings}
    assert severities["logs.file-output"] is Severity.HIGH
    assert report.fail_on is Severity.MEDIUM


def test_enable_runs_only_the_listed_rules() -> None:
    settings = load_config({".twelve.toml": '[check]\nenable = ["logs.file-output"]\n'})
    assert {f.rule for f in check(APP, settings).findings} == {"logs.file-output"}


def test_twelve_toml_wins_over_pyproject() -> None:
    settings = load_config(
        {
            "pyproject.toml": '[tool.twelve.check]\ndisable = ["admin.ssh"]\n',
            ".twelve.toml": '[tool.twelve.check]\ndisable = ["deps.unpinned"]\n',
        }
    )
    assert settings.disable == frozenset({"deps.unpinned"})
    assert settings.source == ".twelve.toml"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[tool.twelve.check]\ndisable = ['no.such-rule']\n", "unknown rule 'no.such-rule'"),
        ("[tool.twelve.check]\ncolour = true\n", "unknown key 'colour'"),
        (
            "[tool.twelve.check]\nseverity = { 'admin.ssh' = 'urgent' }\n",
            "unknown severity 'urgent'",
        ),
        ("[tool.twelve.check]\nexclude = 'docs'\n", "exclude must be a list of strings"),
        ("[tool.twelve.check\n", "not valid TOML"),
    ],
)
def test_bad_settings_are_one_line_errors(text: str, says: str) -> None:
    with pytest.raises(UsageError) as caught:
        load_config({"pyproject.toml": text})
    assert says in caught.value.message
    assert caught.value.message.startswith("pyproject.toml")


def test_baseline_keeps_a_hash_of_secrets_and_survives_line_moves() -> None:
    """Accepted findings stay accepted when code above them moves; new ones still show."""
    report = check(APP)
    text = format_baseline(report.findings)
    assert "9f8a7b6c5d4e3f2a1b0c" not in text
    entry = next(e for e in json.loads(text)["findings"] if e["rule"] == "config.hardcoded-secret")
    assert len(entry["secret_sha256"]) == 64

    moved = dict(
        APP, **{"app.py": "\n\n# moved down\n" + APP["app.py"] + 'TOKEN = "a1b2c3d4e5f6a7b8c9"\n'}
    )
    new, covered = split_baselined(check(moved).findings, parse_baseline(text))
    assert covered == len(report.findings)
    assert [(f.rule, f.line) for f in new] == [("config.hardcoded-secret", 7)]


def test_a_changed_secret_is_a_new_finding() -> None:
    baseline = parse_baseline(format_baseline(check(APP).findings))
    rotated = dict(
        APP, **{"app.py": APP["app.py"].replace("9f8a7b6c5d4e3f2a1b0c", "0c1b2a3f4e5d6c7b8a9f")}
    )
    new, _ = split_baselined(check(rotated).findings, baseline)
    assert [f.rule for f in new] == ["config.hardcoded-secret"]


@pytest.mark.parametrize(
    "text", ["not json", "[]", '{"version": 2, "findings": []}', '{"version": 1, "findings": [{}]}']
)
def test_a_broken_baseline_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError):
        parse_baseline(text, "b.json")
