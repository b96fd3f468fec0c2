"""The object graph of the platform, built in one place: the daemon runs it, tests build it too.

Building starts nothing (no process, no task, no socket): what runs is started, each with its
stop, by the daemon (``twelve.daemon``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from twelve.addons.manager import AddonManager
from twelve.addons.registry import Registry
from twelve.addons.services import ServiceRunner
from twelve.api.context import Platform
from twelve.backups.manager import BackupManager
from twelve.backups.scheduler import Scheduler as BackupScheduler
from twelve.cron.clock import CronClock, ScaledClock, SystemClock
from twelve.cron.scheduler import Scheduler
from twelve.deploy import Deployer
from twelve.logs.hub import LogHub
from twelve.logs.line import make_line
from twelve.metrics.recorder import Recorder
from twelve.settings import Settings
from twelve.store import Store
from twelve.store.secrets import Cipher
from twelve.supervisor.confine import Confiner
from twelve.supervisor.launcher import Launcher
from twelve.supervisor.manager import Supervisor
from twelve.supervisor.policy import Backoff
from twelve.supervisor.process import Timing
from twelve.webhooks.sender import Webhooks

ServiceLine = Callable[[str, str], None]


@dataclass(frozen=True)
class Graph:
    """Every long-lived part of the platform, wired to each other."""

    settings: Settings
    store: Store
    hub: LogHub
    supervisor: Supervisor
    deployer: Deployer
    services: ServiceRunner
    platform: Platform
    scheduler: Scheduler


def timing(settings: Settings) -> Timing:
    return Timing(
        boot_timeout=settings.boot_timeout,
        stop_timeout=settings.stop_timeout,
        drain_pause=min(settings.drain_timeout, 1.0),
        backoff=Backoff(cap=settings.restart_backoff_max, reset_after=settings.restart_reset_after),
    )


def _cron_clock(settings: Settings) -> CronClock:
    if settings.cron_speedup == 1:
        return SystemClock()
    return ScaledClock(settings.run_dir / "cron-origin", settings.cron_speedup)


def compose(
    settings: Settings,
    token: str,
    *,
    confiner: Confiner | None = None,
    path: str | None = None,
    service_line: ServiceLine | None = None,
    routes_changed: Callable[[], None] = lambda: None,
    drain: Callable[[int], Awaitable[None]] | None = None,
    launcher: Launcher | None = None,
    cron_clock: CronClock | None = None,
) -> Graph:
    """The platform on ``settings``: its store, log hub, supervisor, deployer and add-ons.

    ``path`` is where add-on server binaries are looked up (the daemon's PATH by default);
    ``routes_changed`` and ``drain`` are how the supervisor reaches the router.
    """
    store = Store(
        settings.store_path,
        Cipher.from_home(settings.home, settings.secret_key, settings.secret_key_previous),
    )
    hub = LogHub(settings.logs_dir, settings.log_max_bytes, settings.log_files)

    def app_line(app: str, process: str, text: str, stamp: datetime | None = None) -> None:
        hub.publish(app, make_line("app", process, text, stamp))

    def event(app: str, process: str, text: str) -> None:
        hub.publish(app, make_line("twelve", process, text))

    supervisor = Supervisor(
        store,
        settings.scratch_dir,
        timing(settings),
        app_line,
        event,
        routes_changed,
        confiner,
        drain,
        launcher=launcher,
    )
    deployer = Deployer(settings, store, supervisor, event, app_line)
    services = ServiceRunner(
        settings.services_dir,
        store.processes,
        service_line or (lambda _service, _text: None),
        os.environ.get("PATH", "") if path is None else path,
        launcher,
    )
    addons = AddonManager(store, Registry(settings, services), deployer, event)
    backups = BackupManager(
        settings, store, addons, deployer, event, routes_changed, path=services.path
    )
    scheduler = Scheduler(
        store,
        supervisor.oneoffs,
        cron_clock or _cron_clock(settings),
        event,
        tz=settings.cron_tz,
        catchup=settings.cron_catchup,
    )
    metrics = Recorder(store.metrics, time.time, settings.metrics_max_series)
    webhooks = Webhooks(store.webhooks, time.time, settings.webhook_retry_base)
    platform = Platform(
        settings,
        store,
        deployer,
        supervisor,
        hub,
        token,
        addons=addons,
        backups=backups,
        backup_schedules=BackupScheduler(backups),
        scheduler=scheduler,
        metrics=metrics,
        webhooks=webhooks,
    )
    deployer.notify = supervisor.notify = platform.notify
    return Graph(settings, store, hub, supervisor, deployer, services, platform, scheduler)
