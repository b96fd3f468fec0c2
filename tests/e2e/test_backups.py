"""Backups and credentials end to end, on the PostgreSQL and Redis servers twelve runs itself.

One daemon for the module; the app is a tiny notes app that connects to its database per request.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import psycopg
import pytest
import redis

from support import (
    FIXTURE_APPS,
    Daemon,
    Load,
    daemon_env,
    server_base,
    until_requests,
    wait_for,
)
from twelve.addons.binaries import find_postgres, find_redis

pytestmark = pytest.mark.slow
APP = f"notes-{secrets.token_hex(2)}"


@pytest.fixture(scope="module")
def daemon(uv_cache: Path) -> Iterator[Daemon]:
    if find_postgres(os.environ.get("PATH", "")) is None or find_redis(os.environ["PATH"]) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "PostgreSQL and Redis binaries are missing; scripts/ci-services installs them"
            )
        pytest.skip("no PostgreSQL or Redis binaries for twelve to run")
    with server_base("twelve-backups-", (APP,)) as root:
        yield from module_daemon(root, uv_cache)


def module_daemon(root: Path, uv_cache: Path) -> Iterator[Daemon]:
    d = Daemon(root / "home", daemon_env(root / "home", uv_cache), root / "daemon.log")
    d.home.mkdir()
    d.start(isolated=True)
    try:
        d.cli("apps:create", APP)
        d.cli("addons:create", "postgres", "-a", APP)
        d.cli("addons:create", "redis", "-a", APP)
        d.cli("deploy", "-a", APP, str(FIXTURE_APPS / "notes-db"))
        d.cli("ps:scale", "-a", APP, "web=2", "worker=1")
        yield d
    finally:
        d.end()


def config(d: Daemon) -> dict[str, str]:
    return d.cli_json("config", "-a", APP, "--reveal")  # type: ignore[return-value]


def addons(d: Daemon) -> dict[str, dict[str, Any]]:
    return {a["service"]: a for a in d.cli_json("addons", "-a", APP)}  # type: ignore[union-attr]


def data_only(url: str) -> bytes:
    """``pg_dump --data-only`` with the app's own credentials, as the proof compares it."""
    parts = urlsplit(url)
    env = {**os.environ, "PGPASSWORD": unquote(parts.password or "")}
    return subprocess.run(
        [
            "pg_dump", "--data-only", "--restrict-key=proof", "-h", "127.0.0.1",
            "-p", str(parts.port), "-U", unquote(parts.username or ""), parts.path.lstrip("/"),
        ],
        env=env, capture_output=True, check=True,
    ).stdout  # fmt: skip


def worker_pid(d: Daemon) -> int | None:
    found = [p for p in d.cli_json("ps", "-a", APP) if p["name"] == "worker.1"]  # type: ignore[union-attr]
    return found[0]["pid"] if found and found[0]["state"] == "up" else None


def test_seeded_rows_are_backed_up_verified_and_restored_byte_for_byte(daemon: Daemon) -> None:
    d = daemon
    for text in ("first", "second", "third"):
        assert d.get(APP, "/").status_code == 200
        port = d.router_url.rsplit(":", 1)[1]
        reply = httpx.post(
            f"http://127.0.0.1:{port}/notes?count=400&text={text}",
            headers={"Host": f"{APP}.localhost"},
            timeout=10,
        )
        assert reply.status_code == 201, reply.text
    assert d.get(APP, "/").text.startswith("1200 notes")
    url = config(d)["DATABASE_URL"]
    before = data_only(url)

    out = d.cli("backups:capture", "-a", APP).stdout
    assert "b001" in out and "verified" in out, out
    listing = d.cli("backups", "-a", APP).stdout
    assert "b001" in listing and "verified" in listing
    info = d.cli_json("backups:info", "-a", APP, "b001")
    assert info["tables"] == {"public.notes": 1200, "public.tags": 3}  # type: ignore[index]
    assert info["server_version"].startswith("PostgreSQL")  # type: ignore[index]
    shown = d.cli("backups:info", "-a", APP, "b001").stdout
    assert "restored and compared in" in shown and "public.notes" in shown, shown

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE tags")
        conn.execute("DELETE FROM notes WHERE id % 2 = 0")
    worker = worker_pid(d)
    load = Load(f"{d.router_url.replace('localhost', '127.0.0.1')}/", f"{APP}.localhost")
    with load.running(clients=2):
        d.cli("backups:restore", "-a", APP, "b001", "--confirm", APP)
    assert data_only(url) == before
    maintenance = [k for k in load.outcomes if "H80" in k]
    assert maintenance, f"web answered H80 during the restore: {dict(load.outcomes)}"
    assert wait_for(lambda: worker_pid(d), 30, "the worker back") != worker, "worker restarted"
    assert d.get(APP, "/").text.startswith("1200 notes")


def test_a_download_decrypts_to_a_dump_and_a_damaged_file_is_reported(
    daemon: Daemon, tmp_path: Path
) -> None:
    d = daemon
    target = tmp_path / "latest.dump"
    d.cli("backups:download", "-a", APP, "b001", "-o", str(target))
    listing = subprocess.run(
        ["pg_restore", "--list", str(target)], capture_output=True, text=True, check=True
    )
    assert "TABLE DATA public notes" in listing.stdout
    sealed = d.home / "backups" / APP / "b001.dump.sealed"
    data = bytearray(sealed.read_bytes())
    data[len(data) // 2] ^= 1
    sealed.write_bytes(bytes(data))
    checked = d.cli("backups:verify", "-a", APP, "b001", check=False)
    assert checked.returncode != 0
    assert "damaged" in checked.stderr
    assert "twelve[backups] ERROR" in d.output()
    assert "failed" in d.cli("backups", "-a", APP).stdout


def test_a_redis_backup_of_its_own_server_is_verified_and_restored(daemon: Daemon) -> None:
    d = daemon
    url = config(d)["REDIS_URL"]
    with redis.Redis.from_url(url) as r:
        r.mset({f"k{n}": n for n in range(300)})
        r.set("ttl", "v", ex=3600)
    name = addons(d)["redis"]["name"]
    out = d.cli("backups:capture", "-a", APP, name).stdout
    assert "verified" in out, out
    with redis.Redis.from_url(url) as r:
        r.flushdb()
    backup = d.cli_json("backups", "-a", APP)["backups"][-1]["id"]  # type: ignore[index]
    d.cli("backups:restore", "-a", APP, backup, "--confirm", APP)
    with redis.Redis.from_url(url) as r:
        assert r.dbsize() == 301 and r.get("k42") == b"42" and r.ttl("ttl") > 0


def test_schedule_and_unschedule(daemon: Daemon) -> None:
    d = daemon
    out = d.cli("backups:schedule", "-a", APP, "--at", "02:00 UTC", "--daily", "3").stdout
    assert "daily at 02:00 UTC" in out and "3 daily" in out
    assert "daily at 02:00 UTC" in d.cli("backups", "-a", APP).stdout
    bad = d.cli("backups:schedule", "-a", APP, "--at", "25:00", check=False)
    assert bad.returncode != 0 and "--at '02:00 UTC'" in bad.stderr
    d.cli("backups:unschedule", "-a", APP)
    assert "daily at" not in d.cli("backups", "-a", APP).stdout


def test_rotating_the_database_password_under_load_fails_no_request(daemon: Daemon) -> None:
    d = daemon
    old = config(d)["DATABASE_URL"]
    name = addons(d)["postgres"]["name"]
    load = Load(f"{d.router_url.replace('localhost', '127.0.0.1')}/", f"{APP}.localhost")
    with load.running():
        until_requests(load, 30)
        out = d.cli("addons:credentials:rotate", name, "-a", APP).stdout
        until_requests(load, 30)
    assert "Rotated" in out
    assert load.failures() == {}, load.failures()
    new = config(d)["DATABASE_URL"]
    assert new != old
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(old, connect_timeout=5).close()
    with psycopg.connect(new) as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone() == (1200,)
    assert "verified" in d.cli("backups:capture", "-a", APP).stdout, "backups use the new login"


def test_rotating_the_password_of_a_redis_of_its_own(daemon: Daemon) -> None:
    d = daemon
    old = config(d)["REDIS_URL"]
    d.cli("addons:credentials:rotate", addons(d)["redis"]["name"], "-a", APP)
    new = config(d)["REDIS_URL"]
    assert new != old
    with redis.Redis.from_url(new) as r:
        assert r.dbsize() == 301
    with pytest.raises(redis.AuthenticationError), redis.Redis.from_url(old) as r:
        r.ping()


def test_psql_and_redis_cli_open_on_the_apps_add_ons_with_its_credentials(daemon: Daemon) -> None:
    d = daemon
    psql = subprocess.run(
        [*d.cli_argv(), "addons:psql", "-a", APP],
        input="SELECT current_database(), count(*) FROM notes;\n",
        env=d.env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert psql.returncode == 0, psql.stderr
    assert urlsplit(config(d)["DATABASE_URL"]).path.strip("/") in psql.stdout
    assert urlsplit(config(d)["DATABASE_URL"]).password not in " ".join(psql.args)
    cli = subprocess.run(
        [*d.cli_argv(), "addons:redis-cli", "-a", APP],
        input="DBSIZE\n", env=d.env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    with redis.Redis.from_url(config(d)["REDIS_URL"]) as r:
        assert cli.stdout.strip() == str(r.dbsize())


def test_away_from_the_server_psql_and_redis_cli_run_as_one_offs_of_the_app(
    daemon: Daemon,
) -> None:
    """What a CLI elsewhere does (--on-server): the client runs on the server as a one-off, on
    this side's stdin and stdout, and reads the credentials from the one-off's environment."""
    d = daemon
    psql = subprocess.run(
        [*d.cli_argv(), "addons:psql", "--on-server", "-a", APP],
        input="SELECT 'answer', 41 + 1;\n", env=d.env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert psql.returncode == 0, psql.stderr
    assert "answer" in psql.stdout and "42" in psql.stdout
    cli = subprocess.run(
        [*d.cli_argv(), "addons:redis-cli", "--on-server", "-a", APP],
        input="DBSIZE\n", env=d.env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    with redis.Redis.from_url(config(d)["REDIS_URL"]) as r:
        assert cli.stdout.strip() == str(r.dbsize())
    assert "password" not in cli.stderr.lower()


def test_a_scheduled_backup_missed_while_the_daemon_was_down_runs_at_start(
    daemon: Daemon,
) -> None:
    d = daemon
    d.cli("backups:schedule", "-a", APP, "--at", "00:00 UTC")
    before = len(d.cli_json("backups", "-a", APP)["backups"])  # type: ignore[index]
    d.stop()
    # The daemon was down for two days: the last run was long before the last 00:00.
    with sqlite3.connect(d.home / "twelve.db") as db:
        db.execute("UPDATE backup_schedules SET since = since - 2 * 86400")
    d.start()

    def made() -> list[dict[str, Any]]:
        found = d.cli_json("backups", "-a", APP)["backups"]  # type: ignore[index]
        done = [b for b in found if b["scheduled"] and b["status"] == "verified"]
        return done if len(found) > before else []

    backup = wait_for(made, 60, "the missed scheduled backup")[0]
    assert backup["addon"] == addons(d)["postgres"]["name"]
    d.cli("backups:unschedule", "-a", APP)
