"""``cron``, ``cron:run``, ``cron:runs``: the jobs of app.json's ``cron`` and their runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from twelve.cli import output
from twelve.cli.common import app_option, client, json_option
from twelve.supervisor.spawn import describe_exit


def _when(at: float | None) -> str:
    if at is None:
        return ""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _outcome(run: dict[str, Any] | None) -> str:
    if run is None:
        return ""
    if run["state"] == "finished":
        text = describe_exit(run["exit_code"]) if run["exit_code"] is not None else "exit unknown"
        return text + (f" ({run['note']})" if run.get("note") else "")
    return str(run["state"]) + (f": {run['note']}" if run.get("note") else "")


def _duration(run: dict[str, Any] | None) -> str:
    if run is None or run.get("duration") is None:
        return ""
    return f"{run['duration']:.1f}s"


@click.command("cron")
@app_option
@json_option
def cron(app: str, as_json: bool) -> None:
    """List the app's cron jobs (app.json) with their next and last run."""
    data = client().request("GET", f"/apps/{app}/cron")
    output.emit_answer(data, as_json, _emit_jobs)


def _emit_jobs(data: dict[str, Any]) -> None:
    rows = [
        (
            j["name"], j["schedule"], j["command"], _when(j["next_at"]),
            _when((j["last"] or {}).get("started_at")), _outcome(j["last"]), _duration(j["last"]),
        )
        for j in data["jobs"]
    ]  # fmt: skip
    output.emit_table(
        ("JOB", "SCHEDULE", "COMMAND", "NEXT RUN", "LAST RUN", "LAST RESULT", "DURATION"), rows
    )
    output.emit(f"(times in UTC; schedules in {data['time_zone']})")


@click.command("cron:run")
@app_option
@click.argument("job")
@json_option
def cron_run(app: str, job: str, as_json: bool) -> None:
    """Run a cron job now, once (its output goes to the app's log)."""
    data = client().request("POST", f"/apps/{app}/cron/{job}/run")
    output.emit_answer(data, as_json, lambda d: output.emit(f"Running {job} as {d['process']}"))


@click.command("cron:runs")
@app_option
@click.option("--job", default=None, help="Only this job's runs.")
@click.option("-n", "count", default=50, show_default=True, help="How many, newest first.")
@json_option
def cron_runs(app: str, job: str | None, count: int, as_json: bool) -> None:
    """Show the history of cron runs: start, duration, exit, the release it ran on."""
    params: dict[str, str | int] = {"n": count}
    if job:
        params["job"] = job
    data = client().request("GET", f"/apps/{app}/cron/runs", params=params)
    headers = ("JOB", "TICK", "PROCESS", "STARTED", "DURATION", "RESULT", "RELEASE")
    output.emit_rows(data, as_json, headers, _run_row)


def _run_row(r: dict[str, Any]) -> tuple[str, ...]:
    return (
        r["job"], _when(r["tick"]) if r["tick"] else "by hand", r["process"] or "",
        _when(r["started_at"]), _duration(r), _outcome(r), f"v{r['release']}",
    )  # fmt: skip


commands = [cron, cron_run, cron_runs]
