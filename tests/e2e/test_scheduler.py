"""app.json cron jobs as a user meets them: a job every minute runs on the real clock, by hand, and
within its timeout; a bad entry fails the deploy with its line; and, with deploys, rollbacks,
config changes and daemon SIGKILLs fired at random moments around ticks, every tick runs exactly
once, counted in the store and in the rows the job itself writes to PostgreSQL."""

from __future__ import annotations

import itertools
import json
import secrets
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import Daemon, requires_service, wait_for

pytestmark = pytest.mark.slow
PG = "postgresql://postgres@127.0.0.1:5432"


def generic_app(base: Path, cron: list[dict[str, Any]], marker: str = "one") -> Path:
    source = base / f"app-{marker}-{secrets.token_hex(2)}"
    source.mkdir()
    (source / "Procfile").write_text("worker: sleep 100000\n")
    (source / "app.json").write_text(json.dumps({"cron": cron}, indent=2) + "\n")
    (source / "marker.txt").write_text(marker)
    return source


def runs(d: Daemon, app: str, *args: str) -> list[dict[str, Any]]:
    data = d.cli_json("cron:runs", "-a", app, *args)
    assert isinstance(data, list)
    return data


def test_a_job_runs_on_the_real_clock_by_hand_and_within_its_timeout(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    app = "cr-real"
    d = make_daemon()
    cron = [
        {"name": "ping", "command": "echo pinged $DYNO", "schedule": "* * * * *"},
        {"name": "slow", "command": "sleep 60", "schedule": "@yearly", "timeout": 1},
    ]
    d.cli("apps:create", app)
    d.cli("deploy", "-a", app, str(generic_app(tmp_path, cron)))
    listed = d.cli_json("cron", "-a", app)
    assert isinstance(listed, dict)
    ping = next(j for j in listed["jobs"] if j["name"] == "ping")
    assert 0 < ping["next_at"] - time.time() <= 60
    assert "ping" in d.cli("cron", "-a", app).stdout

    # The first tick on the machine's clock: one run, its output in the app's log.
    done = wait_for(
        lambda: [r for r in runs(d, app, "--job", "ping") if r["state"] == "finished"],
        75,
        "the first tick's run",
    )
    assert done[0]["exit_code"] == 0 and done[0]["tick"] is not None and done[0]["release"] == 1
    assert done[0]["tick"] <= done[0]["started_at"] < done[0]["tick"] + 10
    process = done[0]["process"]
    assert process.startswith("scheduler.")
    wait_for(
        lambda: f"pinged {process}" in d.cli("logs", "-a", app, "-p", process).stdout,
        20,
        "its output in the log",
    )

    # By hand, and a timeout that ends a run with SIGTERM.
    by_hand = d.cli_json("cron:run", "-a", app, "slow")
    assert isinstance(by_hand, dict) and by_hand["by_hand"]
    slow = wait_for(
        lambda: [r for r in runs(d, app, "--job", "slow") if r["state"] == "finished"],
        30,
        "the slow run ended by its timeout",
    )
    assert slow[0]["exit_code"] == -15 and "timeout" in (slow[0]["note"] or "")
    assert "SIGTERM" in d.cli("cron:runs", "-a", app).stdout
    missing = d.cli("cron:run", "-a", app, "nope", check=False)
    assert missing.returncode == 1 and "no cron job nope" in missing.stderr

    # A bad entry stops the deploy, naming its line; the live release keeps its jobs.
    bad = [cron[0], {"command": "echo x", "schedule": "* * * *"}]
    failed = d.cli("deploy", "-a", app, str(generic_app(tmp_path, bad, "bad")), check=False)
    assert failed.returncode == 1
    assert "app.json:9: cron[1] schedule: needs five fields" in failed.stderr, failed.stderr
    releases = d.cli_json("releases", "-a", app)
    assert isinstance(releases, list) and len(releases) == 1
    again = d.cli_json("cron", "-a", app)
    assert isinstance(again, dict) and {j["name"] for j in again["jobs"]} == {"ping", "slow"}


# -- exactly once, whatever happens around the ticks ----------------------------------------------

RATE = 30.0  # the scheduler's clock: a minute every two seconds


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    name = f"twelve_cron_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(f"{PG}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError:
        requires_service("PostgreSQL on 127.0.0.1:5432", False)
        raise
    with admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = f"{PG}/{name}"
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("CREATE TABLE ticks (process text NOT NULL, release text NOT NULL)")
    yield url
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def ticking(database: str) -> Iterator[Daemon]:
    from support import server_base  # noqa: PLC0415

    # The daemon as servers run it: each app as its own user.
    with server_base("twelve-cron-", ("cr-kills",)) as base:
        yield from ticking_daemon(base, database)


def ticking_daemon(base: Path, database: str) -> Iterator[Daemon]:
    from support import daemon_env  # noqa: PLC0415

    home = base / "home"
    home.mkdir()
    env = daemon_env(
        home, base / "uv-cache",
        TWELVE_CRON_SPEEDUP=str(RATE), TWELVE_CRON_CATCHUP="86400", TWELVE_STOP_APPS="1",
    )  # fmt: skip
    d = Daemon(home, env, base / "daemon.log")
    d.start()
    try:
        d.cli("apps:create", "cr-kills")
        d.cli("config:set", "-a", "cr-kills", f"DATABASE_URL={database}")
        d.cli("deploy", "-a", "cr-kills", str(generic_app(base, TICK_JOB)))
        d.extra["base"] = str(base)
        yield d
    finally:
        d.end()


TICK_JOB = [
    {
        "name": "tick",
        "command": "psql \"$DATABASE_URL\" -qc \"INSERT INTO ticks VALUES ('$DYNO', '$TWELVE_RELEASE')\"",
        "schedule": "* * * * *",
        "concurrency": "allow",
    }
]


def next_tick_in(d: Daemon) -> float:
    """Real seconds until the scheduler's clock reaches its next whole minute."""
    origin = float((d.home / "run" / "cron-origin").read_text())
    virtual = origin + (time.time() - origin) * RATE
    return ((virtual // 60 + 1) * 60 - virtual) / RATE


def store_runs(d: Daemon) -> list[tuple[float, str, str | None, int | None]]:
    with sqlite3.connect(d.home / "twelve.db") as db:
        rows = db.execute(
            "SELECT tick, state, process, exit_code FROM cron_runs WHERE app = 'cr-kills'"
            " AND tick IS NOT NULL ORDER BY tick"
        ).fetchall()
    return [(float(r[0]), r[1], r[2], r[3]) for r in rows]


def side_effects(url: str) -> Counter[str]:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url) as db:
        return Counter(row[0] for row in db.execute("SELECT process FROM ticks"))


Action = tuple[str, float]


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    actions=st.lists(
        st.tuples(st.sampled_from(["deploy", "rollback", "config", "kill"]), st.floats(-0.8, 0.8)),
        min_size=1,
        max_size=3,
    )
)
def test_deploys_and_daemon_kills_around_ticks_run_each_tick_exactly_once(
    ticking: Daemon, database: str, actions: list[Action]
) -> None:
    d = ticking
    base = Path(d.extra["base"])
    for kind, offset in actions:
        # Fire the action ``offset`` seconds (real) before or after the coming tick.
        time.sleep(max(0.0, next_tick_in(d) + offset))
        if kind == "deploy":
            d.cli(
                "deploy", "-a", "cr-kills", str(generic_app(base, TICK_JOB, "again")), check=False
            )
        elif kind == "rollback":
            d.cli("rollback", "-a", "cr-kills", check=False)
        elif kind == "config":
            d.cli("config:set", "-a", "cr-kills", f"NOISE={secrets.token_hex(4)}", check=False)
        else:
            d.stop(signal.SIGKILL)
            d.start()
    # Two more ticks on a calm daemon, then every tick so far has ended.
    first = store_runs(d)[-1][0] if store_runs(d) else 0.0
    wait_for(
        lambda: (
            len([r for r in store_runs(d) if r[0] > first]) >= 2
            and all(r[1] == "finished" for r in store_runs(d))
        ),
        60,
        "two more ticks, every run ended",
    )
    recorded = store_runs(d)
    ticks = [r[0] for r in recorded]
    assert ticks == sorted(set(ticks)), "a tick claimed twice"
    assert all(b - a == 60 for a, b in itertools.pairwise(ticks)), "a tick skipped"
    assert all(r[3] == 0 for r in recorded), recorded
    effects = wait_for(
        lambda: (found := side_effects(database)).total() >= len(recorded) and found,
        20,
        "every run's row in PostgreSQL",
    )
    assert effects == Counter(r[2] for r in recorded), "a run whose row is missing or doubled"
