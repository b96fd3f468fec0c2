"""Three users with different roles on one app try every command and a git push: each is allowed
or refused with a one-line reason as the role table says; a role change holds from the next
request; a revoked token ends an open log tail; the audit trail names who changed what, never a
config value, verifies, and names the row edited behind the platform's back."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from certmaker import TestCA
from subprocess_support import committed_repo, git, run_cli
from support import EXAMPLES, Daemon, wait_for

pytestmark = pytest.mark.slow
APP = "us-shop"
SECRET = "s3cret-value-never-in-the-audit-7781"


@dataclass
class Person:
    """A user at their own machine: their own config directory, the same server."""

    name: str
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return run_cli(self.env, *args, timeout=timeout)


def person(d: Daemon, name: str, base: Path) -> Person:
    env = dict(d.env, TWELVE_API_URL=d.api_url, XDG_CONFIG_HOME=str(base / name / "config"))
    env["GIT_TERMINAL_PROMPT"] = "0"
    return Person(name, env)


def sign_up(d: Daemon, name: str, base: Path) -> Person:
    """users:create by the platform admin; the user logs in with the invitation's last line."""
    created = d.cli("users:create", name).stdout
    code = created.strip().splitlines()[-1]
    p = person(d, name, base)
    logged = p.run("login", "--invitation", code)
    assert logged.returncode == 0, logged.stderr
    stored = base / name / "config" / "twelve" / "credentials.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert code not in stored.read_text()
    again = p.run("login", "--invitation", code)
    assert again.returncode == 1 and "wrong, used or expired" in again.stderr
    return p


def make_repo(base: Path) -> Path:
    return committed_repo(EXAMPLES / "hello-python", base / "repo")


# Each command, with what it needs: viewer < deployer < admin < platform (a platform admin).
def table(tmp: Path, cert: Path, key: Path, user: str) -> list[tuple[str, list[str]]]:
    a = ["-a", APP]
    return [
        ("viewer", ["apps:info", *a]),
        ("viewer", ["releases", *a]),
        ("viewer", ["config", *a]),
        ("viewer", ["config:get", *a, "SECRET"]),
        ("viewer", ["ps", *a]),
        ("viewer", ["ps:limits", *a]),
        ("viewer", ["logs", *a, "-n", "5"]),
        ("viewer", ["domains", *a]),
        ("viewer", ["certs", *a]),
        ("viewer", ["addons", *a]),
        ("viewer", ["access", *a]),
        ("deployer", ["ps:scale", *a, "web=1"]),
        ("deployer", ["ps:restart", *a]),
        ("deployer", ["run", *a, "--", "python", "-c", "print('one-off ran')"]),
        ("deployer", ["deploy", *a, str(EXAMPLES / "hello-python")]),
        ("deployer", ["rollback", *a]),
        ("admin", ["config:set", *a, f"{user.upper()}_KEY={SECRET}"]),
        ("admin", ["config:unset", *a, f"{user.upper()}_KEY"]),
        ("admin", ["domains:add", *a, f"{user}.example.test"]),
        ("admin", ["domains:remove", *a, f"{user}.example.test"]),
        ("admin", ["drains", *a]),
        ("admin", ["addons:attach", *a, f"smtp://u:{SECRET}@mail.test:25", "--as", "MAIL"]),
        ("admin", ["certs:add", *a, str(cert), str(key)]),
        ("admin", ["certs:remove", *a]),
        ("admin", ["access:add", *a, "eve", "--role", "viewer"]),
        ("admin", ["access:update", *a, "eve", "--role", "deployer"]),
        ("admin", ["access:remove", *a, "eve"]),
        ("admin", ["audit", *a]),
        ("platform", ["apps:create", f"us-{user}"]),
        ("platform", ["users:create", f"{user}-friend"]),
        ("platform", ["users"]),
        ("platform", ["audit"]),
        ("platform", ["audit:verify"]),
    ]


RANK = {"viewer": 1, "deployer": 2, "admin": 3, "platform": 4}


@pytest.fixture(params=["closed", "isolated"])
def mode_home(request: pytest.FixtureRequest) -> Iterator[Path | None]:
    """The daemon's home: pytest's own (closed), or one other users can reach, where each app runs
    as its own system user (needs root, as on a server)."""
    if request.param == "closed":
        yield None
        return
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("per-app users need a root daemon and setpriv (util-linux)")
    base = Path(tempfile.mkdtemp(prefix="twelve-users-", dir="/tmp"))
    base.chmod(0o711)
    yield base / "home"
    shutil.rmtree(base, ignore_errors=True)
    for app in (APP, "us-vera", "us-dave", "us-ada"):
        subprocess.run(["userdel", f"tw-{app}"], capture_output=True, check=False)


@pytest.mark.timeout(900)
def test_three_users_meet_the_role_table_and_the_audit_trail_shows_it(
    mode_home: Path | None, make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    # mode_home comes first so its directory outlives the daemon's teardown.
    d = make_daemon(home=mode_home) if mode_home else make_daemon()
    if mode_home:
        assert "each app runs as its own system user" in d.output()
    d.cli("apps:create", APP)
    d.cli("config:set", "-a", APP, f"SECRET={SECRET}")
    d.cli("deploy", "-a", APP, str(EXAMPLES / "hello-python"))
    people = {name: sign_up(d, name, tmp_path) for name in ("vera", "dave", "ada", "eve")}
    roles = {"vera": "viewer", "dave": "deployer", "ada": "admin"}
    for name, role in roles.items():
        d.cli("access:add", "-a", APP, name, "--role", role)

    # A stored login wins over the server's token file, which this user could read.
    whoami = json.loads(people["vera"].run("auth:whoami", "--json").stdout)
    assert whoami["user"] == "vera" and not whoami["admin"]
    assert APP not in people["eve"].run("apps").stdout  # eve has no role on any app yet
    assert APP in people["vera"].run("apps").stdout

    ca = TestCA()
    cert, key = ca.issue_files(tmp_path / "pem", f"{APP}.localhost")
    for name, role in roles.items():
        p = people[name]
        for needs, args in table(tmp_path, cert, key, name):
            done = p.run(*args)
            where = f"{name} ({role}): twelve {' '.join(args)}"
            if RANK[role] >= RANK[needs]:
                assert done.returncode == 0, f"{where} was refused:\n{done.stderr}"
            else:
                assert done.returncode == 1, f"{where} was allowed:\n{done.stdout}"
                lines = done.stderr.strip().splitlines()
                assert len(lines) == 1 and lines[0].startswith("twelve: "), (where, done.stderr)
                assert f"{name} is" in lines[0] or "platform admin" in lines[0], where
        # Values are for the app's admins; a viewer or deployer sees the key, masked.
        shown = json.loads(p.run("config", "-a", APP, "--reveal", "--json").stdout)
        assert (shown["SECRET"] == SECRET) == (role == "admin"), name

    # git push: refused for the viewer with git showing the reason; the deployer's push deploys.
    repo = make_repo(tmp_path)
    for name in ("vera", "dave"):
        p = people[name]
        remote = subprocess.run(
            [sys.executable, "-m", "twelve", "git:remote", "-a", APP, "-r", name],
            cwd=repo, env=p.env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert remote.returncode == 0, remote.stderr
    refused = git(repo, "push", "vera", "main", env=people["vera"].env)
    assert refused.returncode != 0
    assert "vera is a viewer of us-shop; this needs deployer" in refused.stderr
    pushed = git(repo, "push", "dave", "main", env=people["dave"].env)
    assert pushed.returncode == 0, pushed.stderr
    assert "remote: -----> Released" in pushed.stderr

    # releases says who made each release, the git push included.
    releases = json.loads(d.cli("releases", "-a", APP, "--json").stdout)
    assert releases[0]["by"] == "dave" and releases[0]["commit"]
    assert {r["by"] for r in releases} >= {"admin", "dave", "ada"}
    assert "BY" in d.cli("releases", "-a", APP).stdout

    # A role change holds from the very next request, both ways.
    assert people["vera"].run("ps:restart", "-a", APP).returncode == 1
    d.cli("access:update", "-a", APP, "vera", "--role", "deployer")
    assert people["vera"].run("ps:restart", "-a", APP).returncode == 0
    d.cli("access:update", "-a", APP, "vera", "--role", "viewer")
    again = people["vera"].run("ps:restart", "-a", APP)
    assert again.returncode == 1 and "vera is a viewer" in again.stderr

    # A token revoked while a log tail is open ends the tail.
    made = people["dave"].run("auth:tokens:create", "--description", "tail", "--scope", "read")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    token_id = made.stdout.split("Created token ", 1)[1].split(" ", 1)[0]
    assert token_id in people["dave"].run("auth:tokens").stdout
    tail_env = dict(people["dave"].env, TWELVE_API_TOKEN=token)
    tail = subprocess.Popen(
        [sys.executable, "-m", "twelve", "logs", "-a", APP, "--tail", "-n", "1"],
        env=tail_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        seen: list[str] = []
        assert tail.stdout is not None
        reader = threading.Thread(target=lambda: seen.extend(tail.stdout or []), daemon=True)
        reader.start()
        wait_for(lambda: seen, 30, "the tail's first line")
        assert tail.poll() is None
        assert people["dave"].run("auth:tokens:revoke", token_id).returncode == 0
        code = tail.wait(timeout=15)
        stderr = tail.stderr.read() if tail.stderr else ""
        assert code == 1 and "revoked" in stderr, stderr
    finally:
        if tail.poll() is None:
            os.killpg(tail.pid, signal.SIGKILL)
            tail.wait(10)
        for stream in (tail.stdout, tail.stderr):
            if stream:
                stream.close()
    refused_token = subprocess.run(
        [sys.executable, "-m", "twelve", "auth:whoami"], env=tail_env, capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    assert refused_token.returncode == 1 and "revoked" in refused_token.stderr

    # A failed login is recorded too.
    assert person(d, "nobody", tmp_path).run("login", "--invitation", "wrong").returncode == 1

    # The audit trail: every change, by whom, from where, with its result; never a value.
    entries = json.loads(d.cli("audit", "-n", "1000", "--json").stdout)
    text = json.dumps(entries)
    assert SECRET not in text
    actions = {(e["actor"], e["action"], e["result"].split(":")[0]) for e in entries}
    for expected in [
        ("admin", "config", "ok"),
        ("ada", "config", "ok"),
        ("vera", "config", "refused"),
        ("dave", "scale", "ok"),
        ("dave", "deploy", "ok"),
        ("dave", "rollback", "ok"),
        ("ada", "domains:add", "ok"),
        ("ada", "addons:attach", "ok"),
        ("ada", "certs:add", "ok"),
        ("ada", "access:update", "ok"),
        ("admin", "access:update", "ok"),
        ("dave", "tokens:revoke", "ok"),
        ("unknown", "login", "refused"),
        ("vera", "login", "ok"),
    ]:
        assert expected in actions, expected
    run = next(e for e in entries if e["action"] == "run" and e["actor"] == "dave")
    assert run["details"]["command"] == "python -c print('one-off ran')" or "one-off ran" in str(
        run["details"]
    )
    assert run["result"] == "exited 0"
    config = next(e for e in entries if e["action"] == "config" and e["actor"] == "ada")
    assert config["details"] == {"set": ["ADA_KEY"], "unset": []}
    assert all(e["address"] == "127.0.0.1" for e in entries if e["actor"] != "unknown")
    assert "ada" in d.cli("audit", "-a", APP).stdout

    assert "The audit trail is intact" in d.cli("audit:verify").stdout

    # An entry edited directly in SQLite is named by audit:verify.
    target = entries[len(entries) // 2]["seq"]
    with sqlite3.connect(d.home / "twelve.db") as db:
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("UPDATE audit SET actor = 'mallory' WHERE seq = ?", (target,))
    broken = d.cli("audit:verify", check=False)
    assert broken.returncode == 1
    assert f"audit entry {target} does not match" in broken.stderr

    # The app's admin may destroy it; its roles go with it.
    assert people["ada"].run("apps:destroy", APP, "--confirm", APP).returncode == 0
    d.cli("apps:create", APP)
    assert people["ada"].run("apps:info", "-a", APP).returncode == 1
