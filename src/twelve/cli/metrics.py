"""``metrics``."""

from __future__ import annotations

from typing import Any

import click

from twelve.cli import output
from twelve.cli.common import app_option, client, json_option


def _size(value: int | None) -> str:
    if value is None:
        return "-"
    return f"{value / (1 << 20):.1f}M"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g}ms"


@click.command("metrics")
@app_option
@click.option("--type", "kind", help="Only this process type (web, worker, ...).")
@click.option("--since", default="1h", show_default=True, help="How far back: 10m, 1h, 1d, 7d.")
@json_option
def metrics(app: str, kind: str | None, since: str, as_json: bool) -> None:
    """Response time percentiles, requests/s, 5xx rate, memory and CPU per process type."""
    params = {"since": since} | ({"type": kind} if kind else {})
    data: dict[str, Any] = client().request("GET", f"/apps/{app}/metrics", params=params)
    output.emit_answer(data, as_json, lambda d: _emit_metrics(app, since, d))


def _emit_metrics(app: str, since: str, data: dict[str, Any]) -> None:
    rows = []
    for name, t in data["types"].items():
        memory = _size(t["memory"])
        if t["memory_limit"]:
            memory += f" / {_size(t['memory_limit'])}"
        rows.append(
            (
                name,
                _ms(t["p50_ms"]),
                _ms(t["p95_ms"]),
                _ms(t["p99_ms"]),
                f"{t['requests_per_second']:g}",
                f"{t['error_rate'] * 100:.2f}%",
                memory,
                f"{t['cpu'] * 100:.1f}%",
                t["restarts"],
            )
        )
    if not rows:
        output.emit(f"No metrics for {app} in the last {since}.")
        return
    output.emit_table(
        ("TYPE", "P50", "P95", "P99", "REQ/S", "5XX", "MEMORY", "CPU", "RESTARTS"), rows
    )


commands = [metrics]
