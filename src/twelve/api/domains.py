"""Custom domains (routed to the app besides APP.DOMAIN) and log drains."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from twelve.api.body import json_body
from twelve.api.context import existing_app, platform
from twelve.api.routing import Routes
from twelve.appspec.names import validate_domain
from twelve.errors import Conflict
from twelve.logs.drain_url import parse_drain_url, redact

routes = Routes()


@routes.get("/apps/{app}/domains")
async def list_domains(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    default = f"{app}.{p.settings.domain}"
    return JSONResponse(
        [{"hostname": default, "kind": "default"}]
        + [{"hostname": h, "kind": "custom"} for h, _ in p.store.domains.pairs(app)]
    )


@routes.post("/apps/{app}/domains")
async def add_domain(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    hostname = validate_domain(str((await json_body(request)).get("hostname", "")))
    if hostname.endswith("." + p.settings.domain) or hostname == p.settings.domain:
        # APP.DOMAIN names belong to the apps they name; no app may take another's.
        raise Conflict(f"{hostname} is under the platform's domain {p.settings.domain}")
    p.store.domains.add(app, hostname)
    p.supervisor.routes_changed()
    p.event(app, "api", f"Domain {hostname} added")
    return JSONResponse({"hostname": hostname}, status_code=201)


@routes.delete("/apps/{app}/domains/{hostname}")
async def remove_domain(request: Request) -> JSONResponse:
    p = platform(request)
    app = request.path_params["app"]
    hostname = validate_domain(request.path_params["hostname"])
    p.store.domains.remove(app, hostname)
    p.supervisor.routes_changed()
    p.event(app, "api", f"Domain {hostname} removed")
    return JSONResponse({"hostname": hostname, "removed": True})


@routes.get("/apps/{app}/drains")
async def list_drains(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    status = {s.url: s for s in p.hub.drain_status(app)}
    drains = []
    for url in p.store.drains.of_app(app):
        state = status.get(url)
        drains.append(
            {
                "url": redact(url),
                "sent": state.sent if state else 0,
                "dropped": state.dropped if state else 0,
                "last_error": state.last_error if state else None,
            }
        )
    return JSONResponse(drains)


@routes.post("/apps/{app}/drains")
async def add_drain(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    target = parse_drain_url(str((await json_body(request)).get("url", "")))
    p.store.drains.add(app, target.url)
    await p.hub.set_drains(app, p.store.drains.of_app(app))
    p.event(app, "api", f"Drain {target.shown} added")
    return JSONResponse({"url": target.shown}, status_code=201)


@routes.post("/apps/{app}/drains/remove")
async def remove_drain(request: Request) -> JSONResponse:
    p = platform(request)
    app = request.path_params["app"]
    body = await json_body(request)
    given = str(body.get("url", ""))
    urls = p.store.drains.of_app(app)
    # The listing shows redacted URLs, so either form names a drain.
    match = next((u for u in urls if given in {u, redact(u)}), given)
    p.store.drains.remove(app, match)
    await p.hub.set_drains(app, p.store.drains.of_app(app))
    p.event(app, "api", f"Drain {redact(match)} removed")
    return JSONResponse({"url": redact(match), "removed": True})
