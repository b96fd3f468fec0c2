"""Formation: how many processes of each type run. Pure parsing and defaults."""

from __future__ import annotations

import re

from twelve.appspec.names import validate_process_type
from twelve.appspec.procfile import Procfile
from twelve.errors import UsageError

MAX_QUANTITY = 100
_PAIR = re.compile(r"^([A-Za-z0-9_-]+)\s*[=:]\s*(\d+)$")


def parse_scale_args(args: list[str]) -> dict[str, int]:
    """Parse ``web=2 worker=1`` (also ``web:2`` and comma-separated) into a mapping."""
    wanted: dict[str, int] = {}
    for arg in args:
        for part in filter(None, (p.strip() for p in arg.split(","))):
            match = _PAIR.fullmatch(part)
            if not match:
                raise UsageError(f"{part!r} is not TYPE=COUNT", "for example: web=2 worker=1")
            name, count = validate_process_type(match.group(1)), int(match.group(2))
            if count > MAX_QUANTITY:
                raise UsageError(f"{name}={count} is too many", f"at most {MAX_QUANTITY} per type")
            wanted[name] = count
    if not wanted:
        raise UsageError("no process types to scale", "for example: web=2 worker=1")
    return wanted


def default_formation(procfile: Procfile) -> dict[str, int]:
    """Heroku's default: one ``web`` when the type exists, every other type at zero."""
    return {name: (1 if name == "web" else 0) for name in procfile.types if name != "release"}


def merge_formation(
    current: dict[str, int], procfile: Procfile, changes: dict[str, int] | None = None
) -> dict[str, int]:
    """The formation for ``procfile`` keeping ``current`` counts of types that still exist.

    Types new to the Procfile get the default; ``changes`` are checked against the Procfile, and
    ``release`` is never scaled.
    """
    result = default_formation(procfile)
    for name, count in current.items():
        if name in result:
            result[name] = count
    for name, count in (changes or {}).items():
        if name == "release" or name not in result:
            declared = ", ".join(result) or "none"
            raise UsageError(
                f"no process type {name!r} in the Procfile",
                f"declared types: {declared}",
            )
        result[name] = count
    return result
