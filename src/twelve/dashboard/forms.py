"""What the dashboard reads from requests and API answers: forms, and build output. Pure but for
``read_form``'s read of the body."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.datastructures import MultiDict
from starlette.requests import Request

from twelve.api.body import capped_body

MAX_FORM_BYTES = 256 << 10  # a config value is the largest thing a form carries


async def read_form(request: Request) -> MultiDict:
    """An ``application/x-www-form-urlencoded`` body (what every dashboard form sends), read once
    and kept on the request for its handler."""
    kept = getattr(request.state, "form", None)
    if isinstance(kept, MultiDict):
        return kept
    body = await capped_body(request, MAX_FORM_BYTES, "the form")
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        pairs = []
    form = MultiDict(pairs)
    request.state.form = form
    return form


_BUILD_START = re.compile(r"^Build (\d+) started")


def split_builds(lines: list[str]) -> dict[int, list[str]]:
    """Build output lines by build id, each build's from its ``Build N started`` line on."""
    builds: dict[int, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        found = _BUILD_START.match(line)
        if found:
            current = builds.setdefault(int(found[1]), [])
        if current is not None:
            current.append(line)
    return builds


def check_section(lines: list[str]) -> list[str]:
    """The ``twelve check`` part of a build's output: the lines after its heading, to the next."""
    out: list[str] = []
    inside = False
    for line in lines:
        if line.startswith("----->"):
            inside = "Checking the app" in line
            continue
        if inside:
            out.append(line.strip())
    return out
