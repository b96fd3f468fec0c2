"""Which processes ``twelve local`` starts, on which ports, with which environment. Pure.

Ports as Foreman assigns them: the base port (``-p``, else ``$PORT``, else 5000), plus 100 per
process type in Procfile order, plus 1 per instance. ``.env`` values win over the shell's
environment (as Foreman's do), and the platform's own names win over both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from twelve.appspec.procfile import Procfile
from twelve.errors import UsageError

DEFAULT_PORT = 5000
_PAIR = re.compile(r"^([A-Za-z0-9_-]+)\s*=\s*(\d+)$")


@dataclass(frozen=True)
class LocalProcess:
    name: str  # web.1
    type: str
    command: str
    port: int
    env: dict[str, str]


def parse_formation(text: str | None) -> dict[str, int]:
    """``web=2,worker=1`` or Foreman's ``all=1,web=2``; an empty text means one of each."""
    counts: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        match = _PAIR.match(part)
        if not match:
            raise UsageError(f"{part!r} is not TYPE=COUNT", "for example: -m all=1,web=2")
        counts[match.group(1)] = int(match.group(2))
    return counts


def base_port(option: int | None, environ: Mapping[str, str]) -> int:
    if option is not None:
        return option
    text = environ.get("PORT", "")
    return int(text) if text.isdigit() else DEFAULT_PORT


def process_env(
    shell: Mapping[str, str], dotenv: Mapping[str, str], name: str, port: int
) -> dict[str, str]:
    """The shell's environment, ``.env`` over it, then the contract the server gives too."""
    env = {**shell, **dotenv}
    env.update({"PORT": str(port), "DYNO": name, "PYTHONUNBUFFERED": "1"})
    return env


def plan_processes(
    procfile: Procfile,
    formation: dict[str, int],
    only: list[str],
    port: int,
    shell: Mapping[str, str],
    dotenv: Mapping[str, str],
) -> list[LocalProcess]:
    """The processes to start, in Procfile order."""
    for name in [*only, *(k for k in formation if k != "all")]:
        if name not in procfile.processes:
            declared = ", ".join(procfile.types) or "none"
            raise UsageError(f"no process type {name!r} in the Procfile", f"declared: {declared}")
    default = formation.get("all", 1)
    result = []
    for index, kind in enumerate(procfile.types):
        if only and kind not in only:
            continue
        if not only and kind == "release" and "release" not in formation:
            continue  # the release phase is not a long-running process
        count = formation.get(kind, default)
        for n in range(1, count + 1):
            name = f"{kind}.{n}"
            process_port = port + 100 * index + (n - 1)
            env = process_env(shell, dotenv, name, process_port)
            result.append(LocalProcess(name, kind, procfile.processes[kind], process_port, env))
    if not result:
        raise UsageError("no process to start", "check the Procfile and the formation (-m)")
    return result
