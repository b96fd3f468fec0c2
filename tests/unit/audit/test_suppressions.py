"""Suppression comments: precise, visible when stale, and understood by the secret scanners' markers."""

from __future__ import annotations

from twelve.audit.suppress import find_suppressions
from unit.audit.helpers import check, rules

BASE = {"requirements.txt": "", "Procfile": "web: gunicorn app:app\n"}


def test_a_suppression_names_rules_and_a_reason() -> None:
    text = "x = 1  # twelve: ignore[logs.file-output, port.hardcoded-port] the reason\n"
    (mark,) = find_suppressions("a.py", text)
    assert mark.rules == ("logs.file-output", "port.hardcoded-port")
    assert mark.reason == "the reason"
    assert not mark.own_line


def test_text_in_python_strings_is_not_a_suppression() -> None:
    assert find_suppressions("a.py", 'HELP = "# twelve: ignore[x.y] z"\n') == []
    assert len(find_suppressions("a.js", "const help = 1; // twelve: ignore[x.y] z\n")) == 1


def test_a_suppression_on_the_line_above_covers_the_next_line_only() -> None:
    code = (
        "import logging\n"
        "# twelve: ignore[logs.file-output] shipped to the old agent\n"
        'a = logging.FileHandler("a.log")\n'
        'b = logging.FileHandler("b.log")\n'
    )
    report = check(dict(BASE, **{"app.py": code}))
    assert rules(report) == [("logs.file-output", "app.py", 4)]
    assert report.suppressed == 1


def test_a_trailing_suppression_does_not_reach_the_next_line() -> None:
    code = (
        'import logging\nx = 1  # twelve: ignore[logs.file-output] why\nlogging.FileHandler("a")\n'
    )
    found = rules(check(dict(BASE, **{"app.py": code})))
    assert ("logs.file-output", "app.py", 3) in found
    assert ("check.unused-suppression", "app.py", 2) in found


def test_a_suppression_of_another_rule_does_not_hide_a_finding() -> None:
    code = 'import logging\nlogging.FileHandler("a")  # twelve: ignore[port.hardcoded-port] no\n'
    found = rules(check(dict(BASE, **{"app.py": code})))
    assert ("logs.file-output", "app.py", 2) in found
    assert ("check.unused-suppression", "app.py", 2) in found


def test_secret_scanner_markers_apply_to_secret_rules_only() -> None:
    code = (
        'TOKEN = "9f8a7b6c5d4e3f2a1b0c"  # nosec\n'
        'API_KEY = "0c1b2a3f4e5d6c7b8a9f"  # gitleaks:allow\n'
        'h = __import__("logging").FileHandler("a")  # nosec\n'
    )
    found = rules(check(dict(BASE, **{"app.py": code})))
    assert found == [("logs.file-output", "app.py", 3)]


def test_whole_file_findings_are_suppressed_from_the_first_line() -> None:
    """A finding about a whole file (line 0) is suppressed by a comment on the file's first line."""
    pyproject = '[project]\nname = "a"\ndependencies = ["flask>=3"]\n'
    files = {"pyproject.toml": pyproject, "app.py": "import flask\n", "Procfile": "web: x\n"}
    assert rules(check(files)) == [("deps.missing-lockfile", "pyproject.toml", 0)]
    marked = "# twelve: ignore[deps.missing-lockfile] a library, not an app\n" + pyproject
    report = check(dict(files, **{"pyproject.toml": marked}))
    assert rules(report) == []
    assert report.suppressed == 1
