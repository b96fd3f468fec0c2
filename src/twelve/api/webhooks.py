"""Webhooks (add, list, remove, deliveries) and alert thresholds."""

from __future__ import annotations

import secrets
import time
import uuid
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse

from twelve.api.body import json_body
from twelve.api.context import existing_app
from twelve.api.routing import Routes
from twelve.errors import UsageError
from twelve.store.webhooks import Webhook
from twelve.webhooks.alerts import describe, parse_threshold
from twelve.webhooks.sender import RESOURCES

routes = Routes()


def _webhook_json(webhook: Webhook) -> dict[str, object]:
    return {
        "id": webhook.id,
        "url": webhook.url,
        "include": list(webhook.include),
        "created_at": webhook.created_at,
    }


def _url(value: object) -> str:
    if not isinstance(value, str):
        raise UsageError("a webhook needs a URL", "twelve webhooks:add -a APP https://...")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises for a port that is not a number)
    except ValueError:
        raise UsageError(f"{value!r} is not a URL") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname or len(value) > 2000:
        raise UsageError(f"{value!r} is not an http or https URL", "for example https://host/hook")
    return value


def _include(value: object) -> tuple[str, ...]:
    if value is None:
        return RESOURCES
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise UsageError("include must name events", f"any of {','.join(RESOURCES)}")
    unknown = sorted(set(value) - set(RESOURCES))
    if unknown:
        raise UsageError(f"no event named {unknown[0]!r}", f"use any of {','.join(RESOURCES)}")
    return tuple(r for r in RESOURCES if r in value)


@routes.get("/apps/{app}/webhooks")
async def list_webhooks(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    return JSONResponse([_webhook_json(w) for w in p.store.webhooks.of_app(app)])


@routes.post("/apps/{app}/webhooks")
async def add_webhook(request: Request) -> JSONResponse:
    """Body: ``{"url": "https://...", "include": ["release", "build"]}``; answers with the secret,
    which is never shown again."""
    p, app = existing_app(request)
    body = await json_body(request)
    webhook = Webhook(
        str(uuid.uuid4()), app, _url(body.get("url")), _include(body.get("include")), time.time()
    )
    secret = secrets.token_hex(32)
    p.store.webhooks.add(webhook, secret)
    p.event(app, "api", f"Webhook {webhook.id} added for {','.join(webhook.include)}")
    return JSONResponse({**_webhook_json(webhook), "secret": secret}, status_code=201)


@routes.delete("/apps/{app}/webhooks/{id}")
async def remove_webhook(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    webhook_id = request.path_params["id"]
    p.store.webhooks.remove(app, webhook_id)
    p.event(app, "api", f"Webhook {webhook_id} removed")
    return JSONResponse({"id": webhook_id, "removed": True})


@routes.get("/apps/{app}/webhook-deliveries")
async def deliveries(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    text = request.query_params.get("n") or "100"
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 1000:
        raise UsageError("n must be a count from 1 to 1000")
    found = p.store.webhooks.deliveries(app, int(text))
    return JSONResponse([d.to_json() for d in found])


def _alerts_json(thresholds: dict[str, float]) -> dict[str, str]:
    return {metric: describe(metric, value) for metric, value in thresholds.items()}


@routes.get("/apps/{app}/alerts")
async def get_alerts(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    return JSONResponse(_alerts_json(p.store.alerts.get(app)))


@routes.patch("/apps/{app}/alerts")
async def patch_alerts(request: Request) -> JSONResponse:
    """Body: ``{"p95": "500ms", "error-rate": "5%"}``; ``"off"`` removes one."""
    p, app = existing_app(request)
    body = await json_body(request)
    if not body:
        raise UsageError("no threshold given", "twelve alerts:set -a APP p95=500ms error-rate=5%")
    changes: dict[str, float | None] = {}
    for metric, value in body.items():
        if not isinstance(value, str):
            raise UsageError(f"{metric} must be given as text, such as 500ms or 5%")
        changes[metric] = parse_threshold(metric, value)
    store = p.store.alerts
    store.set(app, changes)
    current = store.get(app)
    shown = ", ".join(f"{m}>{v}" for m, v in _alerts_json(current).items()) or "none"
    p.event(app, "api", f"Alerts set: {shown}")
    return JSONResponse(_alerts_json(current))
