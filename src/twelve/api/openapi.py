"""The API described as an OpenAPI 3.1 document, built from a table kept next to the routes."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from twelve import __version__
from twelve.api.routing import Routes

routes = Routes()


_STR = {"type": "string"}
_OBJ = {"type": "object"}
# The rules of appspec/names.py, so clients (and the fuzzer) know what each name may be.
_APP_NAME = {"type": "string", "pattern": "^[a-z][a-z0-9-]{0,29}$"}
_PROCESS_TYPE = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,63}$"}
_CONFIG_KEY = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}


def _body(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


# (method, path, summary, JSON body schema or None, query parameters)
OPERATIONS: list[tuple[str, str, str, dict[str, Any] | None, list[str]]] = [
    ("get", "/", "Server name and version", None, []),
    ("get", "/openapi.json", "This document", None, []),
    ("get", "/apps", "List apps", None, []),
    ("post", "/apps", "Create an app", _body({"name": _APP_NAME}, ["name"]), []),
    ("get", "/apps/{app}", "An app's release, formation, domains", None, []),
    ("delete", "/apps/{app}", "Destroy an app (confirm=APP)", None, ["confirm"]),
    ("post", "/apps/{app}/deploys", "Build and release a tarball or a git URL", _body({"git_url": _STR, "ref": _STR}), []),
    ("get", "/apps/{app}/releases", "List releases", None, []),
    ("post", "/apps/{app}/rollback", "Roll back to a release", _body({"version": {"type": "integer"}}), []),
    ("get", "/apps/{app}/config", "Config vars", None, []),
    ("patch", "/apps/{app}/config", "Set (string) or unset (null) config vars", {"type": "object", "propertyNames": _CONFIG_KEY, "additionalProperties": {"type": ["string", "null"]}}, []),
    ("get", "/apps/{app}/ps", "Processes", None, []),
    ("post", "/apps/{app}/ps/restart", "Restart processes", _body({"process": _STR}), []),
    ("get", "/apps/{app}/formation", "Formation", None, []),
    ("patch", "/apps/{app}/formation", "Scale process types", {"type": "object", "propertyNames": _PROCESS_TYPE, "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 100}}, []),
    ("get", "/apps/{app}/limits", "Limits per process type", None, []),
    ("patch", "/apps/{app}/limits", "Set a type's limits", _body({"type": _PROCESS_TYPE, "memory": {"type": ["integer", "null"]}, "cpu": {"type": ["number", "null"]}}, ["type"]), []),
    ("post", "/apps/{app}/run", "Run a one-off command: its output as NDJSON, or detached (name at once, output to the log); attached with stdin and a terminal: GET /apps/{app}/run as a WebSocket (?command=&tty=1&rows=&cols=)", _body({"command": _STR, "detached": {"type": "boolean"}, "env": {"type": "object", "propertyNames": _CONFIG_KEY, "additionalProperties": _STR}}, ["command"]), []),
    ("get", "/apps/{app}/cron", "The live release's cron jobs: next tick, last run", None, []),
    ("get", "/apps/{app}/cron/runs", "Cron runs, newest first", None, ["n", "job"]),
    ("post", "/apps/{app}/cron/{job}/run", "Run a cron job now", None, []),
    ("post", "/apps/{app}/ps/stop", "Stop a one-off process (SIGTERM, then SIGKILL)", _body({"process": _STR}, ["process"]), []),
    ("get", "/apps/{app}/logs", "The app's log stream", None, ["n", "tail", "ps", "source", "since", "grep", "after"]),
    ("get", "/apps/{app}/domains", "Domains", None, []),
    ("post", "/apps/{app}/domains", "Add a custom domain", _body({"hostname": _STR}, ["hostname"]), []),
    ("delete", "/apps/{app}/domains/{hostname}", "Remove a custom domain", None, []),
    ("get", "/apps/{app}/drains", "Log drains", None, []),
    ("post", "/apps/{app}/drains", "Add a log drain", _body({"url": _STR}, ["url"]), []),
    ("post", "/apps/{app}/drains/remove", "Remove a log drain", _body({"url": _STR}, ["url"]), []),
    ("get", "/apps/{app}/certs", "The app's TLS certificate", None, []),
    ("post", "/apps/{app}/certs", "Add or replace the TLS certificate (PEM)", _body({"certificate": _STR, "private_key": _STR}, ["certificate", "private_key"]), []),
    ("delete", "/apps/{app}/certs", "Remove the TLS certificate", None, []),
    ("get", "/apps/{app}/certs/auto", "Automatic certificates: state per domain", None, []),
    ("post", "/apps/{app}/certs/auto", "Enable automatic certificates (ACME)", None, []),
    ("delete", "/apps/{app}/certs/auto", "Disable automatic certificates", None, []),
    ("get", "/apps/{app}/features", "The app's features (router, runtime metrics)", None, []),
    ("post", "/apps/{app}/features/{name}", "Enable a feature", _body({"max_age": {"type": "integer", "minimum": 0}}), []),
    ("delete", "/apps/{app}/features/{name}", "Disable a feature", None, []),
    ("get", "/apps/{app}/export", "Everything an export needs about a release", None, ["release"]),
    ("get", "/addons", "All add-ons", None, []),
    ("get", "/apps/{app}/backups", "Backups of the app's add-ons, and their schedules", None, []),
    ("post", "/apps/{app}/backups", "Capture and verify a backup (NDJSON)", _body({"addon": _STR}), []),
    ("get", "/apps/{app}/backups/{id}", "One backup", None, []),
    ("delete", "/apps/{app}/backups/{id}", "Delete a backup", None, []),
    ("get", "/apps/{app}/backups/{id}/download", "The backup, decrypted", None, []),
    ("post", "/apps/{app}/backups/{id}/verify", "Verify a stored backup again (NDJSON)", None, []),
    ("post", "/apps/{app}/backups/{id}/restore", "Restore a backup into an add-on (NDJSON)", _body({"to": _STR, "confirm": _STR}, ["confirm"]), []),
    ("post", "/apps/{app}/backup-schedules", "Back an add-on up daily", _body({"addon": _STR, "at": _STR, "daily": {"type": "integer", "minimum": 0, "maximum": 1000}, "weekly": {"type": "integer", "minimum": 0, "maximum": 1000}}, ["at"]), []),
    ("delete", "/apps/{app}/backup-schedules", "Stop an add-on's daily backups", None, ["addon"]),
    ("get", "/runtimes", "Python and Node runtimes, with the releases using each", None, []),
    ("post", "/runtimes", "Install a runtime (spec) or adopt an interpreter (path); streams", _body({"spec": _STR, "path": _STR}), []),
    ("delete", "/runtimes/{spec}", "Remove a runtime no recent release uses", None, []),
    ("get", "/addons/{name}", "One add-on", None, []),
    ("delete", "/addons/{name}", "Destroy an add-on and its data", None, ["confirm"]),
    ("get", "/apps/{app}/addons", "An app's add-ons", None, []),
    ("post", "/apps/{app}/addons", "Create an add-on", _body({"service": _STR, "as": _STR, "name": _STR}, ["service"]), []),
    ("post", "/apps/{app}/addon-attachments", "Attach a URL or add-on", _body({"target": _STR, "as": _STR, "replace": {"type": "boolean"}}, ["target"]), []),
    ("delete", "/apps/{app}/addon-attachments/{name}", "Detach an add-on", None, []),
    ("post", "/apps/{app}/addons/{name}/credentials/rotate", "New credentials for an add-on; the old ones revoked once unused", None, []),
    ("post", "/auth/login", "Exchange an invitation code for a token", _body({"invitation": _STR}, ["invitation"]), []),
    ("get", "/auth/whoami", "The caller", None, []),
    ("delete", "/auth/session", "Revoke the token of this request (log out)", None, []),
    ("get", "/auth/tokens", "The caller's tokens", None, []),
    ("post", "/auth/tokens", "Create a token", _body({"description": _STR, "scope": {"enum": ["read", "deploy", "write"]}, "expires_in": _STR}, ["description"]), []),
    ("delete", "/auth/tokens/{id}", "Revoke one of the caller's tokens", None, []),
    ("get", "/users", "List users", None, []),
    ("post", "/users", "Create a user (answers with a one-time invitation)", _body({"name": _STR, "admin": {"type": "boolean"}}, ["name"]), []),
    ("post", "/users/{name}/invitations", "A new invitation for a user", None, []),
    ("get", "/apps/{app}/access", "Who has which role on the app", None, []),
    ("post", "/apps/{app}/access", "Give a user a role on the app", _body({"user": _STR, "role": {"enum": ["viewer", "deployer", "admin"]}}, ["user", "role"]), []),
    ("patch", "/apps/{app}/access/{user}", "Change a user's role on the app", _body({"role": {"enum": ["viewer", "deployer", "admin"]}}, ["role"]), []),
    ("delete", "/apps/{app}/access/{user}", "Remove a user's role on the app", None, []),
    ("get", "/apps/{app}/audit", "The app's audit trail", None, ["n"]),
    ("get", "/audit", "The platform's audit trail", None, ["n"]),
    ("get", "/audit/verify", "Recompute the audit trail's hash chain", None, []),
    ("get", "/metrics", "Every app's metrics in Prometheus' text format", None, []),
    ("get", "/apps/{app}/metrics", "Latency percentiles, throughput, errors, memory and CPU per process type, and chart points", None, ["type", "since"]),
    ("get", "/apps/{app}/webhooks", "The app's webhooks", None, []),
    ("post", "/apps/{app}/webhooks", "Add a webhook (answers with its secret, once)", _body({"url": _STR, "include": {"type": "array", "items": {"enum": ["release", "build", "dyno", "addon", "cert", "alert"]}}}, ["url"]), []),
    ("delete", "/apps/{app}/webhooks/{id}", "Remove a webhook", None, []),
    ("get", "/apps/{app}/webhook-deliveries", "Recent webhook deliveries, newest first", None, ["n"]),
    ("get", "/apps/{app}/alerts", "Alert thresholds", None, []),
    ("patch", "/apps/{app}/alerts", "Set alert thresholds (p95, p99, error-rate; off removes)", {"type": "object", "additionalProperties": {"type": "string"}}, []),
    ("get", "/git/{repo}/{rest}", "git smart HTTP (git http-backend)", None, ["service"]),
    ("post", "/git/{repo}/{rest}", "git smart HTTP (git http-backend)", None, []),
]  # fmt: skip

# Bodies that are not JSON: a deploy also takes the app's source as a tarball.
RAW_BODIES = {("post", "/apps/{app}/deploys"): "application/x-tar"}

_ERROR = {
    "description": "A twelve error",
    "content": {
        "application/json": {
            "schema": _body(
                {
                    "error": _body(
                        {"code": _STR, "message": _STR, "hint": {"type": ["string", "null"]}}
                    )
                },
                ["error"],
            )
        }
    },
}


def document() -> dict[str, Any]:
    """The OpenAPI document."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, body, query in OPERATIONS:
        params = [
            {"name": name, "in": "path", "required": True, "schema": _STR}
            for name in (part[1:-1] for part in path.split("/") if part.startswith("{"))
        ] + [{"name": name, "in": "query", "required": False, "schema": _STR} for name in query]
        operation: dict[str, Any] = {
            "summary": summary,
            "parameters": params,
            "responses": {"200": {"description": "OK"}, "4XX": _ERROR},
        }
        content: dict[str, Any] = {}
        if body is not None:
            content["application/json"] = {"schema": body}
        if (method, path) in RAW_BODIES:
            content[RAW_BODIES[method, path]] = {"schema": {"type": "string", "format": "binary"}}
        if content:
            operation["requestBody"] = {"content": content}
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "twelve", "version": __version__},
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "security": [{"token": []}],
        "paths": paths,
    }


@routes.get("/openapi.json")
async def openapi(_request: Request) -> JSONResponse:
    return JSONResponse(document())
