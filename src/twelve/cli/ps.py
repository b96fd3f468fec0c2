"""``ps``, ``ps:scale``, ``ps:restart``, ``run``."""

from __future__ import annotations

import time
from typing import Any

import click

from twelve.appspec.formation import parse_scale_args
from twelve.cli import output
from twelve.cli.common import app_option, client, format_age, json_option
from twelve.supervisor.limits import parse_limits
from twelve.values import Limits


@click.command("ps")
@app_option
@json_option
def ps(app: str, as_json: bool) -> None:
    """List an app's processes with their state, pid, uptime and restarts."""
    data = client().request("GET", f"/apps/{app}/ps")
    headers = ("PROCESS", "STATE", "PID", "UPTIME", "RESTARTS", "RELEASE", "COMMAND")
    output.emit_rows(data, as_json, headers, _process_row)


def _process_row(p: dict[str, Any]) -> tuple[Any, ...]:
    state = p["state"]
    if state == "crashed" and p["next_attempt_at"]:
        wait = max(0.0, p["next_attempt_at"] - time.time())
        state = f"crashed (next attempt in {wait:.0f}s)"
    return (
        p["name"],
        state,
        p["pid"] or "",
        format_age(p["uptime"]),
        p["restarts"],
        f"v{p['release']}",
        p["command"],
    )


@click.command("ps:scale")
@app_option
@click.argument("changes", nargs=-1, required=True)
@json_option
def ps_scale(app: str, changes: tuple[str, ...], as_json: bool) -> None:
    """Scale process types: web=2 worker=1."""
    formation = client().request(
        "PATCH", f"/apps/{app}/formation", json=parse_scale_args(list(changes))
    )
    output.emit_answer(formation, as_json, lambda f: output.emit(f"Scaled to {_counts(f)}"))


def _counts(formation: dict[str, int]) -> str:
    return " ".join(f"{kind}={count}" for kind, count in formation.items())


@click.command("ps:restart")
@app_option
@click.argument("process", required=False)
@json_option
def ps_restart(app: str, process: str | None, as_json: bool) -> None:
    """Restart all processes, one type (web) or one process (web.1), without downtime."""
    data = client().request("POST", f"/apps/{app}/ps/restart", json={"process": process})
    output.emit_answer(data, as_json, lambda d: output.emit(f"Restarted {d['restarted']}"))


@click.command("ps:stop")
@app_option
@click.argument("process")
@json_option
def ps_stop(app: str, process: str, as_json: bool) -> None:
    """Stop a one-off process (run.N, scheduler.N): SIGTERM, then SIGKILL after the timeout."""
    data = client().request("POST", f"/apps/{app}/ps/stop", json={"process": process})
    output.emit_answer(data, as_json, lambda d: output.emit(f"Stopped {d['stopped']}"))


@click.command("ps:limits")
@app_option
@click.argument("process_type", required=False)
@click.argument("limits", nargs=-1)
@json_option
def ps_limits(app: str, process_type: str | None, limits: tuple[str, ...], as_json: bool) -> None:
    """Show limits, or set a type's: 'ps:limits -a APP web memory=512M cpu=0.5'."""
    api = client()
    if process_type is not None and limits:
        wanted = parse_limits(list(limits))
        body = {"type": process_type, "memory": wanted.memory, "cpu": wanted.cpu}
        data = api.request("PATCH", f"/apps/{app}/limits", json=body)
        output.emit_answer(data, as_json, lambda d: output.emit(f"{process_type}: {_described(d)}"))
        return
    data = api.request("GET", f"/apps/{app}/limits")
    output.emit_answer(data, as_json, lambda d: _emit_limits(d, process_type))


def _described(limits: dict[str, Any]) -> str:
    return Limits(limits["memory"], limits["cpu"]).describe()


def _emit_limits(data: dict[str, Any], process_type: str | None) -> None:
    rows = [
        (kind, _described(v))
        for kind, v in data["types"].items()
        if process_type is None or kind == process_type
    ]
    output.emit_table(("TYPE", "LIMITS"), rows)
    output.emit(f"(enforced with {data['enforced_with']})")


commands = [ps, ps_scale, ps_restart, ps_limits, ps_stop]
