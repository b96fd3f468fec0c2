"""Plans for the servers twelve runs itself, as data: command lines, config files, who runs them
(with the two facts of the machine they rest on: a free port, the unprivileged account), and the
values that describe a server once it is set up or running.

PostgreSQL refuses to run as root. When twelve is root, the server runs as an unprivileged account
(``postgres`` when the machine has one, else ``nobody``) through ``setpriv``, keeping only the
ability to traverse directories so it can reach its data under a private TWELVE_HOME.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from twelve.addons.binaries import Binaries
from twelve.addons.naming import postgres_url
from twelve.errors import ServiceError
from twelve.supervisor import spawn
from twelve.supervisor.launcher import OnOutput

ADMIN_USER = "twelve"
UNPRIVILEGED_ACCOUNTS = ("postgres", "nobody")


@dataclass(frozen=True)
class Account:
    """An unprivileged account a server runs as when twelve itself is root."""

    name: str
    uid: int
    gid: int


def run_as(account: Account | None, argv: list[str]) -> list[str]:
    """``argv`` as ``account`` (None: as twelve's own user)."""
    if account is None:
        return argv
    return [
        "setpriv",
        f"--reuid={account.uid}",
        f"--regid={account.gid}",
        "--init-groups",
        "--inh-caps=+dac_read_search",
        "--ambient-caps=+dac_read_search",
        *argv,
    ]


def postgres_initdb(bins: Binaries, data_dir: Path, password_file: Path) -> list[str]:
    """initdb with an admin superuser ``twelve`` whose password is in ``password_file``."""
    return [
        bins.tool("initdb"),
        "--pgdata",
        str(data_dir),
        "--username",
        ADMIN_USER,
        f"--pwfile={password_file}",
        "--auth-local=scram-sha-256",
        "--auth-host=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
        "--no-instructions",
    ]


# The longest path a Unix socket can have (sun_path holds 108 bytes with its terminating NUL).
MAX_SOCKET_PATH = 107


def postgres_server(
    bins: Binaries,
    data_dir: Path,
    socket_dir: Path,
    port: int,
    tls: tuple[Path, Path] | None = None,
) -> list[str]:
    """postgres in the foreground on 127.0.0.1:``port``, logging to stdout; with ``tls`` (a
    certificate and its key) it also accepts TLS, which Heroku Postgres offers and apps require
    (Heroku's Django template connects with sslmode=require)."""
    # twelve connects over TCP; the Unix socket is for an operator's psql, and PostgreSQL will not
    # start when its path is too long for one (a deep TWELVE_HOME), so it is left out then.
    socket_path = f"{socket_dir}/.s.PGSQL.{port}"
    ssl = []
    if tls is not None:
        ssl = ["-c", "ssl=on", "-c", f"ssl_cert_file={tls[0]}", "-c", f"ssl_key_file={tls[1]}"]
    return [
        bins.tool("postgres"),
        "-D",
        str(data_dir),
        "-p",
        str(port),
        "-k",
        str(socket_dir) if len(socket_path.encode()) <= MAX_SOCKET_PATH else "",
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "logging_collector=off",
        "-c",
        "log_destination=stderr",
        # Never echo a failed statement: a CREATE ROLE carries a password verifier.
        "-c",
        "log_min_error_statement=panic",
        *ssl,
    ]


def _redis_persistent(port: int, data_dir: Path) -> list[str]:
    """What every Redis twelve runs has in its redis.conf: loopback only, append-only
    persistence in ``data_dir``."""
    return [
        "bind 127.0.0.1",
        f"port {port}",
        f'dir "{data_dir}"',
        "appendonly yes",
        "appendfsync everysec",
        'save ""',
    ]


def redis_config(port: int, data_dir: Path, acl_file: Path) -> str:
    """redis.conf of the Redis twelve runs: loopback only, append-only persistence, ACL file."""
    return "\n".join(
        [
            *_redis_persistent(port, data_dir),
            "databases 256",
            f'aclfile "{acl_file}"',
            "daemonize no",
            'logfile ""',
            "",
        ]
    )


def redis_acl_file(admin_password_hash: str) -> str:
    """The initial ACL file: only the admin (default) user, with a password."""
    return f"user default on {admin_password_hash} ~* &* +@all\n"


def redis_server(bins: Binaries, config_file: Path) -> list[str]:
    return [bins.tool("redis-server"), str(config_file)]


# Commands an app never needs on a Redis of its own, as Heroku's plans disable them.
DEDICATED_REDIS_DENIED = ("config", "debug", "acl", "module", "shutdown", "monitor", "replicaof")


ADMIN_USER_REDIS = "twelve"


def dedicated_redis_config(
    port: int,
    data_dir: Path,
    password_hash: str,
    maxmemory: int,
    admin_hash: str | None = None,
) -> str:
    """redis.conf of one add-on's own Redis: Heroku's shape, a password and no user name, so
    clients written before Redis 6 log in with ``AUTH PASSWORD``; persistence on; a memory cap.
    With ``admin_hash``, a ``twelve`` user that may change the app's password (rotation)."""
    denied = " ".join(f"-{command}" for command in DEDICATED_REDIS_DENIED)
    admin = [f"user {ADMIN_USER_REDIS} on {admin_hash} ~* &* +@all"] if admin_hash else []
    return "\n".join(
        [
            *_redis_persistent(port, data_dir),
            f"maxmemory {maxmemory}",
            "maxmemory-policy noeviction",
            f"user default on {password_hash} ~* &* +@all {denied}",
            *admin,
            "daemonize no",
            'logfile ""',
            "",
        ]
    )


def free_port() -> int:
    """A port nobody listens on now (the server binds it a moment later; a clash is retried)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unprivileged_account() -> Account | None:
    """The account PostgreSQL runs as: None unless twelve is root."""
    if os.geteuid() != 0:
        return None
    for name in UNPRIVILEGED_ACCOUNTS:
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return Account(name, entry.pw_uid, entry.pw_gid)
    raise ServiceError("twelve runs as root and the machine has no postgres or nobody account")


@dataclass(frozen=True)
class AdoptedServer:
    """A server an earlier daemon started that still runs, and how to follow its output."""

    child: spawn.Running
    follow: Callable[[OnOutput], None]


@dataclass(frozen=True)
class ServiceState:
    """What a set-up server keeps in service.json: its port and its admin password."""

    port: int
    password: str

    def admin_url(self, kind: str) -> str:
        if kind == "postgres":
            return postgres_url(ADMIN_USER, self.password, "127.0.0.1", self.port, "postgres")
        return f"redis://default:{self.password}@127.0.0.1:{self.port}/0"
