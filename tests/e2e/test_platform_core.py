"""The platform core end to end: the daemon and the CLI as subprocesses, real apps, real processes."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from support import EXAMPLES, Daemon, group_alive, pids_with_env, wait_for

pytestmark = pytest.mark.slow
HELLO = EXAMPLES / "hello-python"


def processes(daemon: Daemon, app: str) -> list[dict[str, Any]]:
    return daemon.cli_json("ps", "-a", app)  # type: ignore[return-value]


def up(daemon: Daemon, app: str, names: set[str]) -> bool:
    states = {p["name"]: p["state"] for p in processes(daemon, app) if p["state"] != "exited"}
    return all(states.get(n) == "up" for n in names)


def body(daemon: Daemon, app: str) -> str:
    response = daemon.get(app)
    assert response.status_code == 200, response.text
    return response.text


def variant(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    """A copy of the hello app with some files replaced."""
    target = tmp_path / name
    shutil.copytree(HELLO, target)
    for rel, text in files.items():
        (target / rel).write_text(text)
    return target


def test_deploy_configure_scale_run_and_roll_back_an_app(
    make_daemon: Callable[..., Daemon],
) -> None:
    """The quickstart story: every core command, against real processes served through the router."""
    d = make_daemon()
    d.cli("apps:create", "hello")
    out = d.cli("deploy", "-a", "hello", str(HELLO)).stdout
    assert "using the python builder" in out and "Released v1" in out
    assert body(d, "hello") == "hello from web.1\n"

    assert "v2" in d.cli("config:set", "-a", "hello", "GREETING=hi").stdout
    assert body(d, "hello") == "hi from web.1\n"
    # Setting the same value again changes nothing, so it makes no release.
    d.cli("config:set", "-a", "hello", "GREETING=hi")

    d.cli("ps:scale", "-a", "hello", "web=2", "worker=1")
    wait_for(
        lambda: up(d, "hello", {"web.1", "web.2", "worker.1"}), 30, "web.1, web.2, worker.1 up"
    )
    seen = {body(d, "hello") for _ in range(6)}
    assert seen == {"hi from web.1\n", "hi from web.2\n"}, (
        "requests are spread over both web processes"
    )
    table = d.cli("ps", "-a", "hello").stdout
    assert "worker.1" in table and "up" in table

    run = d.cli(
        "run", "-a", "hello", "--", "python", "-c", "import os; print(os.environ['GREETING'])"
    )
    assert run.stdout.strip().endswith("hi")
    failing = d.cli("run", "-a", "hello", "--", "sh", "-c", "echo bye; exit 3", check=False)
    assert failing.returncode == 3 and "bye" in failing.stdout

    wait_for(
        lambda: "hi from the worker" in d.cli("logs", "-a", "hello", "-n", "200").stdout,
        30,
        "the worker's line in the logs",
    )
    logs = d.cli("logs", "-a", "hello", "-n", "500", "--ps", "worker").stdout
    assert "app[worker.1]: hi from the worker" in logs
    assert "app[web.1]" not in logs

    releases = d.cli_json("releases", "-a", "hello")
    assert [r["description"] for r in releases] == [
        "Set GREETING",
        "Deploy " + releases[1]["commit"][:7],
    ]  # type: ignore[index]
    d.cli("rollback", "-a", "hello", "v1")
    assert body(d, "hello").startswith("hello from web.")
    latest = d.cli_json("releases", "-a", "hello")[0]  # type: ignore[index]
    assert latest["version"] == 3 and latest["description"] == "Rollback to v1"
    assert d.cli_json("config", "-a", "hello", "--reveal") == {}

    d.cli("apps:destroy", "hello", "--confirm", "hello")
    assert d.get("hello").status_code == 404
    assert [r for r in d.recorded_processes() if r[0] == "hello"] == []


def test_errors_are_one_line_with_a_hint_and_a_non_zero_exit(
    make_daemon: Callable[..., Daemon],
) -> None:
    d = make_daemon()
    cases = [
        (("config", "-a", "nope"), "no app named 'nope'"),
        (("apps:create", "Bad_Name"), "invalid app name"),
        (("config:set", "-a", "nope", "JUSTKEY"), "is not KEY=VALUE"),
    ]
    for args, message in cases:
        result = d.cli(*args, check=False)
        assert result.returncode != 0
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    d.cli("apps:create", "hello")
    d.cli("deploy", "-a", "hello", str(HELLO))
    result = d.cli("ps:scale", "-a", "hello", "clock=1", check=False)
    assert result.returncode == 1 and "no process type 'clock'" in result.stderr
    bad_token = dict(d.env, TWELVE_API_TOKEN="wrong")
    refused = Daemon(d.home, bad_token, d.log_path).cli("apps", check=False)
    assert refused.returncode == 1 and "refused the token" in refused.stderr


def test_cli_says_how_to_start_the_server_when_it_is_not_running(tmp_path: Path) -> None:
    d = Daemon(
        tmp_path, {"PATH": os.environ["PATH"], "TWELVE_HOME": str(tmp_path)}, tmp_path / "log"
    )
    result = d.cli("apps", check=False)
    assert result.returncode == 1
    assert "twelve server" in result.stderr


def test_a_killed_web_process_comes_back_and_a_crash_loop_backs_off(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    d = make_daemon()
    d.cli("apps:create", "hello")
    app = variant(
        tmp_path, "crashy", {"Procfile": "web: python app.py\ncrasher: echo boom; exit 7\n"}
    )
    d.cli("deploy", "-a", "hello", str(app))
    web = next(p for p in processes(d, "hello") if p["name"] == "web.1")
    os.kill(web["pid"], signal.SIGKILL)

    def restarted() -> bool:
        now = next(p for p in processes(d, "hello") if p["name"] == "web.1")
        return now["state"] == "up" and now["restarts"] >= 1 and now["pid"] != web["pid"]

    wait_for(restarted, 30, "web.1 to be restarted")
    assert body(d, "hello") == "hello from web.1\n"

    d.cli("ps:scale", "-a", "hello", "crasher=1")

    def backing_off() -> dict[str, Any] | None:
        crasher = next(p for p in processes(d, "hello") if p["name"] == "crasher.1")
        return crasher if crasher["restarts"] >= 2 and crasher["state"] == "crashed" else None

    crasher = wait_for(backing_off, 30, "crasher.1 to crash repeatedly")
    assert crasher["last_exit"] == "exited with code 7"
    assert crasher["next_attempt_at"] is not None
    logs = d.cli("logs", "-a", "hello", "-n", "500", "--ps", "crasher").stdout
    assert "app[crasher.1]: boom" in logs
    assert "twelve[crasher.1]: Process exited with code 7" in logs
    assert "Restarting in" in logs


def test_a_deploy_that_never_comes_up_leaves_the_old_release_serving(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    d = make_daemon(TWELVE_BOOT_TIMEOUT="3")
    d.cli("apps:create", "hello")
    d.cli("deploy", "-a", "hello", str(HELLO))
    broken = variant(
        tmp_path, "broken", {"Procfile": "web: echo cannot start: missing thing; exit 1\n"}
    )
    result = d.cli("deploy", "-a", "hello", str(broken), check=False)
    assert result.returncode == 1
    assert "did not become healthy" in result.stderr and "cannot start" in result.stderr
    assert body(d, "hello") == "hello from web.1\n"
    assert [r["version"] for r in d.cli_json("releases", "-a", "hello")] == [1]  # type: ignore[union-attr]

    failing_build = variant(
        tmp_path, "nodeps", {"requirements.txt": "this-package-does-not-exist-12x==1.0\n"}
    )
    result = d.cli("deploy", "-a", "hello", str(failing_build), check=False)
    assert result.returncode == 1 and "build step" in result.stderr
    assert body(d, "hello") == "hello from web.1\n"


def test_the_api_token_and_the_daemons_environment_never_reach_an_app(
    make_daemon: Callable[..., Daemon],
) -> None:
    d = make_daemon(TWELVE_API_TOKEN="token-that-must-not-leak-5150")
    d.cli("apps:create", "hello")
    d.cli("deploy", "-a", "hello", str(HELLO))
    d.cli("ps:scale", "-a", "hello", "worker=1")
    wait_for(lambda: up(d, "hello", {"web.1", "worker.1"}), 30, "web and worker up")
    pids = pids_with_env("TWELVE_APP", "hello")
    assert len(pids) >= 2
    for pid in pids:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        assert b"token-that-must-not-leak-5150" not in environ
        assert b"TWELVE_HOME" not in environ and b"TWELVE_API" not in environ
    printed = d.cli("run", "-a", "hello", "--", "env").stdout
    assert "token-that-must-not-leak" not in printed and "DYNO=run." in printed


def test_sigterm_stops_everything_and_sigkill_then_restart_adopts_without_orphans(
    make_daemon: Callable[..., Daemon],
) -> None:
    d = make_daemon()
    d.cli("apps:create", "hello")
    d.cli("deploy", "-a", "hello", str(HELLO))
    d.cli("ps:scale", "-a", "hello", "web=2", "worker=1")
    wait_for(lambda: up(d, "hello", {"web.1", "web.2", "worker.1"}), 30, "formation up")

    before = d.recorded_processes()
    assert {name for _, name, _, _ in before} >= {"web.1", "web.2", "worker.1", "router"}
    assert d.stop(signal.SIGKILL) == -signal.SIGKILL
    assert all(group_alive(pgid) for *_, pgid in before), "children outlive a SIGKILLed daemon"

    d.start()
    wait_for(lambda: up(d, "hello", {"web.1", "web.2", "worker.1"}), 30, "formation adopted")
    assert body(d, "hello").startswith("hello from web.")
    after = d.recorded_processes()
    assert sorted(after) == sorted(before), "the restarted daemon adopted the same processes"

    started = time.monotonic()
    assert d.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 30
    for *_, pgid in after:
        assert not group_alive(pgid), "SIGTERM leaves no process behind"
    assert d.recorded_processes() == []


def test_after_a_daemon_restart_an_app_that_cannot_boot_yet_keeps_being_retried(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    """Bringing formations back is not health-gated: the restart policy keeps trying."""
    flag = tmp_path / "database-is-up"
    flag.touch()
    app = variant(tmp_path, "needs-db", {"Procfile": f"web: test -e {flag} && python app.py\n"})
    d = make_daemon()
    d.cli("apps:create", "hello")
    d.cli("deploy", "-a", "hello", str(app))
    d.stop()
    flag.unlink()
    d.start()

    def retrying() -> bool:
        web = next(p for p in processes(d, "hello") if p["name"] == "web.1")
        return web["restarts"] >= 2

    wait_for(retrying, 30, "web.1 to be retried")
    flag.touch()
    wait_for(lambda: up(d, "hello", {"web.1"}), 30, "web.1 up once it can boot")
    assert body(d, "hello") == "hello from web.1\n"


def test_a_config_change_that_breaks_the_app_is_refused_and_changes_nothing(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    app = variant(tmp_path, "fragile", {"Procfile": 'web: test -z "$BREAK" && python app.py\n'})
    d = make_daemon(TWELVE_BOOT_TIMEOUT="5")
    d.cli("apps:create", "hello")
    d.cli("deploy", "-a", "hello", str(app))
    refused = d.cli("config:set", "-a", "hello", "BREAK=1", check=False)
    assert refused.returncode == 1 and "did not become healthy" in refused.stderr
    assert body(d, "hello") == "hello from web.1\n"
    assert d.cli_json("config", "-a", "hello", "--reveal") == {}
    assert [r["version"] for r in d.cli_json("releases", "-a", "hello")] == [1]  # type: ignore[union-attr]
