"""Deploys, releases and rollback."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from twelve.api.body import capped_body, json_body
from twelve.api.context import existing_app, platform
from twelve.api.routing import Routes
from twelve.api.serialize import release_json
from twelve.api.streaming import Emit, stream_operation
from twelve.appspec.names import validate_git_ref, validate_git_url
from twelve.errors import UsageError
from twelve.releases import Source

routes = Routes()


MAX_UPLOAD = 1 << 30


@routes.post("/apps/{app}/deploys")
async def create_deploy(request: Request) -> Response:
    """Body: a tarball (``application/x-tar``, commit in ``X-Twelve-Commit``) or JSON git_url/ref."""
    p, app = existing_app(request)
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await json_body(request)
        url = body.get("git_url")
        if not isinstance(url, str) or not url:
            raise UsageError("a deploy needs git_url or a tarball body")
        ref = body.get("ref")
        ref = validate_git_ref(ref) if isinstance(ref, str) and ref else None
        source = Source(git_url=validate_git_url(url), ref=ref)
    else:
        data = await capped_body(request, MAX_UPLOAD, "the source upload")
        if not data:
            raise UsageError("the deploy body is empty", "send the app's source as a tarball")
        source = Source(tarball=data, commit=request.headers.get("x-twelve-commit") or None)

    async def work(emit: Emit) -> dict[str, Any]:
        release = await p.deployer.deploy(app, source, emit)
        emit(f"-----> {p.app_url(app) or app} deployed")
        https = p.https_url(app)
        if https:
            emit(f"       {https} (HTTPS)")
        return {"release": release_json(release), "url": p.app_url(app), "https_url": https}

    return stream_operation(work)


@routes.get("/apps/{app}/releases")
async def list_releases(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    since = p.store.apps.get(app).created_at
    authors = request.app.state.guard.audit.release_authors(app, since)
    return JSONResponse(
        [release_json(r) | {"by": authors.get(r.version)} for r in p.store.releases.of_app(app)]
    )


@routes.post("/apps/{app}/rollback")
async def rollback(request: Request) -> JSONResponse:
    p = platform(request)
    app = request.path_params["app"]
    body = await json_body(request)
    target = body.get("version")
    if target is None:
        current = p.store.releases.current(app)
        if current is None or current.version < 2:
            raise UsageError(f"{app} has no earlier release to roll back to")
        target = current.version - 1
    if not isinstance(target, int) or target < 1:
        raise UsageError("version must be a release number such as 3")
    # Rollback restores config, never add-ons; the response says so when their variables differ.
    notice = p.addons.rollback_notice(app, target) if p.addons else None
    release = await p.deployer.rollback(app, target)
    return JSONResponse({**release_json(release), "addons_notice": notice}, status_code=201)
