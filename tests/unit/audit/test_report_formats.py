"""What people, scripts and GitHub code scanning read: text, JSON, SARIF, build warnings, docs."""

from __future__ import annotations

import json

import pytest

from twelve.audit import RULES, format_warnings
from twelve.audit.findings import Severity
from twelve.audit.report import format_text, to_json
from twelve.audit.sarif import to_sarif
from unit.audit.helpers import check

APP = {
    "requirements.txt": "flask==3.0.3\n",
    "Procfile": "web: gunicorn -b 0.0.0.0:8000 app:app\n",
    "app.py": 'SECRET_KEY = "9f8a7b6c5d4e3f2a1b0c"\n',
}


def test_text_groups_by_factor_with_a_fix_and_a_summary() -> None:
    text = format_text(check(APP))
    assert text.index("III. Config") < text.index("VII. Port binding")
    assert "  app.py:1  config.hardcoded-secret  [high]  SECRET_KEY is a literal secret\n" in text
    assert f"      fix: {RULES['config.hardcoded-secret'].fix}\n" in text
    assert "  III. Config                fail (1)" in text
    assert "  VII. Port binding          warn (1)" in text
    assert "  XI. Logs                   pass" in text
    assert text.rstrip().endswith("1 at or above high")


def test_json_is_complete_and_never_holds_the_secret() -> None:
    raw = to_json(check(APP))
    data = json.loads(raw)
    assert data["failed"] is True
    assert data["summary"]["counts"] == {"high": 1, "medium": 1}
    assert data["summary"]["factors"]["Config"] == "fail"
    assert {f["rule"] for f in data["findings"]} == {
        "config.hardcoded-secret",
        "port.hardcoded-port",
    }
    assert "9f8a7b6c5d4e3f2a1b0c" not in raw


def test_sarif_has_what_github_code_scanning_needs() -> None:
    """Rules with help and helpUri, results with relative paths, regions and fingerprints,
    security-severity on secret rules."""
    log = json.loads(to_sarif(check(APP)))
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert set(rules) == set(RULES)
    for rule in rules.values():
        assert rule["help"]["text"] and rule["helpUri"].startswith("https://")
        assert rule["shortDescription"]["text"]
    assert rules["config.hardcoded-secret"]["properties"]["security-severity"] == "8.0"
    assert "security-severity" not in rules["port.hardcoded-port"]["properties"]
    results = {r["ruleId"]: r for r in run["results"]}
    secret = results["config.hardcoded-secret"]
    location = secret["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "app.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 1, "startColumn": 1}
    assert len(secret["partialFingerprints"]["twelveFingerprint/v1"]) == 32
    assert secret["level"] == "error"
    assert run["tool"]["driver"]["rules"][secret["ruleIndex"]]["id"] == "config.hardcoded-secret"
    assert results["port.hardcoded-port"]["level"] == "warning"


def test_file_level_results_have_no_region() -> None:
    log = json.loads(to_sarif(check({"app.py": "import flask\n", "Procfile": "web: x\n"})))
    result = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "deps.missing-manifest")
    assert "region" not in result["locations"][0]["physicalLocation"]


def test_build_warnings_and_release_summary() -> None:
    """What a twelve build prints, and the count it puts in the release description."""
    report = check(APP)
    assert format_warnings(report) == [
        "warning: app.py:1  config.hardcoded-secret  [high]  SECRET_KEY is a literal secret",
        "warning: Procfile:1  port.hardcoded-port  [medium]  "
        "the web process binds port 8000 instead of $PORT",
    ]
    assert report.summary_line() == "2 findings (1 high, 1 medium)"
    assert [f.rule for f in report.failing(Severity.HIGH)] == ["config.hardcoded-secret"]
    assert check({"requirements.txt": "", "Procfile": "web: x\n"}).summary_line() == "no findings"


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_rule_explains_what_why_how_and_shows_an_example(rule: str) -> None:
    doc = RULES[rule]
    page = doc.explain()
    for part in (doc.title, "Why: ", "Fix: ", doc.bad.splitlines()[0], doc.good.splitlines()[0]):
        assert part in page
    assert doc.confidence in {"high", "medium", "low"}
    assert 0 <= doc.factor <= 12
