"""``logs``: an app's stream, the last lines or followed live."""

from __future__ import annotations

import sys
import time

import click

from twelve.cli import output
from twelve.cli.client import error_from_payload
from twelve.cli.common import app_option, client
from twelve.errors import ServerUnavailable


@click.command("logs")
@app_option
@click.option("-n", "--num", default=100, show_default=True, help="How many lines.")
@click.option("-t", "--tail", is_flag=True, help="Keep following the stream.")
@click.option("-p", "--ps", "process", help="Only this process type or process (web, web.1).")
@click.option(
    "-s", "--source", type=click.Choice(["app", "router", "twelve"]), help="Only this source."
)
@click.option("--since", help="Only lines newer than this (10m, 2h, or a timestamp).")
@click.option("--grep", help="Only lines containing this text.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def logs(
    app: str,
    num: int,
    tail: bool,
    process: str | None,
    source: str | None,
    since: str | None,
    grep: str | None,
    as_json: bool,
) -> None:
    """Show an app's logs: every process, the router and the platform, in one stream."""
    params: dict[str, str] = {"n": str(num), "tail": "1" if tail else "0"}
    for key, value in (("ps", process), ("source", source), ("since", since), ("grep", grep)):
        if value:
            params[key] = value
    colour = sys.stdout.isatty() and not as_json
    cursor: int | None = None
    while True:
        if cursor is not None:
            params["after"] = str(cursor)
        try:
            for event in client().stream("GET", f"/apps/{app}/logs", params=params):
                if "event" in event:  # the server ended the stream: a revoked token, a role
                    raise error_from_payload(event)
                cursor = int(event.pop("cursor"))
                output.emit_log_line(event, as_json=as_json, colour=colour)
        except ServerUnavailable:
            if not tail:
                raise
        if not tail:
            return
        # The stream ended or the server went away (a daemon restart): carry on after the
        # last line seen, so nothing is repeated or skipped.
        time.sleep(1.0)


commands = [logs]
