"""``twelve server``: the composition root. Builds every part, handles signals, shuts down in order."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import sys
from collections.abc import Iterator

import uvicorn

from twelve.addons.manager import AddonManager
from twelve.addons.registry import Registry
from twelve.addons.services import ServiceRunner
from twelve.api.app import create_app
from twelve.api.context import Platform
from twelve.certs import CertStore
from twelve.deploy import Deployer
from twelve.logs.capture import read_lines, stamp_clock
from twelve.logs.hub import LogHub
from twelve.logs.line import LogLine, make_line
from twelve.router.accesslog import split_access_line
from twelve.routes import route_table, write_atomically
from twelve.settings import Settings, twelve_executable
from twelve.store import ProcessRecord, Store
from twelve.store.secrets import Cipher
from twelve.supervisor import spawn
from twelve.supervisor.confine import Confiner
from twelve.supervisor.isolation import Users, isolation_problem
from twelve.supervisor.limits import CgroupManager
from twelve.supervisor.manager import Supervisor
from twelve.supervisor.policy import SERVER_BACKOFF, Backoff, Restarts
from twelve.supervisor.process import Timing
from twelve.supervisor.restart import keep_running
from twelve.supervisor.scratch import clear_all

log = logging.getLogger("twelve")
ROUTER_RECORD = ("-twelve-", "router")


def ensure_token(settings: Settings) -> str:
    """The API token: from TWELVE_API_TOKEN, else generated once into a 0600 file."""
    if settings.api_token:
        return settings.api_token
    path = settings.token_path
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


class RouterProcess:
    """The router as a child process group: started, fed SIGHUP on table changes, restarted."""

    def __init__(self, settings: Settings, store: Store, hub: LogHub) -> None:
        self.settings = settings
        self.store = store
        self.hub = hub
        self.child: spawn.Child | None = None
        self.address: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.tls_address: str | None = None  # announced before ``listening`` when HTTPS is on
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # Per router worker: the table version it runs and retired ports it still has requests on.
        self._workers: dict[int, tuple[int, frozenset[int]]] = {}
        self._drain_changed = asyncio.Event()
        self._stamp = stamp_clock()

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in self.settings.environ.items() if k != "TWELVE_API_TOKEN"}
        env.update({"TWELVE_HOME": str(self.settings.home), "PATH": os.environ.get("PATH", "")})
        return env

    def start(self) -> None:
        self._task = asyncio.create_task(self._life(), name="router")

    async def _life(self) -> None:
        await keep_running(
            self._run_once, Restarts(SERVER_BACKOFF), lambda: self._stopping, self._exited
        )

    async def _run_once(self) -> int:
        argv = [*twelve_executable()[:1], "-m", "twelve.router"]
        self._workers.clear()
        self.child = await spawn.start(argv, cwd=self.settings.home, env=self.environment())
        self.store.record_process(
            ProcessRecord(
                *ROUTER_RECORD,
                self.child.pid,
                self.child.pgid,
                self.child.start_ticks,
                None,
                0,
                None,
            )
        )
        assert self.child.process.stdout is not None
        await read_lines(self.child.process.stdout, self.handle_line)
        code = await self.child.process.wait()
        self.store.forget_process(*ROUTER_RECORD, self.child.pid)
        return code

    def _exited(self, code: int, delay: float) -> bool:
        log.warning("router %s; restarting in %.1fs", spawn.describe_exit(code), delay)
        return True

    def handle_line(self, raw: bytes) -> None:
        """One line of the router's stdout: an access line for an app's stream, or an event."""
        access = split_access_line(raw)  # nearly every line: read without a JSON parser
        if access is not None:
            app, line = access
            self.hub.publish(app, LogLine(self._stamp(), "router", "router", line))
            return
        try:
            event = json.loads(raw)
        except ValueError:
            log.info("router: %s", raw.decode(errors="replace").rstrip())
            return
        if not isinstance(event, dict):
            return
        if event.get("event") == "listening" and not self.address.done():
            self.address.set_result(str(event["address"]))
        elif event.get("event") == "listening_tls":
            self.tls_address = str(event["address"])
        elif event.get("event") == "drain":
            busy = frozenset(int(p) for p in event.get("busy", []))
            self._workers[int(event["pid"])] = (int(event.get("version", 0)), busy)
            self._drain_changed.set()
        elif isinstance(event.get("app"), str) and "line" in event:
            self.hub.publish(event["app"], make_line("router", "router", str(event["line"])))
        elif "line" in event or "message" in event:
            log.info("router: %s", event.get("line") or event.get("message"))

    async def wait_drained(self, port: int, version: int, timeout: float) -> bool:
        """Until every worker runs table ``version`` (or newer) and has no request on ``port``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            workers = list(self._workers.values())
            if all(v >= version and port not in busy for v, busy in workers):
                return True
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            self._drain_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drain_changed.wait(), remaining)

    def reload(self) -> None:
        if self.child is not None and self.child.process.returncode is None:
            spawn.signal_group(self.child.pgid, signal.SIGHUP)

    async def stop(self, grace: float) -> None:
        self._stopping = True
        if self.child is not None:
            await spawn.stop_group(self.child.pgid, grace, self.child)
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class _ApiServer(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Daemon:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._shutdown = asyncio.Event()
        self._table_version = 0
        self._table_dirty = False

    def _request_shutdown(self, signum: int) -> None:
        # Signal handlers only record; the main coroutine acts.
        log.info("received %s, shutting down", signal.Signals(signum).name)
        self._shutdown.set()

    def _routes_changed(self) -> None:
        if not self._table_dirty:
            self._table_dirty = True
            asyncio.get_running_loop().call_soon(self._write_routes)

    async def _drain(self, port: int) -> None:
        """A retired web process: the router stops sending it requests and finishes its own."""
        if self._table_dirty:
            self._write_routes()
        drained = await self.router.wait_drained(
            port, self._table_version, self.settings.drain_timeout
        )
        if not drained:
            log.warning("requests on port %d still running after the drain timeout", port)

    def _write_routes(self) -> None:
        self._table_dirty = False
        self._table_version += 1
        table = route_table(
            self._table_version,
            self.supervisor.backends(),
            self.store.list_domains(),
            CertStore(self.settings.certs_dir).all(),
        )
        write_atomically(self.settings.routes_path, table)
        self.router.reload()

    async def run(self) -> int:
        s = self.settings
        for path in (s.home, s.run_dir, s.logs_dir, s.builds_dir, s.scratch_dir):
            path.mkdir(parents=True, exist_ok=True)
        problem = isolation_problem(s.home)
        # With per-app users, they must be able to reach their own slug and scratch directories
        # (and nothing else: home is searchable, not listable, by others).
        os.chmod(s.home, 0o700 if problem else 0o711)
        for shared in (s.builds_dir, s.scratch_dir):
            os.chmod(shared, 0o700 if problem else 0o711)
        users = Users(enabled=problem is None)
        cgroups = CgroupManager(pids_max=s.process_pids_max or None)
        if problem:
            log.warning("apps are not isolated from each other: %s", problem)
        else:
            log.info("each app runs as its own system user (tw-APP)")
        log.info("process limits are enforced with %s", cgroups.mode)
        token = ensure_token(s)
        self.store = Store(
            s.store_path, Cipher.from_home(s.home, s.secret_key, s.secret_key_previous)
        )
        rewritten = self.store.reencrypt()
        if rewritten:
            log.info("re-encrypted %d stored secrets with the current key", rewritten)
        self.hub = LogHub(s.logs_dir, s.log_max_bytes, s.log_files)
        await self.hub.start()

        def app_line(app: str, process: str, text: str) -> None:
            self.hub.publish(app, make_line("app", process, text))

        def event(app: str, process: str, text: str) -> None:
            self.hub.publish(app, make_line("twelve", process, text))

        timing = Timing(
            boot_timeout=s.boot_timeout,
            stop_timeout=s.stop_timeout,
            drain_pause=min(s.drain_timeout, 1.0),
            backoff=Backoff(cap=s.restart_backoff_max, reset_after=s.restart_reset_after),
        )
        self.supervisor = Supervisor(
            self.store,
            s.scratch_dir,
            timing,
            app_line,
            event,
            self._routes_changed,
            Confiner(users, cgroups),
            self._drain,
        )
        deployer = Deployer(s, self.store, self.supervisor, event, app_line)
        ended = await self.supervisor.end_previous_life()
        if ended:
            log.info("ended %d processes left by a previous run", ended)
        await clear_all(s.scratch_dir)
        # Add-ons: the servers twelve runs itself come back before the apps that use them.
        self.services = ServiceRunner(
            s.services_dir, self.store, _service_line, os.environ.get("PATH", "")
        )
        await self.services.start()
        addons = AddonManager(self.store, Registry(s, self.services), deployer, event)

        certs = CertStore(s.certs_dir).all()
        write_atomically(s.routes_path, route_table(0, {}, self.store.list_domains(), certs))
        self.router = RouterProcess(s, self.store, self.hub)
        self.router.start()
        router_address = await asyncio.wait_for(self.router.address, 30)
        tls = self.router.tls_address

        platform = Platform(s, self.store, deployer, self.supervisor, self.hub, token)
        platform.addons = addons
        platform.router_url = f"http://{_url_host(router_address, s.domain)}"
        server = _ApiServer(
            uvicorn.Config(
                create_app(platform),
                host=s.api_bind.host,
                port=s.api_bind.port,
                log_level="warning",
                timeout_graceful_shutdown=10,
                lifespan="off",
                access_log=False,
            )
        )
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._request_shutdown, signum)
        api_task = asyncio.create_task(server.serve())
        while not server.started:
            if api_task.done():
                await api_task
                log.error("the API could not bind %s", s.api_bind)
                return 1
            await asyncio.sleep(0.02)
        sock = server.servers[0].sockets[0].getsockname()
        api_url = f"http://{_host(sock[0])}:{sock[1]}"
        platform.api_url = api_url
        write_atomically(
            s.endpoints_path,
            {"api_url": api_url, "router_url": platform.router_url, "pid": os.getpid()}
            | ({"router_tls_url": f"https://{_url_host(tls, s.domain)}"} if tls else {}),
        )
        log.info("API listening on %s", api_url)
        log.info("router listening on %s (apps at http://APP.%s)", router_address, s.domain)
        if tls:
            log.info("router serving HTTPS on %s (certs:add -a APP CERT KEY)", tls)

        # Every app's formation comes back at once; one that cannot boot keeps retrying under
        # the restart policy and does not hold the others up.
        for app in self.store.list_apps():
            await self.hub.set_drains(app.name, self.store.list_drains(app.name))
        await asyncio.gather(*(deployer.restore(app.name) for app in self.store.list_apps()))

        await self._shutdown.wait()
        log.info("stopping the API")
        self.hub.end_readers()  # live tails end now; their clients reconnect to the next daemon
        server.should_exit = True
        await api_task
        log.info("stopping app processes")
        await self.supervisor.stop_all()
        await self.services.stop(s.stop_timeout)
        await self.router.stop(s.stop_timeout)
        await self.hub.close()
        self.store.close()
        with contextlib.suppress(FileNotFoundError):
            s.endpoints_path.unlink()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        log.info("stopped")
        return 0


def _service_line(service: str, text: str) -> None:
    """A line of a server twelve runs, in the daemon's own log as ``twelve[postgres]``."""
    logging.getLogger(service).info("%s", text)


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _url_host(address: str, domain: str) -> str:
    port = address.rsplit(":", 1)[1]
    return f"{domain}:{port}" if port != "80" else domain


def serve(settings: Settings) -> int:
    """Run the daemon in the foreground until SIGTERM or SIGINT; its exit code."""
    logging.basicConfig(
        stream=sys.stdout,
        level=settings.log_level.upper(),
        format="%(asctime)s twelve[%(name)s] %(levelname)s %(message)s",
    )
    return asyncio.run(Daemon(settings).run())
