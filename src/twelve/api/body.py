"""Reading request bodies with one clear error for malformed ones."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from twelve.errors import UsageError


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise UsageError("the request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise UsageError("the request body must be a JSON object")
    return value
