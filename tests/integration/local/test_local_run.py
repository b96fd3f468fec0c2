"""`twelve local` as a user runs it: real Procfiles, process groups, signals and exit codes."""

from __future__ import annotations

import re
import signal
from pathlib import Path

from integration.local.localrun import Launcher
from support import group_alive, wait_for


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_ports_formation_and_dotenv_over_the_shell_as_foreman_runs_them(
    launcher: Launcher,
) -> None:
    """-m web=2,worker=1: ports 5000, 5001, 5100; .env over the shell; no release; plain in a pipe."""
    run = launcher.start("-m", "web=2,worker=1", TWELVE_API_TOKEN="secret")
    for dyno in ("web.1", "web.2", "worker.1"):
        run.wait_for_text(f"DYNO={dyno} ")
    run.send(signal.SIGINT)
    assert run.wait() == 130, run.text()
    lines = run.lines()
    web = next(line for line in lines if "DYNO=web.1 " in line)
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d web\.1 +\| DYNO=web\.1 PORT=5000 COLOR=from-dotenv "
        r"GREETING=hello, world SHELL_ONLY=yes PYTHONUNBUFFERED=1 TWELVE_APP=app "
        r"TWELVE_API_TOKEN=-",
        web,
    ), web
    assert any(line.endswith("| DYNO=web.2 PORT=5001 COLOR=from-dotenv GREETING=hello, world "
                             "SHELL_ONLY=yes PYTHONUNBUFFERED=1 TWELVE_APP=app TWELVE_API_TOKEN=-")
               for line in lines)  # fmt: skip
    assert any(line.endswith("| DYNO=worker.1 PORT=5100 COLOR=from-dotenv") for line in lines)
    assert "release-ran" not in run.text(), "release is not a long-running type"
    assert "twelve[local] | web.2 started with pid" in run.text()
    assert "\x1b[" not in run.text(), "no colours in a pipe"
    assert launcher.leftovers() == []


def test_named_types_env_files_port_option_and_bare_lines(launcher: Launcher) -> None:
    """`twelve local worker -e extra.env -p 7000 --no-prefix`: one worker on 7100, extra.env's value."""
    run = launcher.start("worker", "-e", "extra.env", "-p", "7000", "--no-prefix")
    run.wait_for_text("DYNO=worker.1")
    run.send(signal.SIGTERM)
    assert run.wait() == 143
    assert "DYNO=worker.1 PORT=7100 COLOR=from-extra" in run.lines()
    assert "DYNO=web" not in run.text()


def test_the_first_exit_stops_the_rest_and_becomes_the_exit_code(launcher: Launcher) -> None:
    """A crashing process ends the run with its code; bad bytes and a last partial line show."""
    run = launcher.start("-f", "Procfile.exit", "--no-timestamp")
    assert run.wait() == 4, run.text()
    lines = run.lines()
    assert "broken.1      | bad \ufffd\ufffd bytes" in lines
    assert "broken.1      | no newline at the end" in lines
    assert "twelve[local] | broken.1 exited with code 4" in lines
    assert "twelve[local] | web.1 killed by SIGTERM" in lines, run.text()
    assert launcher.leftovers() == []


def test_ctrl_c_stops_every_process_group_including_grandchildren(launcher: Launcher) -> None:
    """SIGINT to `twelve local` (what a terminal sends) ends every group, grandchildren too."""
    run = launcher.start("-f", "Procfile.family")
    run.wait_for_text("family up", count=2)
    wait_for(lambda: len(launcher.recorded()) == 4, 20, "four recorded processes")
    recorded = launcher.recorded()
    groups = {pgid for _, pgid in recorded}
    assert len(groups) == 2, "each Procfile process leads its own group"
    run.send(signal.SIGINT)
    assert run.wait() == 130, run.text()
    assert "SIGINT received, stopping all processes (SIGKILL after 5s)" in run.text()
    assert not [pgid for pgid in groups if group_alive(pgid)]
    assert not [pid for pid, _ in recorded if alive(pid)]
    assert launcher.leftovers() == []


def test_a_process_ignoring_sigterm_is_killed_after_the_timeout(launcher: Launcher) -> None:
    """-t 0.5: a process that ignores SIGTERM gets SIGKILL once the grace is over."""
    run = launcher.start("-f", "Procfile.stubborn", "-t", "0.5")
    run.wait_for_text("ignoring SIGTERM")
    run.wait_for_text("PORT=5000")
    (stubborn, pgid), *_ = launcher.recorded()
    run.send(signal.SIGTERM)
    assert run.wait() == 143, run.text()
    assert "stubborn.1 did not stop within 0.5s: SIGKILL" in run.text()
    assert "web.1 killed by SIGTERM" in run.text()
    assert not alive(stubborn) and not group_alive(pgid)
    assert launcher.leftovers() == []


def test_a_second_ctrl_c_kills_at_once_without_waiting_for_the_grace(launcher: Launcher) -> None:
    """With -t 300, a second Ctrl-C sends SIGKILL to every group instead of waiting."""
    run = launcher.start("-f", "Procfile.stubborn", "-t", "300")
    run.wait_for_text("ignoring SIGTERM")
    (stubborn, pgid), *_ = launcher.recorded()
    run.send(signal.SIGINT)
    run.wait_for_text("SIGINT received, stopping all processes (SIGKILL after 300s)")
    run.send(signal.SIGINT)
    assert run.wait() == 130, run.text()
    assert "SIGINT received again, killing all processes" in run.text()
    assert not alive(stubborn) and not group_alive(pgid)
    assert launcher.leftovers() == []


def test_restart_keeps_a_crashing_process_running_with_the_servers_backoff(
    launcher: Launcher,
) -> None:
    """--restart: an exit is not the end; restarts follow the server's policy and its settings."""
    run = launcher.start("-f", "Procfile.restart", "--restart", TWELVE_RESTART_BACKOFF_MAX="0.1")
    wait_for(
        lambda: launcher.counter.exists() and launcher.counter.read_text().count("run") >= 3,
        20,
        "three runs",
    )
    assert run.process.poll() is None, "still running after crashes"
    run.send(signal.SIGINT)
    assert run.wait() == 130, run.text()
    text = run.text()
    assert "flaky.1 exited with code 1" in text
    assert "restarting flaky.1 in 0s" in text and "restarting flaky.1 in 0.1s" in text


def test_bad_input_is_one_line_saying_what_to_do(launcher: Launcher) -> None:
    """A missing named env file, an unknown type, a bad PORT: one line on stderr, exit 1."""
    for args, env, expected in [
        (["local", "-e", "nope.env"], {}, "nope.env not found (check the -e option)"),
        (["local", "db"], {}, "no process type 'db' in the Procfile (declared: web, worker"),
        (["local"], {"PORT": "web"}, "PORT='web' is not a port number"),
        (["local", "-f", "Procfile.invalid"], {}, "Procfile.invalid:2: expected 'type: command'"),
        (["local", "-e", "invalid.env"], {}, "invalid.env:2: BAD has an unterminated"),
    ]:
        result = launcher.run(*args, **env)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
    assert launcher.leftovers() == []


def test_local_check_validates_the_procfile_and_env_files_with_line_numbers(
    launcher: Launcher,
) -> None:
    """`twelve local:check`: file:line in every error, a summary when all is well."""
    good = launcher.run("local:check", "-e", ".env,extra.env")
    assert good.returncode == 0, good.stderr
    assert good.stdout.splitlines() == [
        "Procfile: 3 process types (web, worker, release)",
        "env: 2 variables",
    ]
    bad_procfile = launcher.run("local:check", "-f", "Procfile.invalid")
    assert bad_procfile.returncode == 1 and "Procfile.invalid:2:" in bad_procfile.stderr
    bad_env = launcher.run("local:check", "-e", "invalid.env")
    assert bad_env.returncode == 1 and "invalid.env:2:" in bad_env.stderr
