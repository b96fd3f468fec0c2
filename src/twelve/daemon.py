"""``twelve server``: the composition root. Builds every part, handles signals, shuts down in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from twelve.acme.manager import AcmeManager
from twelve.adoption import adopt, table_version
from twelve.api.context import Platform
from twelve.api.serving import serve_api
from twelve.certs import CertStore
from twelve.compose import Graph, compose
from twelve.features import FeatureStore
from twelve.home import ensure_token, prepare_home
from twelve.keeper.client import KeeperClient, KeptChild
from twelve.keeper.launcher import KeeperLauncher
from twelve.logs.line import make_line
from twelve.metrics.server import start_metrics
from twelve.router_process import ROUTER_KEY, RouterProcess
from twelve.routes import edge_entries, route_table, write_atomically
from twelve.settings import Settings
from twelve.store.rotation import reencrypt
from twelve.supervisor import spawn
from twelve.supervisor.confine import Confiner
from twelve.supervisor.scratch import clear_all

log = logging.getLogger("twelve")


class Daemon:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._shutdown = asyncio.Event()
        self._table_version = 0
        self._table_dirty = False
        self._routes_held = False  # while adopted processes are checked, the table stays as it is
        self.graph: Graph | None = None
        self.router: RouterProcess | None = None
        self.acme: AcmeManager | None = None
        self.keeper = KeeperClient(
            settings.keeper_socket,
            settings.keeper_buffer,
            on_line=self._kept_line,
            on_drops=self._kept_drops,
            after_batch=self._lines_taken,
            on_exit=self._kept_exit,
        )
        self.launcher = KeeperLauncher(self.keeper, self._unfollowed_line)

    def _request_shutdown(self, signum: int) -> None:
        # Signal handlers only record; the main coroutine acts.
        log.info("received %s, shutting down", signal.Signals(signum).name)
        self._shutdown.set()

    # -- lines from the keeper -----------------------------------------------------------------

    def _kept_line(self, child: KeptChild, text: str, stamp: datetime) -> None:
        self.launcher.line(child, text, stamp)

    def _unfollowed_line(self, child: KeptChild, text: str, stamp: datetime) -> None:
        """A line of a process nothing follows yet (adoption comes after the first lines)."""
        if child.key == ROUTER_KEY:
            if self.router is not None:
                self.router.output(text, stamp)
            return
        app, _, rest = child.key.partition("/")
        if self.graph is not None and app != "-twelve-" and rest:
            self.graph.hub.publish(app, make_line("app", rest.split("/")[0], text, stamp))

    def _kept_drops(self, child: KeptChild, count: int) -> None:
        app, _, rest = child.key.partition("/")
        if self.graph is not None and app != "-twelve-" and rest:
            self.graph.hub.publish(
                app,
                make_line(
                    "twelve",
                    "logs",
                    f"{count} lines of {rest.split('/')[0]} dropped while no daemon ran"
                    " (TWELVE_KEEPER_BUFFER was full)",
                ),
            )

    def _kept_exit(self, child: KeptChild) -> None:
        if self.graph is not None and child.meta.get("cron_run") is not None:
            self.graph.scheduler.exited(child.key, child.meta, child.returncode)

    def _lines_taken(self) -> None:
        """Lines from the keeper are in the journal before the keeper forgets them."""
        if self.graph is not None:
            self.graph.hub.flush()

    # -- the route table -----------------------------------------------------------------------

    def _routes_changed(self) -> None:
        if self.acme is not None:
            self.acme.poke()  # a domain added or removed may need a certificate
        if not self._table_dirty:
            self._table_dirty = True
            if not self._routes_held:
                asyncio.get_running_loop().call_soon(self._write_routes)

    async def _drain(self, port: int) -> None:
        """A retired web process: the router stops sending it requests and finishes its own."""
        if self._table_dirty and not self._routes_held:
            self._write_routes()
        if self.router is None:
            return
        drained = await self.router.wait_drained(
            port, self._table_version, self.settings.drain_timeout
        )
        if not drained:
            log.warning("requests on port %d still running after the drain timeout", port)

    def _write_routes(self) -> None:
        if self._routes_held or not self._table_dirty or self.graph is None:
            return
        self._table_dirty = False
        self._table_version += 1
        table = route_table(
            self._table_version,
            self.graph.supervisor.backends(),
            self.graph.store.domains.pairs(),
            CertStore(self.settings.certs_dir).all(),
            self._edges(),
            self.graph.platform.backups.maintenance if self.graph.platform.backups else (),
        )
        write_atomically(self.settings.routes_path, table)
        if self.router is not None:
            self.router.reload()

    def _edges(self) -> dict[str, dict[str, Any]]:
        """What the router answers itself, app by app (ACME challenges, https-redirect, HSTS)."""
        tls = self.router.tls_address if self.router is not None else None
        return edge_entries(
            FeatureStore(self.settings.features_path).all(),
            self.acme.enabled_apps() if self.acme is not None else [],
            self.acme.challenges if self.acme is not None else {},
            int(tls.rsplit(":", 1)[1]) if tls else 0,
            self.acme.alpn if self.acme is not None else {},
        )

    async def _publish_edges(self) -> None:
        """Write the route table now and wait until every router worker has loaded it."""
        self._table_dirty = True
        self._write_routes()
        if self.router is not None and not self._routes_held:
            await self.router.wait_drained(0, self._table_version, 10.0)

    # -- running -------------------------------------------------------------------------------

    def compose(self, token: str, confiner: Confiner) -> Graph:
        return compose(
            self.settings,
            token,
            confiner=confiner,
            service_line=_service_line,
            routes_changed=self._routes_changed,
            drain=self._drain,
            launcher=self.launcher,
        )

    async def run(self) -> int:
        """Compose the platform, start each part with its stop on the stack, serve until a signal."""
        s = self.settings
        confiner = prepare_home(s)
        token = ensure_token(s)
        loop = asyncio.get_running_loop()
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(_unlink, s.endpoints_path)  # last: the daemon is gone once it is
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self._request_shutdown, signum)
                stack.callback(loop.remove_signal_handler, signum)
            self.graph = graph = self.compose(token, confiner)
            stack.callback(graph.store.close)
            rewritten = reencrypt(graph.store.db)
            if rewritten:
                log.info("re-encrypted %d stored secrets with the current key", rewritten)
            await graph.hub.start()
            stack.push_async_callback(graph.hub.close)
            kept = await self.keeper.connect()
            stack.push_async_callback(self._leave_keeper)
            if self.keeper.outdated:
                log.info("the keeper runs %s: handing it over to this twelve", self.keeper.program)
                await self.keeper.upgrade()
            adopted = adopt(graph, kept, self.launcher)
            if adopted.count:
                log.info("adopted %d running processes", adopted.count)
                self._routes_held = True
            for child in adopted.oneoffs:
                await graph.supervisor.oneoffs.adopt(child, partial(self.launcher.attach, child))
            ended = await graph.supervisor.end_previous_life(keep=adopted.pids)
            ended += await end_orphans(adopted.orphans, s.stop_timeout)
            if ended:
                log.info("ended %d processes left by a previous run", ended)
            await clear_all(s.scratch_dir, keep=adopted.scratch)
            # Add-ons: the servers twelve runs itself come back before the apps that use them.
            stack.push_async_callback(self._stop_services)
            await graph.services.start(adopted.services)
            router_address, tls = await self._start_router(stack, adopted.router)
            platform = graph.platform
            platform.router_url = f"http://{_url_host(router_address, s.domain)}"
            stack.push_async_callback(self._stop_apps)
            api_url = await serve_api(stack, platform, self.settings.api_bind)
            if api_url is None:
                return 1
            platform.api_url = api_url
            if tls:
                platform.router_tls_url = f"https://{_url_host(tls, s.domain)}"
            write_atomically(
                s.endpoints_path,
                {"api_url": api_url, "router_url": platform.router_url, "pid": os.getpid()}
                | ({"router_tls_url": f"https://{_url_host(tls, s.domain)}"} if tls else {}),
            )
            log.info("API listening on %s", api_url)
            log.info("router listening on %s (apps at http://APP.%s)", router_address, s.domain)
            if tls:
                log.info("router serving HTTPS on %s (certs:add -a APP CERT KEY)", tls)
            self.acme = platform.acme = AcmeManager(
                s, graph.store, lambda app, text: _acme_line(platform, app, text),
                self._publish_edges,
            )  # fmt: skip
            await self._restore(graph)
            self.acme.start()
            stack.push_async_callback(self.acme.stop)
            await self._start_backups(stack, graph)
            scheduler = asyncio.create_task(graph.scheduler.run(), name="scheduler")
            stack.push_async_callback(_stop_scheduler, graph, scheduler)
            await start_metrics(stack, graph)
            await self._shutdown.wait()
        log.info("stopped")
        return 0

    async def _start_router(
        self, stack: contextlib.AsyncExitStack, adopted: KeptChild | None
    ) -> tuple[str, str | None]:
        assert self.graph is not None
        s = self.settings
        g = self.graph
        self.router = RouterProcess(
            s, g.store.processes, g.hub, self.launcher, self._note_router, g.platform.metrics
        )
        stack.push_async_callback(self._stop_router)
        if adopted is not None and "address" in adopted.meta:
            self._table_version = table_version(s.routes_path)
            self.launcher.attach(adopted, self.router.output)
            self.router.adopt(adopted, adopted.meta)
        else:
            certs = CertStore(s.certs_dir).all()
            table = route_table(0, {}, self.graph.store.domains.pairs(), certs)
            write_atomically(s.routes_path, table)
            self.router.start()
        address = await asyncio.wait_for(self.router.address, 30)
        return address, self.router.tls_address

    def _note_router(self, child: spawn.Running, meta: dict[str, str]) -> None:
        if isinstance(child, KeptChild):
            task = asyncio.create_task(self.keeper.note(child, meta))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _restore(self, graph: Graph) -> None:
        # Every app's formation comes back at once; one that cannot boot keeps retrying under
        # the restart policy and does not hold the others up.
        apps = graph.store.apps.all()
        for app in apps:
            await graph.hub.set_drains(app.name, graph.store.drains.of_app(app.name))
        await asyncio.gather(*(graph.deployer.restore(app.name) for app in apps))
        unclaimed = await graph.supervisor.end_unclaimed()
        if unclaimed:
            log.info("ended %d processes no app runs any more", unclaimed)
        # Adopted processes are checked: the table is written once, with all of them.
        self._routes_held = False
        self._write_routes()

    async def _start_backups(self, stack: contextlib.AsyncExitStack, graph: Graph) -> None:
        """Fail what a previous daemon left half-made, then run schedules (missed ones first)."""
        platform = graph.platform
        if platform.backups is None or platform.backup_schedules is None:
            return
        left = platform.backups.recover()
        if left:
            logging.getLogger("backups").error("%d backups were cut short by a stop", left)
        task = asyncio.create_task(platform.backup_schedules.run(), name="backup-schedules")

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        stack.push_async_callback(stop)

    async def _stop_apps(self) -> None:
        assert self.graph is not None
        self._routes_held = True  # a stopping daemon leaves the router's table as it is
        # An attached one-off cannot outlive the connection its caller holds to this daemon.
        await self.graph.supervisor.oneoffs.end_attached("the daemon stopped")
        if self.settings.stop_apps:
            log.info("stopping app processes")
            await self.graph.supervisor.stop_all()
        else:
            log.info("leaving app processes running for the next daemon")
            self.graph.supervisor.let_go()

    async def _stop_services(self) -> None:
        assert self.graph is not None
        if self.settings.stop_apps:
            await self.graph.services.stop(self.settings.stop_timeout)
        else:
            await self.graph.services.let_go()

    async def _stop_router(self) -> None:
        if self.router is None:
            return
        if self.settings.stop_apps:
            await self.router.stop(self.settings.stop_timeout)
        else:
            await self.router.let_go()

    async def _leave_keeper(self) -> None:
        if self.settings.stop_apps:
            await self.keeper.shutdown()
        await self.keeper.close()


async def end_orphans(orphans: list[KeptChild], grace: float) -> int:
    """Processes the keeper holds that no record names (started as a daemon died): ended."""
    await asyncio.gather(*(spawn.stop_group(c.pgid, grace, c) for c in orphans))
    return len(orphans)


async def _stop_scheduler(graph: Graph, task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await graph.scheduler.close()


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _acme_line(platform: Platform, app: str, text: str) -> None:
    """An automatic certificate's step: in the app's stream, and in the daemon's own log."""
    platform.event(app, "acme", text)
    logging.getLogger("acme").info("%s: %s", app, text)


def _service_line(service: str, text: str) -> None:
    """A line of a server twelve runs, in the daemon's own log as ``twelve[postgres]``."""
    logging.getLogger(service).info("%s", text)


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
