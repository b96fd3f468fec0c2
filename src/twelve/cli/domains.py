"""``domains``, ``domains:add``, ``domains:remove``, ``drains``, ``drains:add``, ``drains:remove``."""

from __future__ import annotations

from typing import Any

import click

from twelve.cli import output
from twelve.cli.common import app_option, client, json_option


@click.command("domains")
@app_option
@json_option
def domains(app: str, as_json: bool) -> None:
    """List the hostnames the router sends to APP."""
    data = client().request("GET", f"/apps/{app}/domains")
    output.emit_rows(data, as_json, ("HOSTNAME", "KIND"), lambda d: (d["hostname"], d["kind"]))


@click.command("domains:add")
@app_option
@click.argument("hostname")
def domains_add(app: str, hostname: str) -> None:
    """Route HOSTNAME to APP (point its DNS at this machine)."""
    data = client().request("POST", f"/apps/{app}/domains", json={"hostname": hostname})
    output.emit(f"Added {data['hostname']} to {app}")


@click.command("domains:remove")
@app_option
@click.argument("hostname")
def domains_remove(app: str, hostname: str) -> None:
    """Stop routing HOSTNAME to APP."""
    client().request("DELETE", f"/apps/{app}/domains/{hostname}")
    output.emit(f"Removed {hostname} from {app}")


@click.command("drains")
@app_option
@json_option
def drains(app: str, as_json: bool) -> None:
    """List APP's log drains with what each has sent and dropped."""
    data = client().request("GET", f"/apps/{app}/drains")
    output.emit_rows(data, as_json, ("URL", "SENT", "DROPPED", "LAST ERROR"), _drain_row)


def _drain_row(d: dict[str, Any]) -> tuple[Any, ...]:
    return d["url"], d["sent"], d["dropped"], d["last_error"] or ""


@click.command("drains:add")
@app_option
@click.argument("url")
def drains_add(app: str, url: str) -> None:
    """Forward APP's log stream to URL (syslog+tcp://, syslog+tls://, https://)."""
    data = client().request("POST", f"/apps/{app}/drains", json={"url": url})
    output.emit(f"Draining {app} to {data['url']}")


@click.command("drains:remove")
@app_option
@click.argument("url")
def drains_remove(app: str, url: str) -> None:
    """Stop forwarding APP's logs to URL."""
    data = client().request("POST", f"/apps/{app}/drains/remove", json={"url": url})
    output.emit(f"Removed drain {data['url']}")


commands = [domains, domains_add, domains_remove, drains, drains_add, drains_remove]
