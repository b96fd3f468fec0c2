"""Heroku apps run unchanged: git push over smart HTTP, the release phase, app.json, Node and Python."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from subprocess_support import committed_repo, git
from support import EXAMPLES, FIXTURE_APPS, Daemon, requires_service

pytestmark = pytest.mark.slow


def make_repo(tmp_path: Path, source: Path, name: str) -> Path:
    return committed_repo(source, tmp_path / name)


def push_env(daemon: Daemon) -> dict[str, str]:
    env = dict(os.environ)
    env.update({k: v for k, v in daemon.env.items() if k.startswith("TWELVE_")})
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


def commit(repo: Path, rel: str, text: str) -> None:
    (repo / rel).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", f"change {rel}")


def test_git_push_deploys_streams_output_and_rejects_what_it_cannot_release(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    d = make_daemon()
    d.cli("apps:create", "hello")
    repo = make_repo(tmp_path, EXAMPLES / "hello-python", "hello")
    remote = subprocess.run(
        [*d.cli_argv(), "git:remote", "-a", "hello"],
        cwd=repo,
        env=d.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert remote.returncode == 0, remote.stderr
    env = push_env(d)

    pushed = git(repo, "push", "twelve", "main", env=env)
    assert pushed.returncode == 0, pushed.stderr
    assert "remote: -----> Detection order" in pushed.stderr
    assert "remote: -----> Released v1" in pushed.stderr
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    assert d.cli_json("releases", "-a", "hello")[0]["commit"] == head  # type: ignore[index]
    assert d.get("hello").text == "hello from web.1\n"

    # A release phase that fails rejects the push and leaves v1 serving.
    commit(repo, "Procfile", "release: echo migrating; exit 2\nweb: python app.py\n")
    rejected = git(repo, "push", "twelve", "main", env=env)
    assert rejected.returncode != 0
    assert (
        "remote: twelve: push rejected: the release command exited with code 2" in rejected.stderr
    )
    assert "migrating" in rejected.stderr
    assert d.get("hello").text == "hello from web.1\n"

    # Another branch is refused with a hint; HEAD:main and force pushes work.
    git(repo, "checkout", "--quiet", "-b", "feature")
    commit(repo, "Procfile", "release: echo migrated\nweb: python app.py\n")
    refused = git(repo, "push", "twelve", "feature", env=env)
    assert refused.returncode != 0 and "only main or master deploy" in refused.stderr
    forced = git(repo, "push", "--force", "twelve", "HEAD:main", env=env)
    assert forced.returncode == 0, forced.stderr
    assert "remote:        migrated" in forced.stderr
    assert [r["version"] for r in d.cli_json("releases", "-a", "hello")] == [2, 1]  # type: ignore[union-attr]

    bad = dict(env, TWELVE_API_TOKEN="wrong-token")
    denied = git(repo, "push", "twelve", "HEAD:main", env=bad)
    assert denied.returncode != 0
    assert "Authentication failed" in denied.stderr or "401" in denied.stderr


def test_an_express_app_runs_with_npm_start_on_the_node_its_engines_ask_for(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    """No Procfile: web is npm start; engines.node 18.x installs Node.js 18 from the npm registry."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    d = make_daemon()
    d.cli("apps:create", "express")
    out = d.cli("deploy", "-a", "express", str(FIXTURE_APPS / "express-app")).stdout
    assert "using the node builder" in out
    assert "Downloading Node.js 18." in out and "runtime node@18." in out, out
    assert "build script ran" in out
    text = d.get("express").text
    assert text == "express web.1 built-at-build-time proto=http\n"
    version = d.cli("run", "-a", "express", "--", "node", "--version").stdout
    assert version.startswith("v18."), version
    again = d.cli("deploy", "-a", "express", str(FIXTURE_APPS / "express-app")).stdout
    assert "Downloading Node.js" not in again, "the next build reuses the runtime"

    impossible = tmp_path / "impossible"
    shutil.copytree(FIXTURE_APPS / "express-app", impossible)
    package = impossible / "package.json"
    package.write_text(package.read_text().replace('"18.x"', '"99.x"'))
    failed = d.cli("deploy", "-a", "express", str(impossible), check=False)
    assert failed.returncode == 1 and "no Node.js release satisfies" in failed.stderr
    assert d.get("express").text == text, "the running release keeps serving"


def test_a_flask_app_gets_gunicorn_web_concurrency_and_a_fallback_patch_version(
    make_daemon: Callable[..., Daemon],
) -> None:
    d = make_daemon()
    d.cli("apps:create", "flask")
    out = d.cli("deploy", "-a", "flask", str(FIXTURE_APPS / "flask-gunicorn")).stdout
    assert "Python 3.11.99 is not installed; using 3.11." in out
    assert d.get("flask").text == "flask web.1 concurrency=2 proto=http\n"


def _postgres_url(name: str) -> str | None:
    psql = shutil.which("psql")
    if psql is None:
        return None
    base = [
        "psql",
        "-h",
        "127.0.0.1",
        "-U",
        "postgres",
        "-d",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
    ]
    ok = (
        subprocess.run([*base, "SELECT 1"], capture_output=True, timeout=30, check=False).returncode
        == 0
    )
    if not ok:
        return None
    subprocess.run(
        [*base, f"DROP DATABASE IF EXISTS {name}"], capture_output=True, timeout=30, check=False
    )
    subprocess.run([*base, f"CREATE DATABASE {name}"], capture_output=True, timeout=30, check=True)
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def test_a_django_app_migrates_in_its_release_phase_and_needs_its_required_config(
    make_daemon: Callable[..., Daemon],
) -> None:
    url = _postgres_url("twelve_django_fixture")
    requires_service("PostgreSQL", url is not None)
    assert url is not None
    d = make_daemon()
    d.cli("apps:create", "django")
    source = str(FIXTURE_APPS / "django-postgres")
    missing = d.cli("deploy", "-a", "django", source, check=False)
    assert missing.returncode == 1
    assert "app.json requires config that is not set: DATABASE_URL" in missing.stderr

    d.cli("config:set", "-a", "django", f"DATABASE_URL={url}")
    out = d.cli("deploy", "-a", "django", source).stdout
    assert "Run Django's collectstatic" in out
    assert "Applying notes.0001_initial" in out
    config = d.cli_json("config", "-a", "django", "--reveal")
    assert len(config["SECRET_KEY"]) == 64  # type: ignore[index]
    assert d.get("django", "/add?text=x").text == "added\n"
    assert d.get("django").text == "notes=1 dyno=web.1 scheme=http\n"
    logs = d.cli("logs", "-a", "django", "-n", "300", "--ps", "release").stdout
    assert "Applying notes.0001_initial... OK" in logs


def test_app_json_formation_and_postdeploy_apply_to_the_first_deploy_only(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    app = tmp_path / "seeded"
    shutil.copytree(EXAMPLES / "hello-python", app)
    (app / "Procfile").write_text(
        "release: echo migrating\nweb: python app.py\nworker: python worker.py\n"
    )
    (app / "app.json").write_text(
        '{"formation": {"worker": {"quantity": 1}}, "scripts": {"postdeploy": "echo seeding the database"},'
        ' "env": {"GREETING": {"value": "howdy"}}}'
    )
    d = make_daemon()
    d.cli("apps:create", "seeded")
    first = d.cli("deploy", "-a", "seeded", str(app)).stdout
    assert (
        "Running postdeploy: echo seeding the database" in first and "seeding the database" in first
    )
    assert d.get("seeded").text == "howdy from web.1\n"
    assert {p["name"] for p in d.cli_json("ps", "-a", "seeded")} == {"web.1", "worker.1"}  # type: ignore[union-attr]
    second = d.cli("deploy", "-a", "seeded", str(app)).stdout
    assert "postdeploy" not in second and "migrating" in second
    rolled = d.cli("rollback", "-a", "seeded", "v1").stdout
    assert "release command ran again" in rolled
    logs = d.cli("logs", "-a", "seeded", "-n", "500", "--ps", "release").stdout
    assert logs.count("app[release.") >= 3, "the release phase ran on both deploys and the rollback"


def test_builds_report_twelve_check_findings_and_strict_mode_refuses_high_ones(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    app = tmp_path / "leaky"
    shutil.copytree(EXAMPLES / "hello-python", app)
    (app / "settings.py").write_text('SECRET_KEY = "9f8e7d6c5b4a39281706f5e4d3c2b1a0fedcba98"\n')
    d = make_daemon()
    d.cli("apps:create", "leaky")
    out = d.cli("deploy", "-a", "leaky", str(app)).stdout
    assert "warning: settings.py:1  config.hardcoded-secret" in out
    assert "9f8e7d6c5b4a" not in out, "the secret itself is never printed"
    description = d.cli_json("releases", "-a", "leaky")[0]["description"]  # type: ignore[index]
    assert "(check: 1 finding" in description
    d.cli("config:set", "-a", "leaky", "TWELVE_CHECK=strict")
    refused = d.cli("deploy", "-a", "leaky", str(app), check=False)
    assert refused.returncode == 1 and "TWELVE_CHECK=strict" in refused.stderr
    assert d.get("leaky").status_code == 200, "the running release keeps serving"
