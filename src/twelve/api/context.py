"""What API handlers may use: the store to read, the deployer and supervisor to change things."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.requests import Request

from twelve.certs import CertStore, covers
from twelve.errors import TwelveError
from twelve.gitpush import PushTokens
from twelve.logs.line import make_line
from twelve.settings import Settings
from twelve.store import Store

Part = TypeVar("Part")

if TYPE_CHECKING:
    from twelve.acme.manager import AcmeManager
    from twelve.addons.manager import AddonManager
    from twelve.backups.manager import BackupManager
    from twelve.backups.scheduler import Scheduler as BackupScheduler
    from twelve.cron.scheduler import Scheduler
    from twelve.deploy import Deployer
    from twelve.logs.hub import LogHub
    from twelve.metrics.recorder import Recorder
    from twelve.supervisor.manager import Supervisor
    from twelve.webhooks.sender import Webhooks


@dataclass
class Platform:
    settings: Settings
    store: Store
    deployer: Deployer
    supervisor: Supervisor
    hub: LogHub
    token: str
    router_url: str = ""
    api_url: str = ""
    push_tokens: PushTokens = field(default_factory=PushTokens)
    addons: AddonManager | None = None
    metrics: Recorder | None = None
    webhooks: Webhooks | None = None
    backups: BackupManager | None = None
    backup_schedules: BackupScheduler | None = None
    scheduler: Scheduler | None = None
    acme: AcmeManager | None = None
    router_tls_url: str = ""  # https://DOMAIN:PORT when the router serves HTTPS

    def event(self, app: str, process: str, text: str) -> None:
        """A ``twelve[process]`` line in the app's stream."""
        self.hub.publish(app, make_line("twelve", process, text))

    def notify(self, app: str, resource: str, action: str, data: dict[str, Any]) -> None:
        """An event for the app's webhooks (queued; sent in the background); a new release also
        has the scheduler look at once, so a job it adds is seen before its first tick."""
        if self.webhooks is not None:
            self.webhooks.notify(app, resource, action, data)
        if resource == "release" and self.scheduler is not None:
            self.scheduler.wake.set()

    def app_url(self, app: str) -> str:
        return self.router_url.replace("://", f"://{app}.", 1) if self.router_url else ""

    def https_url(self, app: str) -> str:
        """``https://HOST[:PORT]`` for the app's first name its certificate covers, else ""."""
        if not self.router_tls_url:
            return ""
        stored = CertStore(self.settings.certs_dir).get(app)
        if stored is None or stored.info.expired(datetime.now(UTC)):
            return ""
        port = self.router_tls_url.rpartition(":")[2]
        suffix = f":{port}" if port.isdigit() and port != "443" else ""
        names = [h for h, _ in self.store.domains.pairs(app)] + [f"{app}.{self.settings.domain}"]
        for name in names:
            if any(covers(n, name) for n in stored.info.hostnames):
                return f"https://{name}{suffix}"
        return ""


def platform(request: Request) -> Platform:
    value = request.app.state.platform
    assert isinstance(value, Platform)
    return value


def configured(part: Part | None, missing: TwelveError) -> Part:
    """A part a platform may be composed without (add-ons, backups, metrics, the scheduler...);
    the error ``missing`` when this one was."""
    if part is None:
        raise missing
    return part


def existing_app(request: Request) -> tuple[Platform, str]:
    """The platform and the ``{app}`` of the path, which must name an app (else NotFound)."""
    p = platform(request)
    app = request.path_params["app"]
    p.store.apps.get(app)
    return p, app
