"""The one mapping from twelve's errors to HTTP responses, with stable codes."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from twelve import errors

STATUS: dict[type[errors.TwelveError], int] = {
    errors.AuthError: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.SpecError: 422,
    errors.TooLarge: 413,
    errors.UsageError: 400,
    errors.BuildError: 422,
    errors.ReleasePhaseError: 422,
    errors.DeployError: 422,
    errors.ServiceError: 502,
    errors.ConfigError: 500,
}


def status_for(exc: errors.TwelveError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_body(exc: errors.TwelveError) -> dict[str, dict[str, str | None]]:
    return {"error": {"code": exc.code, "message": exc.message, "hint": exc.hint}}


async def twelve_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.TwelveError)
    return JSONResponse(error_body(exc), status_code=status_for(exc))


async def http_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    body = {"error": {"code": code, "message": str(exc.detail), "hint": None}}
    return JSONResponse(body, status_code=exc.status_code)
