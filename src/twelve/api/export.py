"""Everything an export needs about one release, in one document (config values included)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from twelve.api.context import existing_app
from twelve.api.routing import Routes
from twelve.errors import Conflict, UsageError
from twelve.releases import health_path

routes = Routes()


@routes.get("/apps/{app}/export")
async def release_export(request: Request) -> JSONResponse:
    """``GET /apps/{app}/export?release=N`` (default the live release)."""
    p, app = existing_app(request)
    wanted = request.query_params.get("release")
    if wanted:
        text = wanted.lower().removeprefix("v")
        if not (text.isascii() and text.isdigit() and len(text) <= 9):
            raise UsageError(f"{wanted!r} is not a release", "for example --release v3")
        release = p.store.releases.get(app, int(text))
    else:
        current = p.store.releases.current(app)
        if current is None:
            raise Conflict(f"{app} has no release yet", "deploy it first")
        release = current
    if release.build_id is None:
        raise Conflict(f"v{release.version} has no build")
    build = p.store.builds.get(release.build_id)
    formation = p.store.formation.get(app)
    return JSONResponse(
        {
            "app": app,
            "release": {
                "version": release.version,
                "description": release.description,
                "commit": release.commit,
                "config": release.config,
                "procfile": release.procfile,
            },
            "formation": {k: formation.get(k, 0) for k in release.procfile if k != "release"},
            "domains": [h for h, _ in p.store.domains.pairs(app)],
            "build": {"builder": build.builder, "runtime": build.runtime},
            "healthcheck_path": health_path(build, release.config),
            "postdeploy": build.runtime.get("postdeploy"),
            "limits": {
                kind: {"memory": limit.memory, "cpu": limit.cpu}
                for kind, limit in p.store.limits.get(app).items()
            },
            "settings": {
                "stop_timeout": p.settings.stop_timeout,
                "boot_timeout": p.settings.boot_timeout,
                "domain": p.settings.domain,
            },
        }
    )
