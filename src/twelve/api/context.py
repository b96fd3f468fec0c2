"""What API handlers may use: the store to read, the deployer and supervisor to change things."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from twelve.gitpush import PushTokens
from twelve.logs.line import make_line
from twelve.settings import Settings
from twelve.store import Store

if TYPE_CHECKING:
    from twelve.addons.manager import AddonManager
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

    def event(self, app: str, process: str, text: str) -> None:
        """A ``twelve[process]`` line in the app's stream."""
        self.hub.publish(app, make_line("twelve", process, text))

    def notify(self, app: str, resource: str, action: str, data: dict[str, Any]) -> None:
        """An event for the app's webhooks (queued; sent in the background)."""
        if self.webhooks is not None:
            self.webhooks.notify(app, resource, action, data)

    def app_url(self, app: str) -> str:
        return self.router_url.replace("://", f"://{app}.", 1) if self.router_url else ""


def platform(request: Request) -> Platform:
    value = request.app.state.platform
    assert isinstance(value, Platform)
    return value


def existing_app(request: Request) -> tuple[Platform, str]:
    """The platform and the ``{app}`` of the path, which must name an app (else NotFound)."""
    p = platform(request)
    app = request.path_params["app"]
    p.store.get_app(app)
    return p, app
