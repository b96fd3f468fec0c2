"""Which processes ``twelve local`` starts, on which ports, with which environment. Pure.

Ports as Foreman assigns them: the base port (``-p``, else ``$PORT`` from ``.env`` or the shell,
else 5000), plus 100 per process type in Procfile order, plus 1 per instance. The environment is
the server's own contract (``supervisor.environment.process_environment``) with the shell's
environment and ``.env`` as the config: ``.env`` over the shell, as Foreman and Honcho do, and
the platform's names (``PORT``, ``DYNO``, ``TWELVE_APP``) over both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from twelve.appspec.formation import parse_scale_args
from twelve.appspec.procfile import Procfile
from twelve.errors import UsageError
from twelve.supervisor.environment import process_environment

DEFAULT_PORT = 5000
MAX_PORT = 65535
ALL = "all"  # Foreman's -m all=N: the count of every type not named
# There is no release locally; the server's contract names one, so processes see v0.
LOCAL_RELEASE = 0


@dataclass(frozen=True)
class LocalProcess:
    """One process to run: ``web.1`` of type ``web`` with its command, port and environment."""

    name: str
    type: str
    command: str
    port: int
    env: dict[str, str]


def parse_formation(text: str | None) -> dict[str, int]:
    """``web=2,worker=1`` or Foreman's ``all=1,web=2``; none means one of each type."""
    if text is None or not text.strip():
        return {}
    try:
        return parse_scale_args([text])
    except UsageError as exc:
        raise UsageError(exc.message, "for example: -m web=2,worker=1 or -m all=1,web=2") from None


def base_port(option: int | None, environ: Mapping[str, str]) -> int:
    """``-p`` first, then ``PORT`` (``.env`` over the shell), then 5000."""
    if option is not None:
        port = option
    else:
        text = environ.get("PORT", "").strip()
        if not text:
            return DEFAULT_PORT
        if not text.isdigit():
            raise UsageError(f"PORT={text!r} is not a port number", "set PORT or pass -p 5000")
        port = int(text)
    if not 1 <= port <= MAX_PORT:
        raise UsageError(f"port {port} is out of range", f"use 1 to {MAX_PORT}")
    return port


def local_environment(
    shell: Mapping[str, str],
    dotenv: Mapping[str, str],
    *,
    app: str,
    dyno: str,
    port: int | None,
) -> dict[str, str]:
    """The environment of one local process: the shell's, then ``.env``, then the contract.

    The shell's own ``TWELVE_*`` variables (the platform's settings, the API token) are the
    CLI's, not the app's, and stay out, as they do on the server.
    """
    config = {k: v for k, v in shell.items() if not k.startswith("TWELVE_")}
    config.update(dotenv)
    return process_environment(
        app=app,
        dyno=dyno,
        release=LOCAL_RELEASE,
        config=config,
        home=shell.get("HOME", "/"),
        venv=None,
        commit=None,
        port=port,
    )


def plan_processes(
    procfile: Procfile,
    formation: Mapping[str, int],
    only: list[str],
    port: int,
    shell: Mapping[str, str],
    dotenv: Mapping[str, str],
    app: str,
) -> list[LocalProcess]:
    """The processes to start, in Procfile order.

    ``only`` narrows the run to those types; by default every type runs once except
    ``release``, which runs only when named or given a count.
    """
    declared = ", ".join(procfile.types) or "none"
    for kind in [*only, *(k for k in formation if k != ALL)]:
        if kind not in procfile.processes:
            raise UsageError(f"no process type {kind!r} in the Procfile", f"declared: {declared}")
    default = formation.get(ALL, 1)
    result: list[LocalProcess] = []
    for index, kind in enumerate(procfile.types):
        if only and kind not in only:
            continue
        if kind == "release" and kind not in only and kind not in formation:
            continue  # the release phase is a step of a deploy, not a long-running process
        for number in range(1, formation.get(kind, default) + 1):
            name = f"{kind}.{number}"
            process_port = port + 100 * index + number - 1
            if process_port > MAX_PORT:
                raise UsageError(f"{name} would listen on port {process_port}", "pass a lower -p")
            env = local_environment(shell, dotenv, app=app, dyno=name, port=process_port)
            result.append(LocalProcess(name, kind, procfile.processes[kind], process_port, env))
    if not result:
        raise UsageError("no process to start", "check the Procfile and the formation (-m)")
    return result
