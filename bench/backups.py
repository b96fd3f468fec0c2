"""Backup and restore throughput against bare pg_dump and pg_restore, and the daemon's memory.

On this machine's PostgreSQL (``--admin-url``, default the local server as ``postgres``), in one
run: a database with one table of ``--size-mib`` MiB is made through twelve's add-on code, then

- bare ``pg_dump --format=custom`` to a file, and twelve's capture (the same pg_dump, sealed with
  the platform key as it streams): MiB/s of each and their ratio (goal: twelve within 1.2x);
- verification on its own: the source's checksums at the snapshot, a restore into a scratch
  database and the comparison (it is not part of the capture figure);
- bare ``pg_restore --single-transaction`` of the dump into a fresh database, and twelve's restore
  of the sealed backup into another add-on (decrypting as it streams): ratio, goal within 1.2x;
- this process's peak RSS during capture and verification over its baseline (goal: under 50 MiB
  whatever the size; ``--size-mib 1024`` is the 1 GiB proof, a few minutes on two cores).

With ``--daemon``, the memory figure is the daemon's own: a ``twelve server`` is started in a
temporary home, the table made through its add-on, and its RSS sampled from /proc while
``twelve backups:capture`` runs (capture and verification).

Run: ``.venv/bin/python bench/backups.py [--size-mib 256] [--admin-url URL] [--daemon]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from twelve.backups.postgres import libpq_env
from twelve.backups.restoring import restore
from twelve.compose import compose
from twelve.settings import Settings

GOAL = 1.2
MEMORY_GOAL_MIB = 50


def rss_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """This process's highest RSS while the block runs, sampled every 20 ms."""

    def __init__(self, pid: int | str = "self") -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mib(self.pid))

    def __enter__(self) -> PeakRss:
        self.peak = rss_mib(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def fill(url: str, size_mib: int) -> float:
    """One table of about ``size_mib`` MiB of rows that compress as real text does; its MiB."""
    rows = size_mib * 1024 * 1024 // 300
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE events (id bigint PRIMARY KEY, kind int, body text)")
        conn.execute(
            "INSERT INTO events SELECT g, g %% 17, md5(g::text) || ' ' || md5((g * 7)::text)"
            " || repeat(chr(97 + g %% 26), 200) FROM generate_series(1, %s) g",
            (rows,),
        )
        conn.execute("VACUUM ANALYZE events")
        size = conn.execute("SELECT pg_total_relation_size('events')").fetchone()
    assert size is not None
    return int(size[0]) / (1 << 20)


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env={**os.environ, **env}, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--daemon", action="store_true", help="measure a daemon's RSS instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-backups-") as tmp:
        if args.daemon:
            daemon_memory(Path(tmp), args.size_mib, args.admin_url)
        else:
            asyncio.run(run(Path(tmp), args.size_mib, args.admin_url))


def daemon_memory(tmp: Path, size_mib: int, admin_url: str) -> None:
    """The daemon's RSS while ``backups:capture`` runs, against its RSS just before."""
    env = {
        **os.environ,
        "TWELVE_HOME": str(tmp / "home"),
        "TWELVE_API_BIND": "127.0.0.1:0",
        "TWELVE_ROUTER_BIND": "127.0.0.1:0",
        "TWELVE_ROUTER_WORKERS": "1",
        "TWELVE_POSTGRES_ADMIN_URL": admin_url,
        "TWELVE_STOP_APPS": "1",
        "XDG_CONFIG_HOME": str(tmp / "cli"),
    }
    twelve = [sys.executable, "-m", "twelve"]
    log = (tmp / "daemon.log").open("wb")
    daemon = subprocess.Popen(
        [*twelve, "server"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    app = f"bench-{os.getpid()}"

    def cli(*argv: str) -> str:
        done = subprocess.run([*twelve, *argv], env=env, capture_output=True, text=True, check=True)
        return done.stdout

    try:
        endpoints = tmp / "home" / "run" / "endpoints.json"
        deadline = time.monotonic() + 60
        while not endpoints.exists():
            if time.monotonic() > deadline or daemon.poll() is not None:
                raise SystemExit((tmp / "daemon.log").read_text()[-2000:])
            time.sleep(0.1)
        cli("apps:create", app)
        cli("addons:create", "postgres", "-a", app)
        url = json.loads(cli("config", "-a", app, "--reveal", "--json"))["DATABASE_URL"]
        table = fill(url, size_mib)
        time.sleep(1)
        baseline = rss_mib(daemon.pid)
        start = time.perf_counter()
        with PeakRss(daemon.pid) as memory:
            out = cli("backups:capture", "-a", app)
        seconds = time.perf_counter() - start
        growth = memory.peak - baseline
        verdict = "ok" if growth < MEMORY_GOAL_MIB else "OVER"
        print(f"table: {table:.0f} MiB; capture and verification {seconds:.1f} s")
        print(out.strip().splitlines()[-1])
        print(
            f"daemon RSS: baseline {baseline:.0f} MiB, peak {memory.peak:.0f} MiB, "
            f"+{growth:.1f} MiB (goal < {MEMORY_GOAL_MIB}) {verdict}"
        )
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            cli("apps:destroy", app, "--confirm", app)
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(60)
        log.close()


async def run(tmp: Path, size_mib: int, admin_url: str) -> None:
    settings = Settings.from_environ(
        {"TWELVE_HOME": str(tmp / "home"), "TWELVE_POSTGRES_ADMIN_URL": admin_url}
    )
    graph = compose(settings, "bench")
    addons, backups = graph.platform.addons, graph.platform.backups
    assert addons is not None and backups is not None
    app = f"bench-{os.getpid()}"
    graph.store.apps.create(app)
    try:
        source, _ = await addons.create(app, "postgres")
        target, _ = await addons.create(app, "postgres", as_name="COPY")
        table = fill(source.url, size_mib)
        print(f"table: {table:.0f} MiB on disk")
        env = libpq_env(source.url)
        plain = tmp / "bare.dump"
        bare_dump = timed(["pg_dump", "--format=custom", f"--file={plain}"], env)
        dump_mib = plain.stat().st_size / (1 << 20)

        baseline = rss_mib()
        with PeakRss() as memory:
            made = await backups.capture(app, source.name)
        assert made.status == "verified", made.reason
        assert made.duration is not None and made.verified_at is not None
        capture = made.duration
        verification = made.verified_at - (made.started_at + made.duration)

        scratch = f"bench_restore_{os.getpid()}"
        admin_env = libpq_env(admin_url)
        subprocess.run(["createdb", scratch], env={**os.environ, **admin_env}, check=True)
        try:
            bare_restore = timed(
                [
                    "pg_restore", "--no-owner", "--no-acl", "--single-transaction",
                    f"--dbname={scratch}", str(plain),
                ],
                admin_env,
            )  # fmt: skip
        finally:
            subprocess.run(["dropdb", scratch], env={**os.environ, **admin_env}, check=True)
        start = time.perf_counter()
        await restore(backups, app, made.id, target.name, app, lambda _line: None)
        twelve_restore = time.perf_counter() - start
    finally:
        await addons.destroy_all(app)
        graph.store.close()

    def row(name: str, seconds: float, against: float | None = None) -> None:
        ratio = f"{seconds / against:5.2f}x" if against else ""
        goal = ("ok" if seconds / against <= GOAL else "OVER") if against else ""
        print(f"{name:<34} {seconds:8.2f} s {table / seconds:8.1f} MiB/s {ratio:>7} {goal}")

    print(
        f"dump: {dump_mib:.0f} MiB (custom format); sealed: {made.stored_size / (1 << 20):.0f} MiB"
    )
    row("bare pg_dump", bare_dump)
    row("twelve capture (sealed)", capture, bare_dump)
    row("twelve verification (separate)", verification)
    row("bare pg_restore", bare_restore)
    row("twelve restore (decrypted)", twelve_restore, bare_restore)
    growth = memory.peak - baseline
    verdict = "ok" if growth < MEMORY_GOAL_MIB else "OVER"
    print(
        f"RSS during capture and verification: baseline {baseline:.0f} MiB, peak "
        f"{memory.peak:.0f} MiB, +{growth:.1f} MiB (goal < {MEMORY_GOAL_MIB}) {verdict}"
    )


if __name__ == "__main__":
    main()
