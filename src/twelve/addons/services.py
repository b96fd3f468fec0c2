"""The PostgreSQL and Redis servers twelve runs itself, under TWELVE_HOME/services/KIND.

A server is set up the first time an add-on needs it (initdb, or a redis.conf with an ACL file),
then supervised as app processes are: launched through the keeper in its own process group, its
output as lines, restarted with a doubling backoff when it dies, and recorded, so that a daemon
that stops without ``--stop-apps`` (or dies) leaves it serving the apps and the next one adopts
it. Its data directory is never touched by deploys or restarts. The admin password is in a 0600
file beside the data and reaches nothing but twelve's own admin connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path

from twelve.addons import postgres, redis, selfrun
from twelve.addons.binaries import Binaries, find_postgres, find_redis
from twelve.addons.naming import new_password, redis_password_hash
from twelve.addons.selfrun import AdoptedServer, ServiceState
from twelve.errors import ServiceError
from twelve.router.tls import self_signed
from twelve.store import ProcessRecord
from twelve.store.processes import ProcessStore
from twelve.supervisor import spawn
from twelve.supervisor.launcher import Launcher, LocalLauncher
from twelve.supervisor.policy import SERVER_BACKOFF, Restarts
from twelve.supervisor.restart import keep_running

log = logging.getLogger("twelve.services")
RECORD_APP = "-twelve-"
READY_TIMEOUT = 60.0
OnLine = Callable[[str, str], None]  # (service, text)
_PINGS: dict[str, Callable[[str], Awaitable[None]]] = {
    "postgres": postgres.ping,
    "redis": redis.ping,
}
_LABELS = {"postgres": "PostgreSQL", "redis": "Redis"}


class SelfRunServer:
    """One server twelve runs: set up once, then started, supervised and stopped."""

    def __init__(
        self,
        kind: str,
        home: Path,
        bins: Binaries,
        records: ProcessStore,
        on_line: OnLine,
        launcher: Launcher | None = None,
    ) -> None:
        self.kind = kind
        self.dir = home
        self.bins = bins
        self.records = records
        self._on_line = on_line
        self.launcher = launcher or LocalLauncher()
        self.child: spawn.Running | None = None
        self._adopted: AdoptedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._grace = 10.0  # what stop() was given, for a server that starts as it stops
        self._account = selfrun.unprivileged_account() if kind == "postgres" else None
        self.record_name = f"service.{kind}"  # an add-on's own server names itself

    @property
    def state_file(self) -> Path:
        return self.dir / "service.json"

    def state(self) -> ServiceState | None:
        try:
            data = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None
        return ServiceState(int(data["port"]), str(data["password"]))

    def _environment(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(self.dir),
        }

    def _line(self, text: str) -> None:
        self._on_line(self.kind, text)

    def _output(self, text: str, _stamp: datetime | None) -> None:
        self._on_line(self.kind, text)

    def _own(self, path: Path) -> None:
        """Make ``path`` a 0700 directory of the account the server runs as."""
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self._account is not None:
            os.chown(path, self._account.uid, self._account.gid)

    async def _set_up(self) -> ServiceState:
        """First use: make the data directory and the admin login; nothing is left on failure."""
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        state = ServiceState(selfrun.free_port(), new_password())
        data = self.dir / "data"
        shutil.rmtree(data, ignore_errors=True)
        try:
            self._own(data)
            if self.kind == "postgres":
                await self._initdb(data, state.password)
            else:
                (self.dir / "users.acl").write_text(
                    selfrun.redis_acl_file(redis_password_hash(state.password))
                )
                os.chmod(self.dir / "users.acl", 0o600)
        except BaseException:
            shutil.rmtree(data, ignore_errors=True)
            raise
        self._write_state(state)
        return state

    def _write_state(self, state: ServiceState) -> None:
        fd = os.open(self.state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"port": state.port, "password": state.password}, handle)

    async def _initdb(self, data: Path, password: str) -> None:
        run = self.dir / "run"
        self._own(run)
        password_file = run / "initdb-password"
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        if self._account is not None:
            os.chown(password_file, self._account.uid, self._account.gid)
        lines: list[str] = []
        try:
            code = await spawn.run_to_completion(
                selfrun.run_as(
                    self._account, selfrun.postgres_initdb(self.bins, data, password_file)
                ),
                cwd=self.dir,
                env=self._environment(),
                on_line=lines.append,
                timeout=120,
            )
        finally:
            password_file.unlink(missing_ok=True)
        if code != 0:
            raise ServiceError(
                f"initdb {spawn.describe_exit(code)}: {lines[-1] if lines else 'no output'}",
                f"check the PostgreSQL binaries in {self.bins.origin}",
            )

    def _argv(self, state: ServiceState) -> list[str]:
        if self.kind == "postgres":
            run = self.dir / "run"
            self._own(run)
            argv = selfrun.postgres_server(
                self.bins, self.dir / "data", run, state.port, self._certificate()
            )
            return selfrun.run_as(self._account, argv)
        config = self.dir / "redis.conf"
        config.write_text(
            selfrun.redis_config(state.port, self.dir / "data", self.dir / "users.acl")
        )
        return selfrun.redis_server(self.bins, config)

    def _certificate(self) -> tuple[Path, Path]:
        """The server's self-signed certificate and key (made once; servers set up before TLS
        get theirs on their next start), readable only by the account it runs as."""
        tls = self.dir / "tls"
        cert, key = tls / "server.crt", tls / "server.key"
        if not (cert.is_file() and key.is_file()):
            self._own(tls)
            cert_pem, key_pem = self_signed("localhost")
            for path, data in ((cert, cert_pem), (key, key_pem)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                if self._account is not None:
                    os.chown(path, self._account.uid, self._account.gid)
        return cert, key

    async def start(self, adopted: AdoptedServer | None = None) -> str:
        """Set up if needed, start (or follow the ``adopted`` server), wait until it answers;
        its admin URL."""
        state = self.state()
        fresh = state is None
        if state is None:
            state = await self._set_up()
        elif adopted is not None:
            self._adopted = adopted
        for attempt in range(3):
            self._stopping = False
            self._task = asyncio.create_task(self._life(state), name=f"service-{self.kind}")
            if await self._wait_ready(state):
                return state.admin_url(self.kind)
            await self.stop(5.0)
            if not fresh or attempt == 2:
                break
            # The port chosen at set-up was taken before the server bound it: choose again.
            state = ServiceState(selfrun.free_port(), state.password)
            self._write_state(state)
        raise ServiceError(
            f"the {_LABELS[self.kind]} twelve runs did not start on 127.0.0.1:{state.port}",
            "see the daemon's log for its output",
        )

    async def _wait_ready(self, state: ServiceState) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT
        ping = _PINGS[self.kind]
        while time.monotonic() < deadline:
            if self._task is None or self._task.done():
                return False
            with contextlib.suppress(ServiceError):
                await ping(state.admin_url(self.kind))
                return True
            await asyncio.sleep(0.1)
        return False

    async def _life(self, state: ServiceState) -> None:
        await keep_running(
            lambda: self._run_once(state),
            Restarts(SERVER_BACKOFF),
            lambda: self._stopping,
            self._exited,
        )

    async def _run_once(self, state: ServiceState) -> int | None:
        adopted, self._adopted = self._adopted, None
        if adopted is not None:
            adopted.follow(self._output)
            child = adopted.child
        else:
            child = await self.launcher.launch(
                f"{RECORD_APP}/{self.record_name}",
                self._argv(state),
                self.dir,
                self._environment(),
                self._output,
            )
        self.child = child
        if self._stopping:
            # stop() came while the server was being started, so it could not signal it.
            await spawn.stop_group(child.pgid, self._grace, child)
            return None
        record = ProcessRecord(
            RECORD_APP,
            self.record_name,
            child.pid,
            child.pgid,
            child.start_ticks,
            state.port,
            0,
            None,
        )
        self.records.record(record)
        code = await child.wait()
        await child.output_done(5.0)
        self.records.forget(RECORD_APP, record.name, record.pid)
        return code

    def _exited(self, code: int | None, delay: float) -> bool:
        self._line(f"{spawn.describe_exit(code)}; restarting in {delay:.1f}s")
        return True

    async def stop(self, grace: float) -> None:
        self._stopping = True
        self._grace = grace
        child = self.child
        if child is not None and child.returncode is None:
            if self.kind == "postgres":
                # SIGINT is PostgreSQL's fast shutdown: it ends sessions instead of waiting for them.
                spawn.signal_group(child.pgid, signal.SIGINT)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(child.wait(), grace)
            await spawn.stop_group(child.pgid, grace, child)
        if self._task is not None:
            # The life task forgets the server's process record once it has read the last of its
            # output: let it get there. Cancelled at once, it could leave the record behind.
            # Twice the grace: it may be stopping a server that started as stop() was called.
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, 2 * grace)
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def let_go(self) -> None:
        """Stop following the server and leave it serving, recorded for the next daemon."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class ServiceRunner:
    """The servers twelve runs itself, started on first use and again at every daemon start."""

    def __init__(
        self,
        services_dir: Path,
        records: ProcessStore,
        on_line: OnLine,
        path: str,
        launcher: Launcher | None = None,
    ) -> None:
        self.services_dir = services_dir
        self.records = records
        self._on_line = on_line
        self._path = path
        self.path = path  # where server and client binaries are looked up
        self._launcher = launcher
        self._servers: dict[str, SelfRunServer] = {}
        self._urls: dict[str, str] = {}
        self._lock = asyncio.Lock()
        # Each Redis add-on's own server; that module builds on SelfRunServer above.
        from twelve.addons.dedicated import DedicatedServers  # noqa: PLC0415

        self.dedicated = DedicatedServers(
            services_dir / "redis-addons", records, on_line, path, launcher
        )

    def binaries(self, kind: str) -> Binaries | None:
        """Where this machine's server binaries for ``kind`` are, if anywhere."""
        return find_postgres(self._path) if kind == "postgres" else find_redis(self._path)

    def initialized(self, kind: str) -> bool:
        return (self.services_dir / kind / "service.json").exists()

    async def admin_url(self, kind: str, adopted: AdoptedServer | None = None) -> str:
        """The admin URL of the ``kind`` server twelve runs, starting (and setting up) it first,
        or following the ``adopted`` one."""
        async with self._lock:
            if kind in self._urls:
                return self._urls[kind]
            bins = self.binaries(kind)
            if bins is None:
                raise ServiceError(f"this machine has no {_LABELS[kind]} server to run")
            server = SelfRunServer(
                kind, self.services_dir / kind, bins, self.records, self._on_line, self._launcher
            )
            url = await server.start(adopted)
            self._servers[kind] = server
            self._urls[kind] = url
            log.info("%s running on 127.0.0.1 from %s", _LABELS[kind], bins.origin)
            return url

    async def start(self, adopted: Mapping[str, AdoptedServer] | None = None) -> None:
        """Bring back every server set up earlier (daemon start), following those still running
        (``adopted``, by record name); a failure is logged, not fatal."""
        adopted = adopted or {}
        for kind in ("postgres", "redis"):
            if self.initialized(kind):
                try:
                    await self.admin_url(kind, adopted.get(f"service.{kind}"))
                except ServiceError as exc:
                    log.error("%s: %s", _LABELS[kind], exc)
        await self.dedicated.start_all(adopted)

    async def stop(self, grace: float) -> None:
        """Stop every server (after the apps, so they shut down cleanly)."""
        await asyncio.gather(
            *(server.stop(grace) for server in self._servers.values()),
            self.dedicated.stop_all(grace),
        )
        self._servers.clear()
        self._urls.clear()

    async def let_go(self) -> None:
        """Leave every server running for the next daemon (a daemon stopping without its apps)."""
        await asyncio.gather(
            *(server.let_go() for server in self._servers.values()), self.dedicated.let_go_all()
        )
        self._servers.clear()
        self._urls.clear()
