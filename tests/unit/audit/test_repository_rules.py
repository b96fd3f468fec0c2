"""Rules about the repository as a whole, on both sides of each line they draw."""

from __future__ import annotations

from unit.audit.helpers import check, rules

FLASK = "from flask import Flask\napp = Flask(__name__)\n"


def found(files: dict[str, str | None], rule: str, **kwargs: object) -> list[tuple[str, int]]:
    return [(path, line) for r, path, line in rules(check(files, **kwargs)) if r == rule]


def test_a_manifest_of_any_kind_satisfies_missing_manifest() -> None:
    for manifest in ("requirements.txt", "pyproject.toml", "Pipfile", "setup.py"):
        assert found({"app.py": FLASK, manifest: ""}, "deps.missing-manifest") == [], manifest
    assert found({"app.py": FLASK}, "deps.missing-manifest") == [("app.py", 0)]


def test_tests_and_browser_scripts_do_not_need_a_manifest() -> None:
    """Only runtime code asks for a manifest: tests and static assets are not the app."""
    files = {
        "tests/test_app.py": FLASK,
        "static/js/site.js": "import x from 'y';",
        "Procfile": "web: x\n",
    }
    assert found(files, "deps.missing-manifest") == []


def test_a_lockfile_or_fully_pinned_requirements_satisfy_missing_lockfile() -> None:
    pyproject = '[project]\nname = "a"\ndependencies = ["flask>=3"]\n'
    assert found({"pyproject.toml": pyproject}, "deps.missing-lockfile") == [("pyproject.toml", 0)]
    assert found({"pyproject.toml": pyproject, "uv.lock": None}, "deps.missing-lockfile") == []
    pinned = {"pyproject.toml": pyproject, "requirements.txt": "flask==3.0.3\n"}
    assert found(pinned, "deps.missing-lockfile") == []


def test_a_lockfile_means_ranges_in_requirements_are_pinned() -> None:
    files = {"requirements.txt": "flask>=3\n", "app.py": FLASK}
    assert found(files, "deps.unpinned") == [("requirements.txt", 1)]
    assert found(dict(files, **{"uv.lock": None}), "deps.unpinned") == []


def test_node_apps_with_npm_start_need_no_procfile() -> None:
    """twelve runs npm start as the web process of a Node app without a Procfile, as Heroku does."""
    package = '{"name": "a", "scripts": {"start": "node index.js"}}'
    node = {"index.js": "require('http')", "package.json": package}
    assert found(node, "process.procfile-missing") == []
    assert found({"app.py": FLASK, "requirements.txt": ""}, "process.procfile-missing") == [
        ("Procfile", 0)
    ]
    assert found({"app.py": FLASK, "Procfile.dev": "web: x"}, "process.procfile-missing") == [
        ("Procfile.dev", 0)
    ]


def test_untracked_files_are_not_committed() -> None:
    """With git, only tracked .env files and data files count; a local .env is how it should be."""
    files = {".env": "SECRET_KEY=9f8a7b6c5d4e3f2a1b0c\n", "db.sqlite3": None, "app.py": FLASK}
    untracked = frozenset({".env", "db.sqlite3"})
    assert found(files, "config.committed-dotenv", untracked=untracked) == []
    assert found(files, "state.committed-runtime-data", untracked=untracked) == []
    assert found(files, "config.committed-dotenv") == [(".env", 1)]
    assert found(files, "state.committed-runtime-data") == [("db.sqlite3", 0)]


def test_a_malformed_dotenv_is_reported_as_not_parsed() -> None:
    report = check({".env": "this is not a key value line\n"})
    assert ".env" in report.unparsed
    assert report.findings == [] or all(f.path != ".env" for f in report.findings)


def test_templated_and_broken_sources_never_crash_the_scan() -> None:
    """Cookiecutter-style {{ }} Python and half-written JS are noted as not parsed; the rest is read."""
    files = {
        "{{cookiecutter.name}}/settings.py": "{% if cookiecutter.db %}\nDATABASES = {}\n{% endif %}\n",
        "broken.js": "const x = {\napp.listen(3000);\n",
        "ok.py": 'import logging\nlogging.FileHandler("a.log")\n',
        "requirements.txt": "",
        "Procfile": "web: x\n",
    }
    report = check(files)
    assert set(report.unparsed) == {"{{cookiecutter.name}}/settings.py", "broken.js"}
    assert ("logs.file-output", "ok.py", 2) in rules(report)


def test_secrets_in_findings_are_masked() -> None:
    report = check({"app.py": 'API_TOKEN = "9f8a7b6c5d4e3f2a1b0c"\n', "requirements.txt": ""})
    finding = next(f for f in report.findings if f.rule == "config.hardcoded-secret")
    assert "9f8a7b6c5d4e3f2a1b0c" not in finding.snippet + finding.message
    assert finding.snippet == 'API_TOKEN = "********"'
