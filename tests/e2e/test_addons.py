"""Backing services as attached resources, end to end, with the twelve-factor reference app.

The daemon and CLI run as subprocesses; PostgreSQL and Redis are real servers (this machine's, and
once servers twelve runs itself); mail goes to a real SMTP server (aiosmtpd) run by the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import json
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
import redis
from aiosmtpd.controller import Controller

from support import EXAMPLES, Daemon, requires_service, wait_for
from twelve.addons.binaries import find_postgres, find_redis
from twelve.addons.postgres import PostgresProvider
from twelve.addons.redis import RedisProvider

pytestmark = pytest.mark.slow
APP = EXAMPLES / "twelve-factor-app"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_ADMIN = "redis://127.0.0.1:6379/0"
FAST_JOBS = ("WORKER_JOB_SECONDS=2", "JOB_LEASE_SECONDS=3")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server received."""

    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on a free port (chosen up front, so retried on a clash)."""
    box = Mailbox()
    for _ in range(5):
        port = _free_port()
        controller = Controller(box, hostname="127.0.0.1", port=port)
        try:
            controller.start()
        except OSError:
            continue
        try:
            yield box, port
        finally:
            controller.stop()
        return
    pytest.fail("could not start the SMTP server")


@pytest.fixture
def other_redis(tmp_path: Path) -> Iterator[int]:
    """A second Redis server, to swap the app onto without changing its code."""
    port = _free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(lambda: _listening(port), 10, "the second Redis server")
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@pytest.fixture
def made_on_machine_servers() -> Iterator[list[str]]:
    """App-facing URLs of add-ons made on this machine's servers; removed even when a test fails."""
    urls: list[str] = []
    yield urls
    for url in urls:
        parts = urlsplit(url)
        user = parts.username or ""
        if url.startswith("postgres://"):
            asyncio.run(
                PostgresProvider(PG_ADMIN, "").deprovision({"database": user, "role": user})
            )
        else:
            resource = {"user": user, "database": int(parts.path.strip("/"))}
            asyncio.run(RedisProvider(REDIS_ADMIN, "").deprovision(resource))


def ps(d: Daemon, app: str) -> list[dict[str, Any]]:
    return d.cli_json("ps", "-a", app)  # type: ignore[return-value]


def web_ports(d: Daemon, app: str, names: set[str]) -> dict[str, int] | None:
    """Ports of the named processes of the live release, once all are up."""
    version = d.cli_json("releases", "-a", app)[0]["version"]  # type: ignore[index]
    live = {p["name"]: p for p in ps(d, app) if p["state"] == "up" and p["release"] == version}
    if not names <= live.keys():
        return None
    return {n: live[n]["port"] for n in names}


def config(d: Daemon, app: str) -> dict[str, str]:
    return d.cli_json("config", "-a", app, "--reveal")  # type: ignore[return-value]


def login(client: httpx.Client, user: str) -> dict[str, Any]:
    response = client.post("/login", json={"email": user, "password": "correct horse"})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def router(d: Daemon, app: str, cookies: httpx.Cookies | None = None) -> httpx.Client:
    port = d.router_url.rsplit(":", 1)[1]
    return httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Host": f"{app}.localhost"},
        cookies=cookies,
        timeout=10,
    )


def create_and_deploy(d: Daemon, smtp_port: int) -> tuple[dict[str, Any], dict[str, Any]]:
    d.cli("apps:create", "notes")
    pg = d.cli_json("addons:create", "postgres", "-a", "notes")["addon"]  # type: ignore[index]
    rd = d.cli_json("addons:create", "redis", "-a", "notes")["addon"]  # type: ignore[index]
    d.cli("addons:attach", f"smtp://127.0.0.1:{smtp_port}", "-a", "notes")
    d.cli("config:set", "-a", "notes", *FAST_JOBS)
    out = d.cli("deploy", "-a", "notes", str(APP)).stdout
    assert "migrate: schema up to date" in out, out
    return pg, rd


def test_the_reference_app_on_attached_postgres_redis_and_smtp(
    make_daemon: Callable[..., Daemon],
    smtp: tuple[Mailbox, int],
    other_redis: int,
    made_on_machine_servers: list[str],
) -> None:
    """Add-ons are config: create, deploy, scale, survive a killed worker and a daemon restart,
    swap Redis without a code change, and destroy the data."""
    requires_service("PostgreSQL on 127.0.0.1:5432", _listening(5432))
    requires_service("Redis on 127.0.0.1:6379", _listening(6379))
    mailbox, smtp_port = smtp
    d = make_daemon(TWELVE_POSTGRES_ADMIN_URL=PG_ADMIN, TWELVE_REDIS_ADMIN_URL=REDIS_ADMIN)
    pg, rd = create_and_deploy(d, smtp_port)
    urls = config(d, "notes")
    made_on_machine_servers += [urls["DATABASE_URL"], urls["REDIS_URL"]]
    assert urls["DATABASE_URL"].startswith("postgres://twelve_postgres_notes_")
    assert urls["REDIS_URL"].startswith("redis://twelve_redis_notes_")
    assert "postgres@" not in urls["DATABASE_URL"], "the admin URL never reaches the app"
    cache = d.cli("addons:create", "redis", "-a", "notes", "--as", "CACHE")
    made_on_machine_servers.append(config(d, "notes")["CACHE_URL"])
    assert "Warning: this URL names an ACL user" in cache.stderr, "pre-Redis-6 clients are warned"

    # Two web processes, no sticky sessions: log in through one, be recognised by the other.
    d.cli("ps:scale", "-a", "notes", "web=2", "worker=1")
    ports = wait_for(lambda: web_ports(d, "notes", {"web.1", "web.2", "worker.1"}), 60, "web=2")
    with httpx.Client(base_url=f"http://127.0.0.1:{ports['web.1']}", timeout=10) as one:
        assert login(one, "ada@example.com") == {
            "user": "ada@example.com",
            "new": True,
            "dyno": "web.1",
        }
        assert one.post("/notes", json={"body": "buy milk"}).status_code == 201
        cookies = one.cookies
    with httpx.Client(
        base_url=f"http://127.0.0.1:{ports['web.2']}", cookies=cookies, timeout=10
    ) as two:
        got = two.get("/notes").json()
    assert got == {"user": "ada@example.com", "notes": ["buy milk"], "dyno": "web.2"}
    wait_for(lambda: mailbox.to("ada@example.com"), 30, "ada's welcome mail")

    # Scale out; then SIGKILL the worker holding a job: another worker does it, once.
    d.cli("ps:scale", "-a", "notes", "web=3", "worker=2")
    wait_for(lambda: web_ports(d, "notes", {"web.3", "worker.2"}), 60, "web=3 worker=2")
    with router(d, "notes") as client:
        login(client, "bob@example.com")
    app_redis = redis.Redis.from_url(urls["REDIS_URL"])
    lease = wait_for(lambda: app_redis.hgetall("jobs:leases"), 30, "a worker to take bob's job")
    holder = json.loads(next(iter(lease.values())))["holder"]
    killed = json.loads(holder)["pid"]
    os.kill(killed, signal.SIGKILL)
    mail = wait_for(lambda: mailbox.to("bob@example.com"), 60, "bob's welcome mail")
    wait_for(lambda: not app_redis.hgetall("jobs:leases"), 30, "no job left in progress")
    assert app_redis.llen("jobs:queue") == 0
    assert len(mailbox.to("bob@example.com")) == 1, "the job was done exactly once"
    assert f"pid {killed}" not in mail[0]["X-Sent-By"]
    app_redis.close()

    # A daemon restart keeps the data and the sessions.
    d.stop()
    d.start()
    wait_for(lambda: web_ports(d, "notes", {"web.1", "web.2", "web.3"}), 60, "web back")
    with router(d, "notes", cookies) as client:
        assert client.get("/notes").json()["notes"] == ["buy milk"]

    # Swap Redis for another server: one release, the app serves, no code changed.
    swap = d.cli_json(
        "addons:attach",
        f"redis://127.0.0.1:{other_redis}/0",
        "-a",
        "notes",
        "--as",
        "REDIS",
        "--replace",
    )
    assert "Attach REDIS_URL" in swap["release"]["description"]  # type: ignore[index]
    wait_for(lambda: web_ports(d, "notes", {"web.1", "web.2", "web.3"}), 60, "swapped web")
    with router(d, "notes") as client:
        login(client, "ada@example.com")
        assert client.get("/notes").json()["notes"] == ["buy milk"]
    with redis.Redis(port=other_redis) as swapped:
        assert swapped.keys("session:*"), "new sessions live in the other Redis"
    listed = {a["name"]: a for a in d.cli_json("addons", "-a", "notes")}  # type: ignore[union-attr]
    assert listed[rd["name"]]["attached"] is False

    # Nothing in the logs or release history carries a credential.
    releases = d.cli("releases", "-a", "notes").stdout
    logs = d.cli("logs", "-a", "notes", "-n", "1000").stdout
    for url in (urls["DATABASE_URL"], urls["REDIS_URL"]):
        password = url.split("@")[0].rsplit(":", 1)[1]
        assert password not in logs and password not in releases and password not in d.output()
    assert "Attach REDIS_URL (" in releases, "the release names the variable, never its value"

    # Destroying asks for confirmation, then removes the database and the key space.
    refused = d.cli("addons:destroy", pg["name"], check=False)
    assert refused.returncode == 1 and "--confirm notes" in refused.stderr
    d.cli("addons:destroy", rd["name"], "--confirm", "notes")
    # The app cannot start without its database, so it is stopped before the database goes.
    d.cli("ps:scale", "-a", "notes", "web=0", "worker=0")
    d.cli("addons:destroy", pg["name"], "--confirm", "notes")
    with psycopg.connect(PG_ADMIN) as admin:
        gone = admin.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s",
            ("twelve_" + pg["name"].replace("-", "_"),),
        ).fetchone()
        assert gone == (0,)
    with redis.Redis.from_url(REDIS_ADMIN) as admin:
        assert admin.acl_getuser("twelve_" + rd["name"].replace("-", "_")) is None
    assert "DATABASE_URL" not in config(d, "notes")


def test_servers_twelve_runs_itself_hold_the_app_data_across_daemon_restarts(
    make_daemon: Callable[..., Daemon], smtp: tuple[Mailbox, int]
) -> None:
    """With no admin URL, twelve runs PostgreSQL and Redis itself; their data outlives a restart.
    Attaching, detaching and rolling back say what rollback does not restore."""
    requires_service("PostgreSQL binaries (initdb)", find_postgres(os.environ["PATH"]) is not None)
    requires_service("redis-server", find_redis(os.environ["PATH"]) is not None)
    _mailbox, smtp_port = smtp
    d = make_daemon()
    pg, rd = create_and_deploy(d, smtp_port)
    assert pg["provider"] == rd["provider"] == "twelve"
    assert rd["server"] == "own redis-server", "a Redis add-on has a server of its own"
    assert config(d, "notes")["REDIS_URL"].startswith("redis://:"), "Heroku's URL: no user name"
    with router(d, "notes") as client:
        login(client, "ada@example.com")
        client.post("/notes", json={"body": "kept by twelve"})
        cookies = client.cookies

    d.stop()
    assert not any(app == "-twelve-" for app, *_ in d.recorded_processes()), "services stopped"
    d.start()
    wait_for(lambda: web_ports(d, "notes", {"web.1"}), 60, "web back after the restart")
    with router(d, "notes", cookies) as client:
        assert client.get("/notes").json()["notes"] == ["kept by twelve"]

    d.cli("addons:attach", "s3://uploads.example", "-a", "notes", "--as", "UPLOADS")
    uploads = next(a for a in d.cli_json("addons", "-a", "notes") if a["service"] == "s3")  # type: ignore[union-attr]
    detached = d.cli("addons:detach", uploads["name"], "-a", "notes").stdout
    assert "Detach UPLOADS_URL" in detached
    rollback = d.cli("rollback", "-a", "notes").stdout
    assert "not add-ons" in rollback and "UPLOADS_URL" in rollback

    d.cli("ps:scale", "-a", "notes", "web=0", "worker=0")
    d.cli("addons:destroy", pg["name"], "--confirm", "notes")
    d.cli("addons:destroy", rd["name"], "--confirm", "notes")
    remaining = d.cli_json("addons", "-a", "notes")
    assert [a["service"] for a in remaining] == ["smtp"]  # type: ignore[union-attr]
