"""``webhooks``, ``webhooks:add``, ``webhooks:remove``, ``webhooks:deliveries``; ``alerts``,
``alerts:set``."""

from __future__ import annotations

import time
from typing import Any

import click

from twelve.cli import output
from twelve.cli.common import app_option, client, format_age, json_option
from twelve.errors import UsageError


@click.command("webhooks")
@app_option
@json_option
def webhooks(app: str, as_json: bool) -> None:
    """An app's webhooks and the events each gets."""
    data = client().request("GET", f"/apps/{app}/webhooks")
    output.emit_rows(data, as_json, ("ID", "URL", "INCLUDE"), _webhook_row)


def _webhook_row(w: dict[str, Any]) -> tuple[str, str, str]:
    return w["id"], w["url"], ",".join(w["include"])


@click.command("webhooks:add")
@app_option
@click.argument("url")
@click.option(
    "--include",
    "-i",
    default="release,build,dyno,addon,cert,alert",
    show_default=True,
    help="The events to send, separated by commas.",
)
@json_option
def webhooks_add(app: str, url: str, include: str, as_json: bool) -> None:
    """Send the app's events to URL, signed with a secret shown once."""
    events = [e.strip() for e in include.split(",") if e.strip()]
    data = client().request("POST", f"/apps/{app}/webhooks", json={"url": url, "include": events})
    output.emit_answer(data, as_json, _emit_added)


def _emit_added(data: dict[str, Any]) -> None:
    output.emit(f"Added webhook {data['id']} for {','.join(data['include'])}")
    output.emit(f"Secret (shown only now): {data['secret']}")
    output.emit(
        "Each request carries Heroku-Webhook-Hmac-SHA256: base64 of the HMAC-SHA256 of its body"
        " with this secret."
    )


@click.command("webhooks:remove")
@app_option
@click.argument("webhook_id")
@json_option
def webhooks_remove(app: str, webhook_id: str, as_json: bool) -> None:
    """Remove a webhook; its pending deliveries go with it."""
    data = client().request("DELETE", f"/apps/{app}/webhooks/{webhook_id}")
    output.emit_answer(data, as_json, lambda _: output.emit(f"Removed webhook {webhook_id}"))


@click.command("webhooks:deliveries")
@app_option
@click.option("-n", "count", default=50, show_default=True, help="How many, newest first.")
@json_option
def webhooks_deliveries(app: str, count: int, as_json: bool) -> None:
    """Recent deliveries: their event, state, tries and last status code."""
    data = client().request("GET", f"/apps/{app}/webhook-deliveries", params={"n": str(count)})
    headers = ("DELIVERY", "EVENT", "STATE", "TRIES", "LAST", "CREATED")
    output.emit_rows(data, as_json, headers, _delivery_row)


def _delivery_row(d: dict[str, Any]) -> tuple[Any, ...]:
    state = d["state"]
    if state == "pending" and d["next_attempt_at"]:
        state = f"pending (next in {format_age(max(0.0, d['next_attempt_at'] - time.time()))})"
    return (
        d["id"][:8],
        d["resource"],
        state,
        d["attempts"],
        d["last_status"] or d["last_error"] or "",
        format_age(time.time() - d["created_at"]) + " ago",
    )


@click.command("alerts")
@app_option
@json_option
def alerts(app: str, as_json: bool) -> None:
    """The thresholds that send an alert webhook event."""
    data = client().request("GET", f"/apps/{app}/alerts")
    output.emit_answer(data, as_json, lambda d: _emit_alerts(app, d))


def _emit_alerts(app: str, thresholds: dict[str, str]) -> None:
    if not thresholds:
        output.emit(f"No alerts set for {app}")
    for metric, threshold in thresholds.items():
        output.emit(f"{metric} > {threshold}")


@click.command("alerts:set")
@app_option
@click.argument("thresholds", nargs=-1, required=True)
@json_option
def alerts_set(app: str, thresholds: tuple[str, ...], as_json: bool) -> None:
    """Set thresholds: p95=500ms p99=2s error-rate=5% (off removes one)."""
    body: dict[str, str] = {}
    for item in thresholds:
        metric, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"{item!r} is not METRIC=THRESHOLD", "for example p95=500ms")
        body[metric.strip()] = value
    data = client().request("PATCH", f"/apps/{app}/alerts", json=body)
    output.emit_answer(data, as_json, lambda d: output.emit(f"Alerts for {app}: {_shown(d)}"))


def _shown(thresholds: dict[str, str]) -> str:
    return ", ".join(f"{m} > {t}" for m, t in thresholds.items()) or "none"


commands = [
    webhooks, webhooks_add, webhooks_remove, webhooks_deliveries, alerts, alerts_set,
]  # fmt: skip
