"""What every route needs of its caller, and what the audit trail records of it: one table.

The guard (api/guard.py) looks each request's route up here before the route runs. A route that is
served but not in this table needs a platform admin, and tests/integration/test_route_permissions.py
fails for it, so a new route cannot be reachable by everyone by omission.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from twelve.access.roles import Need
from twelve.logs.drain_url import redact

Details = Callable[[Mapping[str, str], dict[str, Any], Mapping[str, str]], dict[str, Any]]


def _none(_path: Mapping[str, str], _body: dict[str, Any], _q: Mapping[str, str]) -> dict[str, Any]:
    return {}


def _config(_p: Mapping[str, str], body: dict[str, Any], _q: Mapping[str, str]) -> dict[str, Any]:
    """Keys set and unset; never a value."""
    keys = [k for k in body if isinstance(k, str)]
    return {
        "set": sorted(k for k in keys if body[k] is not None),
        "unset": sorted(k for k in keys if body[k] is None),
    }


def _fields(*names: str) -> Details:
    def pick(path: Mapping[str, str], body: dict[str, Any], q: Mapping[str, str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name in names:
            for source in (path, body, q):
                value = source.get(name)
                if isinstance(value, str | int | bool) and not isinstance(value, float):
                    found[name] = value[:500] if isinstance(value, str) else value
                    break
        return found

    return pick


def _counts(_p: Mapping[str, str], body: dict[str, Any], _q: Mapping[str, str]) -> dict[str, Any]:
    return {str(k)[:63]: v for k, v in body.items() if isinstance(v, int)}


def _url_field(name: str) -> Details:
    """A URL's scheme and host only: drain and attachment URLs carry credentials."""

    def pick(path: Mapping[str, str], body: dict[str, Any], q: Mapping[str, str]) -> dict[str, Any]:
        value = body.get(name)
        if not isinstance(value, str):
            return {}
        if "://" not in value:
            return {name: value[:100]}  # an add-on's name, not a URL
        try:
            parts = urlsplit(value)
            return {name: f"{parts.scheme}://{parts.hostname or ''}"}
        except ValueError:
            return {name: "<malformed URL>"}

    return pick


def _deploy(_p: Mapping[str, str], body: dict[str, Any], _q: Mapping[str, str]) -> dict[str, Any]:
    url = body.get("git_url")
    if isinstance(url, str):
        return {"source": redact(url), "ref": str(body.get("ref") or "")[:200]}
    return {"source": "tarball"}


@dataclass(frozen=True)
class Rule:
    """What one route needs, where its app is named, and the audit action it records (if any)."""

    need: Need
    app_from: str | None = None  # "app" or "repo" (a path parameter), or "addon" (an add-on name)
    action: str | None = None
    details: Details = _none


V, D, A = Need.VIEWER, Need.DEPLOYER, Need.ADMIN

RULES: dict[tuple[str, str], Rule] = {
    ("get", "/"): Rule(Need.SIGNED_IN),
    ("get", "/openapi.json"): Rule(Need.SIGNED_IN),
    ("get", "/apps"): Rule(Need.SIGNED_IN),  # lists only the apps the caller has a role on
    ("post", "/apps"): Rule(Need.PLATFORM, None, "apps:create", _fields("name")),
    ("get", "/apps/{app}"): Rule(V, "app"),
    ("delete", "/apps/{app}"): Rule(A, "app", "apps:destroy"),
    ("post", "/apps/{app}/deploys"): Rule(D, "app", "deploy", _deploy),
    ("get", "/apps/{app}/releases"): Rule(V, "app"),
    ("post", "/apps/{app}/rollback"): Rule(D, "app", "rollback", _fields("version")),
    ("get", "/apps/{app}/config"): Rule(V, "app"),  # values masked below admin
    ("patch", "/apps/{app}/config"): Rule(A, "app", "config", _config),
    ("get", "/apps/{app}/ps"): Rule(V, "app"),
    ("post", "/apps/{app}/ps/restart"): Rule(D, "app", "restart", _fields("process")),
    ("get", "/apps/{app}/formation"): Rule(V, "app"),
    ("patch", "/apps/{app}/formation"): Rule(D, "app", "scale", _counts),
    ("get", "/apps/{app}/limits"): Rule(V, "app"),
    ("patch", "/apps/{app}/limits"): Rule(D, "app", "limits", _fields("type", "memory", "cpu")),
    ("post", "/apps/{app}/run"): Rule(D, "app", "run", _fields("command", "detached")),
    # An attached one-off: the WebSocket's handshake, with the command in its query.
    ("get", "/apps/{app}/run"): Rule(D, "app", "run", _fields("command")),
    ("post", "/apps/{app}/ps/stop"): Rule(D, "app", "ps:stop", _fields("process")),
    ("get", "/apps/{app}/cron"): Rule(V, "app"),
    ("get", "/apps/{app}/cron/runs"): Rule(V, "app"),
    ("post", "/apps/{app}/cron/{job}/run"): Rule(D, "app", "cron:run", _fields("job")),
    ("get", "/apps/{app}/logs"): Rule(V, "app"),
    ("get", "/apps/{app}/domains"): Rule(V, "app"),
    ("post", "/apps/{app}/domains"): Rule(A, "app", "domains:add", _fields("hostname")),
    ("delete", "/apps/{app}/domains/{hostname}"): Rule(
        A, "app", "domains:remove", _fields("hostname")
    ),
    ("get", "/apps/{app}/drains"): Rule(A, "app"),  # drain URLs hold credentials
    ("post", "/apps/{app}/drains"): Rule(A, "app", "drains:add", _url_field("url")),
    ("post", "/apps/{app}/drains/remove"): Rule(A, "app", "drains:remove", _url_field("url")),
    ("get", "/apps/{app}/certs"): Rule(V, "app"),
    ("post", "/apps/{app}/certs"): Rule(A, "app", "certs:add"),
    ("delete", "/apps/{app}/certs"): Rule(A, "app", "certs:remove"),
    ("get", "/apps/{app}/certs/auto"): Rule(V, "app"),
    ("post", "/apps/{app}/certs/auto"): Rule(A, "app", "certs:auto:enable"),
    ("delete", "/apps/{app}/certs/auto"): Rule(A, "app", "certs:auto:disable"),
    ("get", "/apps/{app}/features"): Rule(V, "app"),
    ("post", "/apps/{app}/features/{name}"): Rule(A, "app", "features:enable", _fields("name")),
    ("delete", "/apps/{app}/features/{name}"): Rule(A, "app", "features:disable", _fields("name")),
    ("get", "/apps/{app}/export"): Rule(A, "app"),  # holds config values
    ("get", "/addons"): Rule(Need.PLATFORM_READ),
    ("get", "/addons/{name}"): Rule(V, "addon"),
    ("delete", "/addons/{name}"): Rule(A, "addon", "addons:destroy", _fields("name")),
    ("get", "/apps/{app}/addons"): Rule(V, "app"),
    ("post", "/apps/{app}/addons"): Rule(
        A, "app", "addons:create", _fields("service", "as", "name")
    ),
    ("post", "/apps/{app}/addon-attachments"): Rule(
        A,
        "app",
        "addons:attach",
        lambda p, b, q: {**_url_field("target")(p, b, q), **_fields("as")(p, b, q)},
    ),
    ("delete", "/apps/{app}/addon-attachments/{name}"): Rule(
        A, "app", "addons:detach", _fields("name")
    ),
    ("post", "/apps/{app}/addons/{name}/credentials/rotate"): Rule(
        A, "app", "addons:credentials:rotate", _fields("name")
    ),
    # Backups hold all of an add-on's data: reading one whole, or writing one back, is admin's.
    ("get", "/apps/{app}/backups"): Rule(V, "app"),
    ("post", "/apps/{app}/backups"): Rule(D, "app", "backups:capture", _fields("addon")),
    ("get", "/apps/{app}/backups/{id}"): Rule(V, "app"),
    ("delete", "/apps/{app}/backups/{id}"): Rule(A, "app", "backups:delete", _fields("id")),
    ("get", "/apps/{app}/backups/{id}/download"): Rule(A, "app", "backups:download", _fields("id")),
    ("post", "/apps/{app}/backups/{id}/verify"): Rule(D, "app", "backups:verify", _fields("id")),
    ("post", "/apps/{app}/backups/{id}/restore"): Rule(
        A, "app", "backups:restore", _fields("id", "to")
    ),
    ("post", "/apps/{app}/backup-schedules"): Rule(
        A, "app", "backups:schedule", _fields("addon", "at", "daily", "weekly")
    ),
    ("delete", "/apps/{app}/backup-schedules"): Rule(
        A, "app", "backups:unschedule", _fields("addon")
    ),
    ("get", "/runtimes"): Rule(Need.PLATFORM_READ),
    ("post", "/runtimes"): Rule(Need.PLATFORM, None, "runtimes:add", _fields("spec", "path")),
    ("delete", "/runtimes/{spec}"): Rule(Need.PLATFORM, None, "runtimes:remove", _fields("spec")),
    # git clients fetch and push through the same two routes; both need the deployer role.
    ("get", "/git/{repo}/{rest}"): Rule(D, "repo"),
    ("post", "/git/{repo}/{rest}"): Rule(D, "repo"),
    # Users, tokens, roles and the audit trail (api/users.py).
    ("post", "/auth/login"): Rule(Need.PUBLIC, None, "login", _fields("user")),
    ("get", "/auth/whoami"): Rule(Need.SIGNED_IN),
    ("delete", "/auth/session"): Rule(Need.SIGNED_IN, None, "logout"),
    ("get", "/auth/tokens"): Rule(Need.SIGNED_IN),
    ("post", "/auth/tokens"): Rule(
        Need.ACCOUNT, None, "tokens:create", _fields("description", "scope", "expires_in")
    ),
    ("delete", "/auth/tokens/{id}"): Rule(Need.ACCOUNT, None, "tokens:revoke", _fields("id")),
    ("get", "/users"): Rule(Need.PLATFORM_READ),
    ("post", "/users"): Rule(Need.PLATFORM, None, "users:create", _fields("name", "admin")),
    ("post", "/users/{name}/invitations"): Rule(
        Need.PLATFORM, None, "users:invite", _fields("name")
    ),
    ("get", "/apps/{app}/access"): Rule(V, "app"),
    ("post", "/apps/{app}/access"): Rule(A, "app", "access:add", _fields("user", "role")),
    ("patch", "/apps/{app}/access/{user}"): Rule(
        A, "app", "access:update", _fields("user", "role")
    ),
    ("delete", "/apps/{app}/access/{user}"): Rule(A, "app", "access:remove", _fields("user")),
    ("get", "/apps/{app}/audit"): Rule(A, "app"),
    ("get", "/audit"): Rule(Need.PLATFORM_READ),
    ("get", "/audit/verify"): Rule(Need.PLATFORM_READ),
    # Metrics (api/metrics.py): every app's figures in Prometheus' format, or one app's.
    ("get", "/metrics"): Rule(Need.PLATFORM_READ),
    ("get", "/apps/{app}/metrics"): Rule(V, "app"),
    # Webhooks (api/webhooks.py): a webhook's URL may carry a credential, as a drain's may.
    ("get", "/apps/{app}/webhooks"): Rule(A, "app"),
    ("post", "/apps/{app}/webhooks"): Rule(A, "app", "webhooks:add", _url_field("url")),
    ("delete", "/apps/{app}/webhooks/{id}"): Rule(A, "app", "webhooks:remove", _fields("id")),
    ("get", "/apps/{app}/webhook-deliveries"): Rule(A, "app"),
    ("get", "/apps/{app}/alerts"): Rule(V, "app"),
    ("patch", "/apps/{app}/alerts"): Rule(
        A, "app", "alerts:set", lambda p, b, q: {str(k)[:63]: str(v)[:20] for k, v in b.items()}
    ),
}

# A route served without a rule: only a platform admin with a write token may call it.
UNDECLARED = Rule(Need.PLATFORM, None, "undeclared route")
