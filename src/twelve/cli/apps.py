"""``apps``, ``apps:create``, ``apps:info``, ``apps:destroy``."""

from __future__ import annotations

from typing import Any

import click

from twelve.cli import output
from twelve.cli.common import app_option, client, json_option
from twelve.errors import UsageError


@click.command("apps")
@json_option
def apps(as_json: bool) -> None:
    """List apps."""
    data = client().request("GET", "/apps")
    output.emit_rows(data, as_json, ("NAME", "RELEASE", "URL"), _app_row)


def _app_row(a: dict[str, Any]) -> tuple[str, str, str]:
    return a["name"], f"v{a['release']}" if a["release"] else "-", a["url"]


@click.command("apps:create")
@click.argument("name")
@json_option
def apps_create(name: str, as_json: bool) -> None:
    """Create an app."""
    data = client().request("POST", "/apps", json={"name": name})
    output.emit_answer(data, as_json, lambda d: output.emit(f"Created {d['name']}: {d['url']}"))


@click.command("apps:info")
@app_option
@json_option
def apps_info(app: str, as_json: bool) -> None:
    """Show an app's release, formation, domains and URL."""
    data = client().request("GET", f"/apps/{app}")
    output.emit_answer(data, as_json, _emit_info)


def _emit_info(data: dict[str, Any]) -> None:
    formation = " ".join(f"{k}={v}" for k, v in data["formation"].items()) or "-"
    rows = [
        ("Name", data["name"]),
        ("URL", data["url"]),
        *([("HTTPS URL", data["https_url"])] if data.get("https_url") else []),
        ("Release", f"v{data['release']}" if data["release"] else "-"),
        ("Commit", data["commit"] or "-"),
        ("Formation", formation),
        ("Domains", ", ".join(data["domains"]) or "-"),
    ]
    output.emit_table(("", ""), rows)


@click.command("apps:destroy")
@click.argument("name")
@click.option("--confirm", help="The app's name again, to confirm.")
@json_option
def apps_destroy(name: str, confirm: str | None, as_json: bool) -> None:
    """Stop every process of an app and delete it with its releases, builds and logs."""
    if confirm != name:
        raise UsageError(f"destroying {name} cannot be undone", f"pass --confirm {name}")
    data = client().request("DELETE", f"/apps/{name}", params={"confirm": confirm})
    output.emit_answer(data, as_json, lambda _: output.emit(f"Destroyed {name}"))


commands = [apps, apps_create, apps_info, apps_destroy]
