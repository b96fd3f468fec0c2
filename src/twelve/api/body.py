"""Reading request bodies with one clear error for malformed ones."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request

from twelve.errors import TooLarge, UsageError

# Numbers past 64 bits fit no column of the store and no limit of the machine.
_MAX_INT = (1 << 63) - 1
# A JSON body is a command (config, a certificate, a domain): far below this.
MAX_JSON_BYTES = 1 << 20


async def capped_body(request: Request, limit: int, what: str) -> bytes:
    """The request's body, refused (413) as soon as it is known to be over ``limit`` bytes: by
    its Content-Length before a byte is read, else while it is read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"{what} is larger than {_size(limit)}")
    pieces: list[bytes] = []
    size = 0
    async for piece in request.stream():
        size += len(piece)
        if size > limit:
            raise TooLarge(f"{what} is larger than {_size(limit)}")
        pieces.append(piece)
    return b"".join(pieces)


def _size(limit: int) -> str:
    return f"{limit >> 30} GiB" if limit >= 1 << 30 else f"{limit >> 20} MiB"


def _refuse_constant(name: str) -> float:
    raise UsageError(f"the request body holds {name}, which is not a JSON number")


def _fits(number: float) -> bool:
    if isinstance(number, float):
        return math.isfinite(number)  # 1e999 parses as infinity
    return abs(number) <= _MAX_INT


def _check_values(value: Any) -> None:
    """Refuse what JSON can spell but nothing downstream can hold (walked without recursion)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise UsageError("the request body holds a NUL character")
            try:
                item.encode()
            except UnicodeEncodeError:
                raise UsageError("the request body holds text that is not valid Unicode") from None
        elif isinstance(item, int | float) and not _fits(item):
            raise UsageError("the request body holds a number too large to use")


async def json_body(request: Request) -> dict[str, Any]:
    raw = await capped_body(request, MAX_JSON_BYTES, "the request body")
    if not raw:
        return {}
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError):
        raise UsageError("the request body is not valid JSON") from None
    except RecursionError:
        raise UsageError("the request body is nested too deeply") from None
    if not isinstance(value, dict):
        raise UsageError("the request body must be a JSON object")
    _check_values(value)
    return value
