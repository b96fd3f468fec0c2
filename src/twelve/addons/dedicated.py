"""Redis add-ons on a redis-server of their own, as Heroku gives them, when twelve runs Redis.

Each add-on gets its own supervised server under ``TWELVE_HOME/services/redis-addons/NAME``: its
own port, a password for the default user (so the URL is Heroku's ``redis://:PASSWORD@HOST:PORT``
and clients written before Redis 6 log in), a memory cap, append-only persistence, and no
CONFIG, DEBUG or ACL commands for the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from twelve.addons import selfrun
from twelve.addons.binaries import find_redis
from twelve.addons.naming import new_password, redis_password_hash, resource_identifier
from twelve.addons.provider import Provisioned
from twelve.addons.selfrun import AdoptedServer, ServiceState
from twelve.addons.services import OnLine, SelfRunServer
from twelve.errors import ServiceError
from twelve.store.processes import ProcessStore
from twelve.supervisor.launcher import Launcher

log = logging.getLogger("twelve.services")
SERVER_LABEL = "own redis-server"  # what `addons` shows as the server of such an add-on


def heroku_url(password: str, port: int) -> str:
    return f"redis://:{password}@127.0.0.1:{port}"


class DedicatedRedis(SelfRunServer):
    """One add-on's server: the supervision of SelfRunServer, with its own config."""

    def __init__(
        self,
        name: str,
        home: Path,
        records: ProcessStore,
        on_line: OnLine,
        path: str,
        maxmemory: int,
        launcher: Launcher | None = None,
    ) -> None:
        bins = find_redis(path)
        if bins is None:
            raise ServiceError("this machine has no Redis server to run")
        super().__init__("redis", home, bins, records, on_line, launcher)
        self.record_name = f"service.redis.{name}"
        self.maxmemory = maxmemory

    def _settings_file(self) -> Path:
        return self.dir / "addon.json"

    def admin_password(self) -> str:
        """twelve's own login on this server (made on first use, 0600 beside the data)."""
        path = self.dir / "admin-password"
        with contextlib.suppress(FileNotFoundError):
            return path.read_text().strip()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(new_password())
        return path.read_text().strip()

    def admin_url(self) -> str:
        state = self.state()
        assert state is not None
        return f"redis://{selfrun.ADMIN_USER_REDIS}:{self.admin_password()}@127.0.0.1:{state.port}"

    def set_password(self, password: str) -> None:
        """Record the app's new password: the config written at the next start has it."""
        state = self.state()
        assert state is not None
        self._write_state(ServiceState(state.port, password))

    async def _set_up(self) -> ServiceState:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        state = ServiceState(selfrun.free_port(), new_password())
        (self.dir / "data").mkdir(mode=0o700, exist_ok=True)
        self._write_state(state)
        self._settings_file().write_text(json.dumps({"maxmemory": self.maxmemory}))
        return state

    def _argv(self, state: ServiceState) -> list[str]:
        with contextlib.suppress(OSError, ValueError, KeyError):
            self.maxmemory = int(json.loads(self._settings_file().read_text())["maxmemory"])
        config = self.dir / "redis.conf"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(
                selfrun.dedicated_redis_config(
                    state.port,
                    self.dir / "data",
                    redis_password_hash(state.password),
                    self.maxmemory,
                    redis_password_hash(self.admin_password()),
                )
            )
        return selfrun.redis_server(self.bins, config)


class DedicatedServers:
    """The add-ons' own servers: made on provision, back at every daemon start, removed with
    their add-on."""

    def __init__(
        self,
        root: Path,
        records: ProcessStore,
        on_line: OnLine,
        path: str,
        launcher: Launcher | None,
    ) -> None:
        self.root = root
        self.records = records
        self._on_line = on_line
        self._path = path
        self._launcher = launcher
        self._servers: dict[str, DedicatedRedis] = {}
        self._lock = asyncio.Lock()

    def _server(self, name: str, maxmemory: int) -> DedicatedRedis:
        return DedicatedRedis(
            name,
            self.root / name,
            self.records,
            self._on_line,
            self._path,
            maxmemory,
            self._launcher,
        )

    async def create(self, name: str, maxmemory: int) -> str:
        """Start a new server for add-on ``name``; its URL in Heroku's form."""
        async with self._lock:
            if (self.root / name).exists():
                raise ServiceError(f"a Redis server for {name} already exists")
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            server = self._server(name, maxmemory)
            try:
                await server.start()
            except BaseException:
                shutil.rmtree(self.root / name, ignore_errors=True)
                raise
            self._servers[name] = server
            state = server.state()
            assert state is not None
            return heroku_url(state.password, state.port)

    def server(self, name: str) -> DedicatedRedis:
        """The running server of add-on ``name``."""
        server = self._servers.get(name)
        if server is None:
            raise ServiceError(f"the Redis server of {name} is not running")
        return server

    async def remove(self, name: str) -> None:
        """Stop the server of ``name`` and delete its data; one already gone is not an error."""
        async with self._lock:
            server = self._servers.pop(name, None)
            if server is not None:
                await server.stop(5.0)
            shutil.rmtree(self.root / name, ignore_errors=True)

    async def start_all(self, adopted: Mapping[str, AdoptedServer]) -> None:
        """Bring back every add-on's server (daemon start), following those still running
        (``adopted``, by record name); a failure is logged, not fatal."""
        if not self.root.is_dir():
            return
        for entry in sorted(self.root.iterdir()):
            if not (entry / "service.json").is_file():
                continue
            server = self._server(entry.name, 0)
            try:
                await server.start(adopted.get(server.record_name))
            except ServiceError as exc:
                log.error("Redis of %s: %s", entry.name, exc)
                continue
            self._servers[entry.name] = server

    async def stop_all(self, grace: float) -> None:
        await asyncio.gather(*(s.stop(grace) for s in self._servers.values()))
        self._servers.clear()

    async def let_go_all(self) -> None:
        await asyncio.gather(*(s.let_go() for s in self._servers.values()))
        self._servers.clear()


class DedicatedRedisProvider:
    """Provisions a Redis add-on as a server of its own."""

    service = "redis"
    server = SERVER_LABEL

    def __init__(self, servers: DedicatedServers, maxmemory: int) -> None:
        self.servers = servers
        self._servers = servers
        self._maxmemory = maxmemory
        self.origin = "a redis-server twelve runs for each add-on"

    async def provision(self, addon: str, existing: list[dict[str, Any]]) -> Provisioned:
        name = resource_identifier(addon)
        url = await self._servers.create(name, self._maxmemory)
        return Provisioned(url, {"dedicated": name})

    async def deprovision(self, resource: dict[str, Any]) -> None:
        await self._servers.remove(str(resource["dedicated"]))
