"""The audit trail: an app's entries, every entry, and the chain's verification."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from twelve.api.context import existing_app
from twelve.api.routing import Routes
from twelve.api.users import guard_state
from twelve.errors import UsageError

routes = Routes()


def _limit(request: Request) -> int:
    text = request.query_params.get("n", "100")
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= 100_000:
        raise UsageError("n must be a number of entries from 1 to 100000")
    return int(text)


@routes.get("/apps/{app}/audit")
async def app_audit(request: Request) -> JSONResponse:
    _p, app = existing_app(request)
    entries = guard_state(request).audit.entries(app, _limit(request))
    return JSONResponse([e.to_json() for e in entries])


@routes.get("/audit")
async def all_audit(request: Request) -> JSONResponse:
    entries = guard_state(request).audit.entries(None, _limit(request))
    return JSONResponse([e.to_json() for e in entries])


@routes.get("/audit/verify")
async def verify(request: Request) -> JSONResponse:
    count, broken = guard_state(request).audit.verify()
    if broken is None:
        return JSONResponse({"entries": count, "intact": True})
    return JSONResponse(
        {"entries": count, "intact": False, "first_broken": broken.seq, "reason": broken.reason}
    )
